"""Numeric drift statistics from two *sorted* samples, each in one or two passes.

The current window is sorted once (numpy's sort is vectorised and releases the GIL); then:

- **KS**: the two-sample Kolmogorov-Smirnov statistic is the largest gap between the two empirical
  CDFs. Both CDFs are step functions, so the gap only needs checking at each distinct reference
  value and just before it: one `searchsorted` of the (small) reference into the (large) current
  sample, plus one for the values that tie, instead of scipy's two searches of all the merged
  values. The figures are the very ones `scipy.stats.ks_2samp` compares (integer counts divided by
  the same sizes), so the statistic is bit-for-bit scipy's; the p-value comes from scipy's own
  distribution (`kstwo.sf`, its asymptotic branch) or, up to 10,000 values per side, from
  `ks_2samp` itself (its exact branch).
- **Wasserstein-1**: the area between the two CDFs (what `scipy.stats.wasserstein_distance`
  sums over the merged samples), in closed form per segment between reference values from the
  same searches and one pass of sums over the window; the engine divides it by the
  reference's standard deviation ("normed", as Evidently reports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

EXACT_KS_MAX = 10_000
"""`ks_2samp(method="auto")` computes the exact p-value when neither sample is larger than this."""


@dataclass(frozen=True)
class SortedReference:
    """A reference sample prepared once for every window compared with it."""

    values: Floats
    """The sorted finite sample."""
    unique: Floats
    """Its distinct values, ascending."""
    starts: npt.NDArray[np.intp]
    """Where each distinct value first occurs in `values`."""
    cdf_at: Floats
    """Empirical CDF at each distinct value (values <= it, over the sample size)."""
    cdf_before: Floats
    """Empirical CDF just below each distinct value (the previous value's `cdf_at`; 0 for the first)."""
    std: float
    """Population standard deviation (ddof=0, as `np.std`) of the sample: the Wasserstein norm."""

    @classmethod
    def of(cls, sorted_values: Floats) -> SortedReference:
        values = np.ascontiguousarray(sorted_values, dtype=np.float64)
        size = len(values)
        if size == 0:
            empty = np.empty(0, dtype=np.float64)
            return cls(values, empty, np.empty(0, dtype=np.intp), empty, empty, math.nan)
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        at = np.append(starts[1:], size)  # values <= each distinct value
        return cls(values, values[starts], starts, at / size, starts / size, float(np.std(values)))


Counts = tuple[Ints, Ints]


def count_around(reference: SortedReference, current: Floats) -> Counts:
    """How many current values are <= and < each distinct reference value: the two searches that
    `ks_statistic` and `wasserstein` share."""
    at_or_below = np.searchsorted(current, reference.unique, side="right").astype(np.int64, copy=False)
    # "<" differs from "<=" only where a current value equals the reference value: search those alone.
    tied = (at_or_below > 0) & (current[np.maximum(at_or_below - 1, 0)] == reference.unique)
    below = at_or_below.copy()
    if tied.any():
        below[tied] = np.searchsorted(current, reference.unique[tied], side="left")
    return at_or_below, below


def ks_statistic(reference: SortedReference, current: Floats, counts: Counts | None = None) -> float:
    """`ks_2samp(reference.values, current).statistic` for a sorted, finite, non-empty `current`."""
    size = len(current)
    at_or_below, below = counts or count_around(reference, current)
    # cdf1 - cdf2 of ks_2samp, at each reference value and at the last current value below it.
    at = reference.cdf_at - at_or_below / size
    before = reference.cdf_before - below / size
    max_s = max(float(at.max()), float(before.max()))
    min_s = min(max(-float(at.min()), -float(before.min()), 0.0), 1.0)
    return min_s if min_s > max_s else max_s


def ks_test(reference: SortedReference, current: Floats, counts: Counts | None = None) -> tuple[float, float]:
    """(statistic, p-value) equal to `scipy.stats.ks_2samp(reference.values, current)` (two-sided, auto)."""
    n1, n2 = len(reference.values), len(current)
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    if max(n1, n2) <= EXACT_KS_MAX:
        result = stats.ks_2samp(reference.values, current)
        return float(result.statistic), float(result.pvalue)
    statistic = ks_statistic(reference, current, counts)
    # ks_2samp's asymptotic branch, verbatim: Smirnov's distribution at the rounded effective size.
    m, n = sorted([float(n1), float(n2)], reverse=True)
    effective = m * n / (m + n)
    p_value = float(np.clip(stats.distributions.kstwo.sf(statistic, np.round(effective)), 0, 1))
    return statistic, p_value


def wasserstein(reference: SortedReference, current: Floats, counts: Counts | None = None) -> float:
    """`scipy.stats.wasserstein_distance(reference.values, current)` for a sorted, finite, non-empty `current`.

    The area between the two CDFs, summed segment by segment between consecutive distinct
    reference values: on a segment the reference CDF is a constant A and the current CDF a
    staircase over the current values inside it, so the area is the part of the staircase below
    A plus the part above, each a closed form of the segment's ends, the step where the staircase
    crosses A, and the sum of the current values on either side of that step. One `reduceat`
    over the current values gives all those sums, so the cost is one pass over the window and a
    few over the reference, with every term non-negative (no cancellation).
    """
    n = len(current)
    if n == 0 or len(reference.values) == 0:
        return math.nan
    at_or_below, below = counts or count_around(reference, current)
    u = reference.unique
    # Outside the reference's range one CDF is 0 or 1: the area is the current values' distance to it.
    outside = float(np.sum(u[0] - current[: below[0]])) + float(np.sum(current[at_or_below[-1] :] - u[-1]))
    inside = _segments_area(reference, current, at_or_below[:-1], below[1:]) if len(u) > 1 else 0.0
    return outside / n + inside


def _segments_area(reference: SortedReference, current: Floats, first: Ints, stop: Ints) -> float:
    # Segment j is [L, R) = [u_j, u_j+1); the current values strictly inside are current[first:stop],
    # so the current CDF is l/n on [x_l-1, x_l) for l = first..stop (x_first-1 = L, x_stop = R).
    n, m = len(current), len(reference.values)
    low, high = reference.unique[:-1], reference.unique[1:]
    level = reference.cdf_at[:-1]
    refs_at_or_below = np.append(reference.starts[1:], m)[:-1]
    # The last step at or below the level: l/n <= A  <=>  l <= floor(A n), in integers to be exact.
    step = np.clip(refs_at_or_below * n // m, first - 1, stop)
    at_step = np.where(step < first, low, np.where(step >= stop, high, current[np.minimum(step, n - 1)]))
    below_end, above_start = np.maximum(step, first), np.minimum(step + 1, stop)
    bounds = np.stack([first, below_end, above_start, stop], axis=1).ravel()
    # reduceat wants indices below n; bounds equal to n (all at the end: they only ever grow) start
    # empty ranges, and the last range below n runs to the end as it should.
    valid = int(np.searchsorted(bounds, n, side="left"))
    sums = np.zeros(len(bounds))
    if valid:
        sums[:valid] = np.add.reduceat(current, bounds[:valid])
    below_sum = np.where(below_end > first, sums[0::4], 0.0)
    above_sum = np.where(stop > above_start, sums[2::4], 0.0)
    below_area = (level - step / n) * (at_step - low) + (below_sum - (below_end - first) * low) / n
    above_area = ((step + 1) / n - level) * (high - at_step) + ((stop - above_start) * high - above_sum) / n
    return float(np.sum(below_area) + np.sum(above_area))


def histogram(sorted_values: Floats, edges: Floats) -> Ints:
    """Counts of sorted values in [edges[i], edges[i+1]); the first bin is open below, the last above."""
    cuts = np.searchsorted(sorted_values, edges[1:-1], side="left")
    return np.diff(np.concatenate(([0], cuts, [len(sorted_values)]))).astype(np.int64)


def shares_between(sorted_values: Floats, edges: Floats) -> Floats:
    """Share of all the values in each [edges[i], edges[i+1]); values outside the edges are not drawn."""
    if len(sorted_values) == 0 or len(edges) < 2:
        return np.zeros(max(len(edges) - 1, 0))
    return np.diff(np.searchsorted(sorted_values, edges, side="left")) / len(sorted_values)


def plot_edges(reference: Floats, current: Floats, bins: int = 40) -> Floats:
    """Equal-width edges over the central 99% of both samples, for the report's picture of them."""
    lo = min(_quantile(reference, 0.005), _quantile(current, 0.005))
    hi = max(_quantile(reference, 0.995), _quantile(current, 0.995))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return np.empty(0, dtype=np.float64)
    if hi <= lo:
        hi = lo + 1.0 if lo == 0 else lo + abs(lo) * 1e-6 + 1e-12
    return np.linspace(lo, hi, bins + 1)


def _quantile(sorted_values: Floats, q: float) -> float:
    if len(sorted_values) == 0:
        return math.nan
    return float(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))])


__all__ = [
    "EXACT_KS_MAX",
    "SortedReference",
    "histogram",
    "ks_statistic",
    "ks_test",
    "count_around",
    "plot_edges",
    "shares_between",
    "wasserstein",
]
