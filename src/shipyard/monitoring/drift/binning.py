"""PSI and Jensen-Shannon distance from binned counts: the same two numbers for numeric and categorical columns.

**Bins.** A numeric column is binned by its reference *deciles*: the `bin_edges` of its profile
(minimum, 10th … 90th percentile, maximum of the training data, duplicates removed). Each edge but
the minimum starts a bin closed on the left, `[e_i, e_i+1)`; the first bin takes everything below
e_1 (down to −∞), and the last, `[maximum, +∞)`, everything from the training maximum up. So a
continuous column gets its ten deciles plus a bin that is empty until values go past the training
range, and a column of a few distinct values gets one bin per value (deciles alone would lump the
top values together). A categorical column's bins are its categories (see
`categorical.align`).

**PSI** (population stability index) = Σ (c_i − r_i) · ln(c_i / r_i), over the bins, where r_i and
c_i are the reference and current shares of each bin. A share of 0 is replaced by ε = 0.0001
first (Evidently does the same), so an empty bin costs a large but finite amount.

**Jensen-Shannon distance** = √(½ KL(r‖m) + ½ KL(c‖m)) with m = (r + c)/2 and natural logarithms,
i.e. `scipy.spatial.distance.jensenshannon(r, c)`; it lies in [0, √ln 2 ≈ 0.833].
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.special import rel_entr

Floats = npt.NDArray[np.float64]
Counts = npt.ArrayLike

PSI_EPSILON = 1e-4
"""Replaces a share of exactly 0 before the PSI's logarithm."""


def decile_bins(bin_edges: Floats) -> Floats:
    """The edges `histogram` counts with: −∞, then every distinct decile edge but the minimum, then +∞.

    A constant reference (one distinct edge) gets two bins, below it and from it upwards.
    """
    edges = np.unique(np.asarray(bin_edges, dtype=np.float64))
    edges = edges[np.isfinite(edges)]
    starts = edges[1:] if len(edges) > 1 else edges
    return np.concatenate(([-np.inf], starts, [np.inf]))


def shares(counts: Counts) -> Floats:
    values = np.asarray(counts, dtype=np.float64)
    total = float(values.sum())
    if total <= 0:
        return np.full(len(values), math.nan)
    return values / total


def psi(reference_counts: Counts, current_counts: Counts) -> float:
    """Population stability index of two histograms over the same bins (see the module doc)."""
    ref, cur = shares(reference_counts), shares(current_counts)
    if len(ref) == 0 or np.isnan(ref).any() or np.isnan(cur).any():
        return math.nan
    ref = np.where(ref == 0, PSI_EPSILON, ref)
    cur = np.where(cur == 0, PSI_EPSILON, cur)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def jensen_shannon(reference_counts: Counts, current_counts: Counts) -> float:
    """Jensen-Shannon distance (natural log) of two histograms over the same bins."""
    ref, cur = shares(reference_counts), shares(current_counts)
    if len(ref) == 0 or np.isnan(ref).any() or np.isnan(cur).any():
        return math.nan
    mid = (ref + cur) / 2.0
    divergence = (float(np.sum(rel_entr(ref, mid))) + float(np.sum(rel_entr(cur, mid)))) / 2.0
    return math.sqrt(max(divergence, 0.0))


__all__ = ["PSI_EPSILON", "decile_bins", "jensen_shannon", "psi", "shares"]
