"""Routing math: which arm a request goes to, by a sticky key or at random, as pure functions.

The routing space is the integers `[0, SPACE)`. Each primary arm owns some slices of it
("segments"), together exactly its weight (1 % = 10,000 units). A request is a point in that
space: a stable hash of its routing key when the deployment is sticky (blake2b of
`"<deployment>\\0<key>"`, so every worker and replica computes the same point with no shared
state, and two deployments split the same users independently), otherwise a random one. It goes
to the arm owning the segment that contains the point.

Segments are stored with the deployment, and when weights change they are *rebalanced* rather
than recomputed: an arm whose weight shrinks gives up slices from the top of its highest
segments, and an arm whose weight grows takes freed slices, lowest first. Every other point
keeps its arm. So moving a canary from 5 % to 25 % moves exactly 20 % of the keys (all to the
canary) and no key ever goes back and forth between two arms whose weights did not change: a key
changes arm only when its arm shrank, and then only to an arm that grew. The fraction of keys
moved is the least possible, half the sum of the weight changes (`moved_fraction`).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Mapping, Sequence

SPACE = 1_000_000
"""Size of the routing space: weights have a resolution of 0.0001 %."""
UNITS_PER_PERCENT = SPACE // 100

Segment = tuple[int, int, int]
"""`(start, end, version)`: the arm serving `version` owns the points `start <= p < end`."""


def to_units(weights: Mapping[int, float]) -> dict[int, int]:
    """Percent weights (summing to 100) → units of the routing space (summing to exactly SPACE).

    Rounding leftovers (at most a unit or two) go to the heaviest arm.
    """
    units = {version: round(weight * UNITS_PER_PERCENT) for version, weight in weights.items()}
    leftover = SPACE - sum(units.values())
    if leftover and units:
        heaviest = max(units, key=lambda v: (units[v], -v))
        units[heaviest] += leftover
    return units


def owned(segments: Iterable[Segment]) -> dict[int, int]:
    """Units each version owns."""
    totals: dict[int, int] = {}
    for start, end, version in segments:
        totals[version] = totals.get(version, 0) + end - start
    return totals


def _release(segments: Sequence[Segment], excess: dict[int, int]) -> list[Segment]:
    """Segments left once each version gave up `excess[version]` units from the top of its highest segments."""
    kept: list[Segment] = []
    for start, end, version in sorted(segments, reverse=True):
        give = min(excess.get(version, 0), end - start)
        if give:
            excess[version] -= give
        if end - start > give:
            kept.append((start, end - give, version))
    return sorted(kept)


def _gaps(kept: Sequence[Segment]) -> list[tuple[int, int]]:
    gaps, cursor = [], 0
    for start, end, _ in kept:
        if start > cursor:
            gaps.append((cursor, start))
        cursor = end
    if cursor < SPACE:
        gaps.append((cursor, SPACE))
    return gaps


def _merge(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    merged: list[Segment] = []
    for start, end, version in sorted(segments):
        if merged and merged[-1][2] == version and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end, version)
        else:
            merged.append((start, end, version))
    return tuple(merged)


def rebalance(segments: Sequence[Segment], units: Mapping[int, int]) -> tuple[Segment, ...]:
    """New segments giving each version exactly `units[version]`, moving as few points as possible.

    `units` must sum to SPACE (see `to_units`); versions missing from it (or at 0) lose all their
    points. Growing versions fill the freed space in ascending version order.
    """
    if sum(units.values()) != SPACE or any(u < 0 for u in units.values()):
        raise ValueError(f"units must be non-negative and sum to {SPACE}, not {dict(units)}")
    current = owned(segments)
    excess = {v: current[v] - units.get(v, 0) for v in current if current[v] > units.get(v, 0)}
    kept = _release(segments, excess)
    needs = [(v, units[v] - current.get(v, 0)) for v in sorted(units) if units[v] > current.get(v, 0)]
    added: list[Segment] = []
    gaps = iter(_gaps(kept))
    gap_start, gap_end = next(gaps, (SPACE, SPACE))
    for version, need in needs:
        while need:
            if gap_start == gap_end:
                gap_start, gap_end = next(gaps)
            take = min(need, gap_end - gap_start)
            added.append((gap_start, gap_start + take, version))
            gap_start += take
            need -= take
    return _merge([*kept, *added])


def moved_fraction(before: Sequence[Segment], after: Sequence[Segment]) -> float:
    """Fraction of the routing space whose arm differs between two segment maps (exact, not sampled)."""
    edges = sorted({0, SPACE, *(s for seg in (*before, *after) for s in seg[:2])})
    moved = 0
    for low, high in zip(edges, edges[1:], strict=False):
        if version_at(before, low) != version_at(after, low):
            moved += high - low
    return moved / SPACE


def version_at(segments: Sequence[Segment], point: int) -> int | None:
    """The version owning `point` (segments sorted by start), None if nobody does."""
    index = bisect.bisect_right(segments, (point, SPACE + 1, 2**63)) - 1
    if index >= 0 and segments[index][0] <= point < segments[index][1]:
        return segments[index][2]
    return None


def point_for_key(deployment: str, key: str) -> int:
    """The routing point of a sticky key: the same on every worker and replica, for ever."""
    digest = hashlib.blake2b(f"{deployment}\0{key}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % SPACE


__all__ = [
    "SPACE",
    "UNITS_PER_PERCENT",
    "Segment",
    "moved_fraction",
    "owned",
    "point_for_key",
    "rebalance",
    "to_units",
    "version_at",
]
