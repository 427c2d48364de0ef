"""Categorical drift: aligning a window's categories with the reference's, and the chi-square test.

**Categories.** The reference lists counts of its values (the 1,000 most frequent in the profile,
the rest summed under `__other__`). The bins are the reference's categories plus every category
seen only in the window. When the reference has an `__other__` bucket, a window value it does not
list may be one of the values folded into it, so it is counted there; without one, a new value is
its own bin with a reference count of 0 — which PSI, Jensen-Shannon and chi-square all register.

**Chi-square** is the test of homogeneity of the 2 × k table (reference counts, current counts),
without continuity correction: `scipy.stats.chi2_contingency(table, correction=False)`. Unlike the
goodness-of-fit form (current counts against reference shares), it treats the reference as the
sample it is and stays finite for a category the reference never saw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from ...schema.profile import OTHER

Floats = npt.NDArray[np.float64]


def align(reference: Mapping[str, int], current: Mapping[str, int]) -> tuple[list[str], Floats, Floats]:
    """(categories, reference counts, current counts) over the same bins (see the module doc)."""
    categories = list(reference)
    folded = 0
    unseen: dict[str, int] = {}
    for value, count in current.items():
        if value in reference:
            continue
        if OTHER in reference:
            folded += count
        else:
            unseen[value] = count
    categories.extend(sorted(unseen, key=lambda value: (-unseen[value], value)))
    ref = np.array([reference.get(c, 0) for c in categories], dtype=np.float64)
    cur = np.array([current.get(c, 0) for c in categories], dtype=np.float64)
    if folded:
        cur[categories.index(OTHER)] += folded
    return categories, ref, cur


def chi_square(reference_counts: Floats, current_counts: Floats) -> tuple[float, float]:
    """(statistic, p-value) of the 2 × k homogeneity test; bins empty on both sides are left out."""
    keep = (reference_counts + current_counts) > 0
    ref, cur = reference_counts[keep], current_counts[keep]
    total_ref, total_cur = float(ref.sum()), float(cur.sum())
    if total_ref == 0 or total_cur == 0:
        return math.nan, math.nan
    if len(ref) < 2:
        return 0.0, 1.0  # one category on both sides: nothing can differ
    column = ref + cur
    total = total_ref + total_cur
    statistic = 0.0
    for observed, row_total in ((ref, total_ref), (cur, total_cur)):
        expected = column * (row_total / total)
        statistic += float(np.sum((observed - expected) ** 2 / expected))
    return statistic, float(chi2.sf(statistic, len(ref) - 1))


__all__ = ["align", "chi_square"]
