"""Drift methods, their thresholds, and which one decides by default for a column.

Every method is computed for every column (the report shows them all); one of them, the
*deciding* method, says whether the column drifted. The default follows Evidently's rule of thumb
(statistical tests for small samples, distances for large ones) with two differences, both for a
monitoring window that is often small while the reference is large:

| column | both samples > 1000 rows | otherwise |
|---|---|---|
| numeric | `wasserstein` (normed) ≥ 0.1 | `ks` p-value < 0.05 |
| categorical | `jensenshannon` ≥ 0.1 | `chisquare` p-value < 0.05 |

- Evidently looks at the reference size only; we look at the smaller of the two samples, because a
  300-row hour measured with a distance is mostly noise however large the reference is.
- For a categorical column with two values Evidently switches to a Z-test; our chi-square test of
  homogeneity without continuity correction is that Z-test squared (same p-value), so it needs no
  special case.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ...errors import ValidationFailed

Kind = Literal["numeric", "categorical"]

NUMERIC_METHODS = ("ks", "wasserstein", "psi", "jensenshannon")
CATEGORICAL_METHODS = ("chisquare", "psi", "jensenshannon")
P_VALUE_METHODS = frozenset({"ks", "chisquare"})
"""Methods whose figure is a p-value: drift when it is *below* the threshold (distances: at or above)."""

DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chisquare": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}
SMALL_SAMPLE = 1000
"""Up to this many rows in the smaller sample, tests decide; above it, distances."""
DEFAULT_SHARE = 0.5
"""Dataset drift when at least this share of the input features drifted (Evidently's `drift_share`)."""


def methods_for(kind: Kind) -> tuple[str, ...]:
    return NUMERIC_METHODS if kind == "numeric" else CATEGORICAL_METHODS


def auto_method(kind: Kind, reference_rows: int, current_rows: int) -> str:
    """The default deciding method of a column of `kind` for these sample sizes (see the module doc)."""
    small = min(reference_rows, current_rows) <= SMALL_SAMPLE
    if kind == "numeric":
        return "ks" if small else "wasserstein"
    return "chisquare" if small else "jensenshannon"


def is_drift(method: str, figure: float, threshold: float) -> bool:
    """Whether `figure` of `method` means drift; NaN (nothing to compare) never does."""
    if math.isnan(figure):
        return False
    return figure < threshold if method in P_VALUE_METHODS else figure >= threshold


@dataclass(frozen=True)
class DriftConfig:
    """How one model's drift is decided; every field has a default, a model overrides what it needs.

    `methods` picks the deciding method per column (`{"age": "ks"}`); `numeric_method` and
    `categorical_method` per kind (None: chosen by sample size, see `auto_method`). `thresholds`
    sets a method's threshold (`{"psi": 0.2}`) and `column_thresholds` one column's. A column is
    left out of the share (and of the report's verdict) when listed in `ignore`.
    """

    numeric_method: str | None = None
    categorical_method: str | None = None
    methods: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    column_thresholds: dict[str, float] = field(default_factory=dict)
    share_threshold: float = DEFAULT_SHARE
    ignore: tuple[str, ...] = ()
    enabled: bool = True
    """Whether the server's scheduled job evaluates this model."""

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValidationFailed(problems)

    def method_for(self, column: str, kind: Kind, reference_rows: int, current_rows: int) -> str:
        chosen = self.methods.get(column) or (self.numeric_method if kind == "numeric" else self.categorical_method)
        if chosen is not None and chosen in methods_for(kind):
            return chosen
        # A per-column method of the other kind (a column that changed kind) falls back to the default.
        return auto_method(kind, reference_rows, current_rows)

    def threshold_for(self, column: str, method: str) -> float:
        if column in self.column_thresholds:
            return self.column_thresholds[column]
        return self.thresholds.get(method, DEFAULT_THRESHOLDS[method])

    def to_dict(self) -> dict[str, Any]:
        return {
            "numeric_method": self.numeric_method,
            "categorical_method": self.categorical_method,
            "methods": dict(self.methods),
            "thresholds": dict(self.thresholds),
            "column_thresholds": dict(self.column_thresholds),
            "share_threshold": self.share_threshold,
            "ignore": list(self.ignore),
            "enabled": self.enabled,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> DriftConfig:
        """A config from JSON (the API body, the DB row); unknown keys and wrong types are `ValidationFailed`."""
        unknown = sorted(set(doc) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValidationFailed([(key, "unknown drift setting") for key in unknown])
        try:
            return cls(
                numeric_method=_optional_str(doc.get("numeric_method"), "numeric_method"),
                categorical_method=_optional_str(doc.get("categorical_method"), "categorical_method"),
                methods=_str_map(doc.get("methods") or {}, "methods"),
                thresholds=_float_map(doc.get("thresholds") or {}, "thresholds"),
                column_thresholds=_float_map(doc.get("column_thresholds") or {}, "column_thresholds"),
                share_threshold=_number(doc.get("share_threshold", DEFAULT_SHARE), "share_threshold"),
                ignore=tuple(_str_list(doc.get("ignore") or [], "ignore")),
                enabled=_bool(doc.get("enabled", True), "enabled"),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ValidationFailed):
                raise
            raise ValidationFailed([("drift settings", str(exc))]) from exc


def _problems(config: DriftConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    every = sorted(set(NUMERIC_METHODS) | set(CATEGORICAL_METHODS))
    for name, chosen, allowed in (
        ("numeric_method", config.numeric_method, NUMERIC_METHODS),
        ("categorical_method", config.categorical_method, CATEGORICAL_METHODS),
    ):
        if chosen is not None and chosen not in allowed:
            problems.append((name, f"{chosen!r} is not one of {', '.join(allowed)}"))
    for column, method in config.methods.items():
        if method not in every:
            problems.append((f"methods.{column}", f"{method!r} is not one of {', '.join(every)}"))
    for method, threshold in config.thresholds.items():
        if method not in DEFAULT_THRESHOLDS:
            problems.append((f"thresholds.{method}", f"unknown method; use one of {', '.join(every)}"))
        elif not _valid_threshold(method, threshold):
            problems.append((f"thresholds.{method}", _threshold_rule(method, threshold)))
    for column, limit in config.column_thresholds.items():
        if not (math.isfinite(limit) and limit >= 0):
            problems.append((f"column_thresholds.{column}", f"{limit!r} is not a finite number >= 0"))
    if not (math.isfinite(config.share_threshold) and 0 < config.share_threshold <= 1):
        problems.append(("share_threshold", f"{config.share_threshold!r} is not a share in (0, 1]"))
    return problems


def _valid_threshold(method: str, value: float) -> bool:
    if not math.isfinite(value):
        return False
    return 0 < value < 1 if method in P_VALUE_METHODS else value >= 0


def _threshold_rule(method: str, value: float) -> str:
    if method in P_VALUE_METHODS:
        return f"{value!r} is not a p-value threshold in (0, 1)"
    return f"{value!r} is not a finite distance >= 0"


def _optional_str(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValidationFailed([(name, f"{value!r} is not a method name")])


def _str_map(value: object, name: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationFailed([(name, "expected an object of column name → method name")])
    return dict(value)


def _float_map(value: object, name: str) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ValidationFailed([(name, "expected an object of name → number")])
    return {str(k): _number(v, f"{name}.{k}") for k, v in value.items()}


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed([(name, f"{value!r} is not a number")])
    return float(value)


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed([(name, f"{value!r} is not true or false")])
    return value


def _str_list(value: object, name: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed([(name, "expected a list of column names")])
    return list(value)


__all__ = [
    "CATEGORICAL_METHODS",
    "DEFAULT_SHARE",
    "DEFAULT_THRESHOLDS",
    "NUMERIC_METHODS",
    "P_VALUE_METHODS",
    "SMALL_SAMPLE",
    "DriftConfig",
    "Kind",
    "auto_method",
    "is_drift",
    "methods_for",
]
