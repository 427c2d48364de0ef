"""The routing math: exact weights, sticky points, and rebalancing that moves the fewest keys possible."""

from __future__ import annotations

import random

import pytest
from scipy.stats import chisquare

from shipyard.deployments.routing import (
    SPACE,
    moved_fraction,
    owned,
    point_for_key,
    rebalance,
    to_units,
    version_at,
)


def _segments(
    weights: dict[int, float], before: tuple[tuple[int, int, int], ...] = ()
) -> tuple[tuple[int, int, int], ...]:
    return rebalance(before, to_units(weights))


def test_every_arm_owns_exactly_its_weight_and_the_space_is_covered() -> None:
    segments = _segments({3: 33.3333, 4: 33.3333, 5: 33.3334})
    assert owned(segments) == {3: 333_333, 4: 333_333, 5: 333_334}
    assert segments[0][0] == 0 and segments[-1][1] == SPACE
    assert all(a[1] == b[0] for a, b in zip(segments, segments[1:], strict=False))


def test_rounding_leftovers_go_to_the_heaviest_arm() -> None:
    assert to_units({1: 100 / 3, 2: 100 / 3, 3: 100 / 3}) == {1: 333_334, 2: 333_333, 3: 333_333}
    assert sum(to_units({1: 0.00004, 2: 99.99996}).values()) == SPACE


def test_a_canary_step_moves_only_keys_to_the_canary() -> None:
    before = _segments({3: 95, 4: 5}, _segments({3: 100}))
    after = _segments({3: 75, 4: 25}, before)
    assert moved_fraction(before, after) == pytest.approx(0.20)
    for point in range(0, SPACE, 997):
        if version_at(before, point) == 4:
            assert version_at(after, point) == 4  # nobody leaves the canary while it grows


@pytest.mark.parametrize("seed", range(25))
def test_rebalancing_moves_the_least_possible_for_any_weights(seed: int) -> None:
    rng = random.Random(seed)
    versions = list(range(1, rng.randint(2, 6)))
    segments: tuple[tuple[int, int, int], ...] = ()
    previous: dict[int, int] = {}
    for _ in range(12):
        cuts = sorted(rng.sample(range(1, 100), len(versions) - 1))
        weights = {v: float(b - a) for v, a, b in zip(versions, [0, *cuts], [*cuts, 100], strict=True)}
        units = to_units(weights)
        after = rebalance(segments, units)
        assert owned(after) == {v: u for v, u in units.items() if u}
        if segments:
            least = sum(abs(units.get(v, 0) - previous.get(v, 0)) for v in {*units, *previous}) / 2 / SPACE
            assert moved_fraction(segments, after) == pytest.approx(least)
        segments, previous = after, units


def test_an_arm_whose_weight_is_unchanged_keeps_all_its_keys() -> None:
    # Cumulative ranges in a fixed order would move B's keys here although B keeps 40 %.
    before = _segments({1: 30, 2: 40, 3: 30})
    after = _segments({1: 40, 2: 40, 3: 20}, before)
    for point in range(0, SPACE, 101):
        if version_at(before, point) == 2:
            assert version_at(after, point) == 2
    assert moved_fraction(before, after) == pytest.approx(0.10)


def test_removed_arms_give_everything_back() -> None:
    after = _segments({7: 100}, _segments({1: 20, 2: 30, 3: 50}))
    assert after == ((0, SPACE, 7),)


def test_units_must_cover_the_space() -> None:
    with pytest.raises(ValueError, match="sum to"):
        rebalance((), {1: 10})
    with pytest.raises(ValueError, match="non-negative"):
        rebalance((), {1: SPACE + 1, 2: -1})


def test_sticky_points_are_stable_and_salted_by_the_deployment() -> None:
    assert point_for_key("churn", "user-42") == point_for_key("churn", "user-42")
    assert point_for_key("churn", "user-42") != point_for_key("fraud", "user-42")
    assert 0 <= point_for_key("churn", "ü\udcff") < SPACE  # any text, even lone surrogates from headers
    # Pinned: the same key must reach the same point in every release (replicas may run different ones).
    assert point_for_key("churn", "user-42") == 699_994


def test_sticky_points_spread_evenly() -> None:
    counts = [0] * 10
    for i in range(10_000):
        counts[point_for_key("churn", f"user-{i}") * 10 // SPACE] += 1
    assert chisquare(counts).pvalue > 0.001
