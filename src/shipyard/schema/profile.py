"""The reference profile of training data: per-feature statistics that drift is measured against.

>>> import numpy as np
>>> profile = profile_data({"x": np.arange(100.0), "city": ["Oslo", "Rome"] * 50})
>>> profile.features["x"].quantiles[0.5], profile.features["city"].frequencies
(49.5, {'Oslo': 50, 'Rome': 50})
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import ValidationFailed
from ..types import JSONObject
from . import _profile_codec as codec
from ._tabular import Column, as_table
from .dtypes import is_numeric, vocabulary_dtype

QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
OTHER = "__other__"
"""The key under which a categorical profile sums the values beyond its most frequent ones."""
OUTPUT_PREFIX = "output:"
"""Prefix of the features that profile a model's outputs on its training data (`output:predict`):
the reference of prediction drift. Input features never carry it."""

Floats = npt.NDArray[np.float64]

_DECILES = np.linspace(0.0, 1.0, 11).round(2)
_CUTS = np.union1d(_DECILES, QUANTILES)
_NUMERIC_KINDS = ("integer", "floating", "mixed-integer-float")
_CATEGORICAL_KINDS = ("string", "boolean", "categorical", "mixed", "mixed-integer", "empty")


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """Statistics of a numeric feature over its finite values; NaN and ±Inf count as `missing`.

    `std` is the sample standard deviation (ddof=1, as pandas' `describe`). `sample` is a sorted
    random sample of the finite values, drawn without replacement. `bin_edges` are the unique
    decile edges (minimum, 10th … 90th percentile, maximum), the bins PSI compares.
    """

    count: int
    missing: int
    min: float
    max: float
    mean: float
    std: float
    quantiles: dict[float, float]
    sample: Floats = field(repr=False)
    bin_edges: Floats = field(repr=False)

    kind: ClassVar[str] = "numeric"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NumericProfile):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # holds arrays, like a dict

    def to_dict(self, *, include_sample: bool = True) -> JSONObject:
        doc: JSONObject = {
            "kind": self.kind,
            "count": self.count,
            "missing": self.missing,
            "min": _json_float(self.min),
            "max": _json_float(self.max),
            "mean": _json_float(self.mean),
            "std": _json_float(self.std),
            "quantiles": {str(q): _json_float(value) for q, value in self.quantiles.items()},
            "bin_edges": [float(edge) for edge in self.bin_edges],
        }
        if include_sample:
            doc["sample"] = self.sample.tolist()
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any], sample: Floats | None = None) -> NumericProfile:
        return cls(
            count=int(doc["count"]),
            missing=int(doc["missing"]),
            min=_float(doc["min"]),
            max=_float(doc["max"]),
            mean=_float(doc["mean"]),
            std=_float(doc["std"]),
            quantiles={float(q): _float(value) for q, value in doc["quantiles"].items()},
            sample=np.asarray(doc["sample"] if sample is None else sample, dtype=np.float64),
            bin_edges=np.asarray(doc["bin_edges"], dtype=np.float64),
        )


@dataclass(frozen=True)
class CategoricalProfile:
    """Counts of a categorical feature's values, most frequent first; the rest summed under "__other__"."""

    count: int
    missing: int
    frequencies: dict[str, int]

    kind: ClassVar[str] = "categorical"

    def to_dict(self) -> JSONObject:
        return {"kind": self.kind, "count": self.count, "missing": self.missing, "frequencies": dict(self.frequencies)}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> CategoricalProfile:
        frequencies = {str(value): int(count) for value, count in doc["frequencies"].items()}
        return cls(count=int(doc["count"]), missing=int(doc["missing"]), frequencies=frequencies)


FeatureProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True)
class Profile:
    """The reference profile of a data set: its row count and one profile per profiled feature.

    Numeric columns get a `NumericProfile`; strings, categories and bools a `CategoricalProfile`.
    Datetime, bytes and array-valued columns, and tensors (1-D or N-D arrays), are not profiled.
    Store it with `to_bytes()` (compact and byte-for-byte deterministic) or `to_dict()` (JSON).
    """

    rows: int
    features: dict[str, FeatureProfile]

    def __repr__(self) -> str:
        return f"Profile(rows={self.rows}, features={len(self.features)})"

    def to_dict(self) -> JSONObject:
        return {"rows": self.rows, "features": {name: feature.to_dict() for name, feature in self.features.items()}}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Profile:
        return _read(doc, samples=None)

    def to_bytes(self) -> bytes:
        doc: JSONObject = {
            "rows": self.rows,
            "features": {
                name: feature.to_dict(include_sample=False)
                if isinstance(feature, NumericProfile)
                else feature.to_dict()
                for name, feature in self.features.items()
            },
        }
        samples = [feature.sample for feature in self.features.values() if isinstance(feature, NumericProfile)]
        return codec.encode(doc, samples)

    @classmethod
    def from_bytes(cls, blob: bytes) -> Profile:
        doc, samples = codec.decode(blob)
        return _read(doc, samples)


def profile_data(data: object, *, sample_size: int = 10_000, seed: int = 0, max_categories: int = 1000) -> Profile:
    """The reference profile of `data` (a DataFrame, dict of columns, 2-D array or list of rows).

    Each numeric feature keeps a sorted sample of `min(sample_size, count)` values drawn with a
    numpy Generator seeded by `seed` and the feature's name, so a feature's sample does not
    change when other columns are added or reordered. Categorical features keep the counts of
    their `max_categories` most frequent values.
    """
    if sample_size < 0 or max_categories < 1:
        raise ValidationFailed([("sample_size", "must be >= 0, and max_categories >= 1")])
    table = as_table(data)
    if table.layout == "tensor":
        return Profile(rows=table.rows, features={})  # per-pixel statistics would say nothing useful
    features: dict[str, FeatureProfile] = {}
    for name, column in table.columns:
        kind = _feature_kind(column)
        if kind == "numeric":
            features[name] = _numeric(name, _floats(column), sample_size, seed)
        elif kind == "categorical":
            features[name] = _categorical(column, max_categories)
    return Profile(rows=table.rows, features=features)


def _feature_kind(column: Column) -> str | None:
    dtype = vocabulary_dtype(column.dtype)
    if dtype is None:
        series = column if isinstance(column, pd.Series) else pd.Series(column, copy=False)
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind in _NUMERIC_KINDS:
            return "numeric"
        return "categorical" if kind in _CATEGORICAL_KINDS else None
    if dtype in ("bool", "string", "category"):
        return "categorical"
    return "numeric" if is_numeric(dtype) else None


def _floats(column: Column) -> Floats:
    if isinstance(column, pd.Series):
        if isinstance(column.dtype, np.dtype) and column.dtype.kind != "O":
            column = column.to_numpy()  # a view: no copy for float64 columns
        else:
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.ascontiguousarray(column, dtype=np.float64)


def _numeric(name: str, column: Floats, sample_size: int, seed: int) -> NumericProfile:
    finite = np.isfinite(column)
    count = int(np.count_nonzero(finite))
    values = column if count == len(column) else column[finite]
    if count == 0:
        return _empty_numeric(len(column))
    # Seeding with the name keeps each feature's sample independent of the other columns.
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    size = min(sample_size, count)
    chosen = values if size == count else values[rng.choice(count, size=size, replace=False)]
    # One partition-based quantile call gives the quantiles, the decile edges, the min and the max.
    cuts = np.quantile(values, _CUTS)
    at = dict(zip(_CUTS.tolist(), cuts.tolist(), strict=True))
    return NumericProfile(
        count=count,
        missing=len(column) - count,
        min=at[0.0],
        max=at[1.0],
        mean=float(values.mean()),
        std=float(values.std(ddof=1)) if count > 1 else 0.0,
        quantiles={q: at[q] for q in QUANTILES},
        sample=np.sort(chosen),
        bin_edges=np.unique(cuts[np.isin(_CUTS, _DECILES)]),
    )


def _empty_numeric(missing: int) -> NumericProfile:
    nothing = np.empty(0, dtype=np.float64)
    nan = math.nan
    return NumericProfile(0, missing, nan, nan, nan, nan, {}, nothing, nothing)


def _categorical(column: Column, max_categories: int) -> CategoricalProfile:
    series = column if isinstance(column, pd.Series) else pd.Series(column, copy=False)
    missing = int(series.isna().sum())
    counts = series.value_counts(dropna=True, sort=False)
    merged: Counter[str] = Counter()
    for value, count in zip(counts.index.tolist(), counts.tolist(), strict=True):
        if count:  # a categorical dtype lists its unused categories with count 0
            merged[str(value)] += int(count)
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    frequencies = dict(ranked[:max_categories])
    if len(ranked) > max_categories:
        frequencies[OTHER] = sum(count for _, count in ranked[max_categories:])
    return CategoricalProfile(count=len(series) - missing, missing=missing, frequencies=frequencies)


def _read(doc: dict[str, Any], samples: list[Floats] | None) -> Profile:
    try:
        features: dict[str, FeatureProfile] = {}
        remaining = iter(samples or ())
        for name, feature in doc["features"].items():
            if feature["kind"] == NumericProfile.kind:
                features[name] = NumericProfile.from_dict(feature, None if samples is None else next(remaining))
            else:
                features[name] = CategoricalProfile.from_dict(feature)
        return Profile(rows=int(doc["rows"]), features=features)
    except (KeyError, TypeError, ValueError, AttributeError, StopIteration) as exc:
        raise ValidationFailed([("profile", f"not a valid profile document: {exc!r}")]) from exc


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


__all__ = [
    "OTHER",
    "OUTPUT_PREFIX",
    "QUANTILES",
    "CategoricalProfile",
    "FeatureProfile",
    "NumericProfile",
    "Profile",
    "profile_data",
]
