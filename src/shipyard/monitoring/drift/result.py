"""What a drift evaluation says: one `FeatureDrift` per column, and the dataset verdict over them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .methods import DEFAULT_SHARE, P_VALUE_METHODS, Kind

Role = Literal["input", "prediction"]


@dataclass(frozen=True)
class Histogram:
    """Reference and current counts over the same bins, for pictures (not for the statistics)."""

    labels: list[str] | None
    """Category names (categorical), or None with `edges` (numeric, equal-width)."""
    edges: list[float] | None
    reference: list[float]
    current: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "edges": self.edges, "reference": self.reference, "current": self.current}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Histogram:
        return cls(doc.get("labels"), doc.get("edges"), list(doc["reference"]), list(doc["current"]))


@dataclass(frozen=True)
class FeatureDrift:
    """The drift of one column: every statistic of its kind, and the verdict of the deciding method.

    `statistics` holds, for a numeric column, `ks_statistic`, `ks_pvalue`, `wasserstein`,
    `wasserstein_normed`, `psi`, `jensenshannon`; for a categorical one `chisquare_statistic`,
    `chisquare_pvalue`, `psi`, `jensenshannon`. `score` is the deciding method's figure (a p-value
    for `ks` and `chisquare`, else the distance) and `drifted` compares it with `threshold`.
    `error` says why a column could not be compared (missing from the window, not numeric, empty).
    """

    name: str
    kind: Kind
    role: Role
    method: str
    threshold: float
    score: float
    drifted: bool
    statistics: dict[str, float]
    reference_rows: int
    current_rows: int
    current_missing: int
    reference_missing_share: float
    histogram: Histogram | None = None
    error: str | None = None

    @property
    def evaluated(self) -> bool:
        return self.error is None

    @property
    def current_missing_share(self) -> float:
        total = self.current_rows + self.current_missing
        return self.current_missing / total if total else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "role": self.role,
            "method": self.method,
            "threshold": self.threshold,
            "score": _json(self.score),
            "score_is_p_value": self.method in P_VALUE_METHODS,
            "drifted": self.drifted,
            "statistics": {key: _json(value) for key, value in self.statistics.items()},
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "current_missing": self.current_missing,
            "current_missing_share": _json(self.current_missing_share),
            "reference_missing_share": _json(self.reference_missing_share),
            "histogram": None if self.histogram is None else self.histogram.to_dict(),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> FeatureDrift:
        histogram = doc.get("histogram")
        return cls(
            name=doc["name"],
            kind=doc["kind"],
            role=doc.get("role", "input"),
            method=doc["method"],
            threshold=float(doc["threshold"]),
            score=_float(doc.get("score")),
            drifted=bool(doc["drifted"]),
            statistics={key: _float(value) for key, value in (doc.get("statistics") or {}).items()},
            reference_rows=int(doc.get("reference_rows", 0)),
            current_rows=int(doc.get("current_rows", 0)),
            current_missing=int(doc.get("current_missing", 0)),
            reference_missing_share=_float(doc.get("reference_missing_share")),
            histogram=None if histogram is None else Histogram.from_dict(histogram),
            error=doc.get("error"),
        )


@dataclass(frozen=True)
class DriftReport:
    """Every column's drift and the dataset verdict: drift when the share of drifted input features
    reaches `share_threshold` (predictions are reported beside it, not counted in the share)."""

    features: list[FeatureDrift]
    rows: int
    share_threshold: float = DEFAULT_SHARE
    seconds: float = 0.0
    model: str | None = None
    version: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    computed_at: datetime | None = None
    id: int | None = None
    trigger: str | None = None
    notes: list[str] = field(default_factory=list)
    """Things a reader should know about the run (e.g. no prediction reference for this version)."""

    @property
    def inputs(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.role == "input" and f.evaluated]

    @property
    def predictions(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.role == "prediction" and f.evaluated]

    @property
    def drifted_features(self) -> list[str]:
        return [f.name for f in self.inputs if f.drifted]

    @property
    def share(self) -> float:
        evaluated = self.inputs
        return len(self.drifted_features) / len(evaluated) if evaluated else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.inputs) and self.share >= self.share_threshold

    @property
    def prediction_drift(self) -> bool | None:
        predictions = self.predictions
        return any(f.drifted for f in predictions) if predictions else None

    def feature(self, name: str) -> FeatureDrift:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "window_start": None if self.window_start is None else self.window_start.isoformat(),
            "window_end": None if self.window_end is None else self.window_end.isoformat(),
            "computed_at": None if self.computed_at is None else self.computed_at.isoformat(),
            "trigger": self.trigger,
            "rows": self.rows,
            "dataset_drift": self.dataset_drift,
            "share": self.share,
            "share_threshold": self.share_threshold,
            "drifted_features": self.drifted_features,
            "features": len(self.inputs),
            "prediction_drift": self.prediction_drift,
            "seconds": round(self.seconds, 4),
            "notes": list(self.notes),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "results": [f.to_dict() for f in self.features]}


def _json(value: float) -> float | None:
    return value if math.isfinite(value) else None  # JSON (and PostgreSQL) have no NaN or Infinity


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


__all__ = ["DriftReport", "FeatureDrift", "Histogram", "Role"]
