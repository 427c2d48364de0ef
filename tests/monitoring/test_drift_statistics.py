"""The statistics against their references: scipy (KS to the bit, Wasserstein, Jensen-Shannon,
chi-square) and PSI by its formula on hand-made bins."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from shipyard.monitoring.drift.binning import PSI_EPSILON, decile_bins, jensen_shannon, psi
from shipyard.monitoring.drift.categorical import align, chi_square
from shipyard.monitoring.drift.statistics import SortedReference, histogram, ks_test, wasserstein

rng = np.random.default_rng(42)

SAMPLES = [
    ("tiny", rng.normal(size=3), rng.normal(size=4)),
    ("small", rng.normal(size=40), rng.normal(0.3, 1.0, size=55)),
    ("ties", np.round(rng.normal(size=500), 1), np.round(rng.normal(0.1, 1.0, size=700), 1)),
    ("integers", rng.poisson(3.0, 2000).astype(float), rng.poisson(3.3, 3000).astype(float)),
    ("shared values", np.repeat([1.0, 2.0, 3.0], 40), np.repeat([2.0, 3.0, 4.0], 30)),
    ("one value", np.full(10, 5.0), rng.normal(5.0, 1.0, 30)),
    ("disjoint", rng.uniform(0, 1, 300), rng.uniform(5, 6, 200)),
    ("identical", np.arange(100.0), np.arange(100.0)),
    # More than 10,000 values on a side: scipy's asymptotic branch, computed by Shipyard's own search.
    ("large", rng.normal(size=12_000), rng.normal(0.01, 1.0, size=40_000)),
    ("large ties", np.round(rng.normal(size=20_000), 2), np.round(rng.normal(0.02, 1.0, size=30_000), 2)),
    ("large shifted", rng.normal(size=11_000), rng.normal(0.2, 1.1, size=50_000)),
    ("large one value", np.full(15_000, 1.0), np.round(rng.normal(1.0, 0.001, 20_000), 3)),
]


@pytest.mark.parametrize(("label", "reference", "current"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_ks_equals_scipy(label: str, reference: np.ndarray, current: np.ndarray) -> None:
    statistic, p_value = ks_test(SortedReference.of(np.sort(reference)), np.sort(current))
    expected = stats.ks_2samp(reference, current)
    assert statistic == pytest.approx(expected.statistic, abs=1e-9, rel=0)
    assert p_value == pytest.approx(expected.pvalue, abs=1e-9, rel=0)


@pytest.mark.parametrize(("label", "reference", "current"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_wasserstein_equals_scipy(label: str, reference: np.ndarray, current: np.ndarray) -> None:
    distance = wasserstein(SortedReference.of(np.sort(reference)), np.sort(current))
    assert distance == pytest.approx(stats.wasserstein_distance(reference, current), rel=1e-9, abs=1e-12)


def test_ks_and_wasserstein_of_random_small_samples_match_scipy() -> None:
    g = np.random.default_rng(7)
    for trial in range(200):
        ref = g.normal(size=int(g.integers(1, 40)))
        cur = g.normal(g.normal(), g.uniform(0.2, 3.0), size=int(g.integers(1, 60)))
        if trial % 3 == 0:
            ref, cur = np.round(ref), np.round(cur)
        prepared = SortedReference.of(np.sort(ref))
        statistic, p_value = ks_test(prepared, np.sort(cur))
        expected = stats.ks_2samp(ref, cur)
        assert (statistic, p_value) == pytest.approx((expected.statistic, expected.pvalue), abs=1e-9)
        assert wasserstein(prepared, np.sort(cur)) == pytest.approx(stats.wasserstein_distance(ref, cur), rel=1e-9)


def test_empty_samples_give_nan_not_an_error() -> None:
    empty = np.empty(0)
    assert all(math.isnan(v) for v in ks_test(SortedReference.of(empty), np.arange(3.0)))
    assert math.isnan(wasserstein(SortedReference.of(np.arange(3.0)), empty))


def test_psi_follows_its_formula_on_hand_made_bins() -> None:
    reference, current = np.array([50, 30, 20, 0]), np.array([25, 25, 25, 25])
    r = np.array([0.5, 0.3, 0.2, PSI_EPSILON])  # the empty reference bin counts as epsilon
    c = np.array([0.25, 0.25, 0.25, 0.25])
    assert psi(reference, current) == pytest.approx(float(np.sum((c - r) * np.log(c / r))), rel=1e-12)
    assert psi(reference, reference) == 0.0
    assert psi([0, 0], [1, 1]) != psi([0, 0], [1, 1])  # NaN: an empty histogram has no shares


def test_jensen_shannon_equals_scipy() -> None:
    reference, current = np.array([40, 30, 20, 10, 0]), np.array([10, 20, 30, 30, 10])
    assert jensen_shannon(reference, current) == pytest.approx(jensenshannon(reference, current), rel=1e-12)
    assert jensen_shannon(reference, reference) == pytest.approx(0.0, abs=1e-12)
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)), rel=1e-12)


def test_decile_bins_open_the_ends_and_keep_discrete_values_apart() -> None:
    edges = decile_bins(np.array([0.0, 1.0, 2.0]))
    assert edges.tolist() == [-math.inf, 1.0, 2.0, math.inf]
    # 0s below the first edge, 1s in [1, 2), 2s and anything above in [2, +inf)
    assert histogram(np.array([-5.0, 0.0, 0.0, 1.0, 2.0, 2.0, 9.0]), edges).tolist() == [3, 1, 3]
    assert decile_bins(np.array([3.0])).tolist() == [-math.inf, 3.0, math.inf]  # a constant reference


def test_chi_square_is_scipys_homogeneity_test() -> None:
    reference, current = np.array([500.0, 300.0, 200.0]), np.array([40.0, 35.0, 25.0])
    statistic, p_value = chi_square(reference, current)
    expected = stats.chi2_contingency(np.vstack([reference, current]), correction=False)
    assert (statistic, p_value) == pytest.approx((expected.statistic, expected.pvalue), rel=1e-9)
    assert chi_square(np.array([5.0]), np.array([7.0])) == (0.0, 1.0)  # one category: nothing to differ


def test_unseen_categories_get_their_own_bin_or_fold_into_other() -> None:
    categories, ref, cur = align({"a": 60, "b": 40}, {"a": 10, "c": 5, "d": 7})
    assert categories == ["a", "b", "d", "c"] and ref.tolist() == [60, 40, 0, 0] and cur.tolist() == [10, 0, 7, 5]
    statistic, p_value = chi_square(ref, cur)
    assert math.isfinite(statistic) and p_value < 1e-6  # a category the reference never saw is drift

    categories, ref, cur = align({"a": 60, "__other__": 40}, {"a": 10, "c": 5})
    assert categories == ["a", "__other__"] and cur.tolist() == [10, 5]
