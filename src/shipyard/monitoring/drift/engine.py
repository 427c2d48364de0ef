"""`compare`: the drift of every column of a window against a prepared reference.

Columns are independent, so they run on a small thread pool (the heavy steps — reading a column,
sorting it, searching it — are numpy and Arrow calls that release the GIL). Each numeric column is
sorted once, in place, and every statistic is read off the sorted array; a categorical column is
counted once. Nothing else is kept, so memory grows with the columns in flight, not the window.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .binning import jensen_shannon, psi
from .categorical import align, chi_square
from .columns import ColumnSource, NotNumeric, open_source
from .methods import DriftConfig, Kind, is_drift
from .reference import CategoricalReference, FeatureReference, NumericReference, Reference
from .result import DriftReport, FeatureDrift, Histogram, Role
from .statistics import Floats, count_around, histogram, ks_test, plot_edges, shares_between, wasserstein

TOP_CATEGORIES = 20
"""Categories drawn in a report; the rest are summed in one bar."""


def compare(
    reference: Reference,
    current: object,
    config: DriftConfig | None = None,
    *,
    threads: int | None = None,
) -> DriftReport:
    """The drift of `current` (a pyarrow Table, DataFrame, mapping of arrays or Parquet path) against
    `reference`, column by column, with the dataset verdict of `config` (defaults: `DriftConfig()`).

        report = compare(Reference.from_profile(profile), "window.parquet")
        report.dataset_drift, report.drifted_features
    """
    config = config or DriftConfig()
    started = time.perf_counter()
    source = open_source(current)
    present = set(source.names)
    names = [name for name in reference.features if name not in config.ignore]

    def one(name: str) -> FeatureDrift:
        role = reference.roles[name]
        feature = reference.features[name]
        if name not in present:
            return _failed(name, feature, role, config, f"{name!r} is not in the current data")
        return feature_drift(name, feature, source, config, role)

    workers = max(1, min(threads or os.cpu_count() or 1, len(names) or 1))
    if workers == 1:
        features = [one(name) for name in names]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="drift") as pool:
            features = list(pool.map(one, names))
    return DriftReport(
        features=features,
        rows=source.rows,
        share_threshold=config.share_threshold,
        seconds=time.perf_counter() - started,
    )


def feature_drift(
    name: str, feature: FeatureReference, source: ColumnSource, config: DriftConfig, role: Role = "input"
) -> FeatureDrift:
    """One column's drift; a column that cannot be compared gets an `error` instead of figures."""
    if isinstance(feature, NumericReference):
        try:
            values = source.numeric(name)
        except NotNumeric as exc:
            return _failed(name, feature, role, config, f"the reference is numeric but the window holds {exc}")
        return numeric_drift(name, feature, values, config, role)
    counts, missing = source.counts(name)
    return categorical_drift(name, feature, counts, missing, config, role)


def numeric_drift(
    name: str, reference: NumericReference, values: Floats, config: DriftConfig, role: Role = "input"
) -> FeatureDrift:
    """Every numeric statistic of `values` (sorted here, in place) against `reference`."""
    values.sort()
    # NaN sorts last and ±inf next to it, so the finite values are one slice: no copy.
    low = int(np.searchsorted(values, -np.inf, side="right"))
    high = int(np.searchsorted(values, np.inf, side="left"))
    finite = values[low:high]
    missing = len(values) - len(finite)
    if len(finite) == 0 or reference.rows == 0:
        why = "no finite values in the window" if len(finite) == 0 else "the reference has no finite values"
        return _failed(name, reference, role, config, why, current_missing=missing)
    counts = count_around(reference.sample, finite)
    ks_statistic, ks_pvalue = ks_test(reference.sample, finite, counts)
    distance = wasserstein(reference.sample, finite, counts)
    current_bins = histogram(finite, reference.bins)
    statistics = {
        "ks_statistic": ks_statistic,
        "ks_pvalue": ks_pvalue,
        "wasserstein": distance,
        "wasserstein_normed": _normed(distance, reference.sample.std),
        "psi": psi(reference.bin_counts, current_bins),
        "jensenshannon": jensen_shannon(reference.bin_counts, current_bins),
    }
    edges = plot_edges(reference.sample.values, finite)
    picture = Histogram(
        labels=None,
        edges=_rounded(edges),
        reference=_rounded(shares_between(reference.sample.values, edges)),
        current=_rounded(shares_between(finite, edges)),
    )
    return _verdict(name, "numeric", role, config, statistics, reference, len(finite), missing, picture)


def categorical_drift(
    name: str,
    reference: CategoricalReference,
    counts: dict[str, int],
    missing: int,
    config: DriftConfig,
    role: Role = "input",
) -> FeatureDrift:
    """Chi-square, PSI and Jensen-Shannon of a window's category counts against `reference`."""
    if not counts or reference.rows == 0:
        why = "no values in the window" if not counts else "the reference has no values"
        return _failed(name, reference, role, config, why, current_missing=missing)
    categories, ref, cur = align(reference.frequencies, counts)
    chi_statistic, chi_pvalue = chi_square(ref, cur)
    statistics = {
        "chisquare_statistic": chi_statistic,
        "chisquare_pvalue": chi_pvalue,
        "psi": psi(ref, cur),
        "jensenshannon": jensen_shannon(ref, cur),
    }
    picture = _category_picture(categories, ref, cur)
    return _verdict(name, "categorical", role, config, statistics, reference, int(cur.sum()), missing, picture)


_SCORES: dict[str, Callable[[dict[str, float]], float]] = {
    "ks": lambda s: s["ks_pvalue"],
    "chisquare": lambda s: s["chisquare_pvalue"],
    "wasserstein": lambda s: s["wasserstein_normed"],
    "psi": lambda s: s["psi"],
    "jensenshannon": lambda s: s["jensenshannon"],
}


def _verdict(
    name: str,
    kind: Kind,
    role: Role,
    config: DriftConfig,
    statistics: dict[str, float],
    reference: FeatureReference,
    current_rows: int,
    missing: int,
    picture: Histogram,
) -> FeatureDrift:
    method = config.method_for(name, kind, reference.rows, current_rows)
    threshold = config.threshold_for(name, method)
    score = _SCORES[method](statistics)
    return FeatureDrift(
        name=name,
        kind=kind,
        role=role,
        method=method,
        threshold=threshold,
        score=score,
        drifted=is_drift(method, score, threshold),
        statistics=statistics,
        reference_rows=reference.rows,
        current_rows=current_rows,
        current_missing=missing,
        reference_missing_share=reference.missing_share,
        histogram=picture,
    )


def _failed(
    name: str,
    reference: FeatureReference,
    role: Role,
    config: DriftConfig,
    error: str,
    *,
    current_missing: int = 0,
) -> FeatureDrift:
    kind: Kind = "numeric" if isinstance(reference, NumericReference) else "categorical"
    method = config.method_for(name, kind, reference.rows, 0)
    return FeatureDrift(
        name=name,
        kind=kind,
        role=role,
        method=method,
        threshold=config.threshold_for(name, method),
        score=math.nan,
        drifted=False,
        statistics={},
        reference_rows=reference.rows,
        current_rows=0,
        current_missing=current_missing,
        reference_missing_share=reference.missing_share,
        error=error,
    )


def _normed(distance: float, std: float) -> float:
    if std > 0:
        return distance / std
    return 0.0 if distance == 0 else math.inf  # a constant reference: any spread at all is drift


def _category_picture(categories: list[str], ref: Floats, cur: Floats) -> Histogram:
    ref_share, cur_share = ref / ref.sum(), cur / cur.sum()
    order = np.argsort(-(ref_share + cur_share), kind="stable")
    shown, rest = order[:TOP_CATEGORIES], order[TOP_CATEGORIES:]
    labels = [categories[i] for i in shown]
    reference, current = ref_share[shown].tolist(), cur_share[shown].tolist()
    if len(rest):
        labels.append(f"{len(rest)} others")
        reference.append(float(ref_share[rest].sum()))
        current.append(float(cur_share[rest].sum()))
    return Histogram(labels=labels, edges=None, reference=_rounded(reference), current=_rounded(current))


def _rounded(values: Floats | list[float]) -> list[float]:
    return [float(f"{v:.6g}") for v in values]


__all__ = ["TOP_CATEGORIES", "categorical_drift", "compare", "feature_drift", "numeric_drift"]
