"""The latest drift and quality figures, as the metrics and the alert rules read them.

Drift runs and quality windows are computed elsewhere (on a schedule in the server, or on demand
from the CLI) and stored in the database. A `FigureSource` gives the latest result per model
version; `/metrics` shows it as gauges (read at scrape time, cached for a few seconds, so every
worker and replica shows the same figures and a result computed by the CLI appears without a
restart) and the alert rules compare it with their thresholds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    """A feature's name, or a prediction's."""
    method: str
    """The method the verdict rests on (ks, psi, wasserstein, jensenshannon, chisquare)."""
    score: float
    """That method's figure: a p-value for ks and chisquare, else a distance."""
    drifted: bool
    threshold: float | None = None
    lower_is_drift: bool = False
    """True when `score` is a p-value: drift is a score *below* the threshold."""
    statistics: Mapping[str, float] = field(default_factory=dict)
    """Every statistic computed for the feature (ks_statistic, ks_pvalue, psi, wasserstein_normed, ...)."""
    role: str = "input"
    """`input` (counted in the run's share of drifted features) or `prediction` (reported beside it)."""

    def beyond(self, threshold: float) -> bool:
        """Whether `score` is on the drift side of `threshold`."""
        return self.score < threshold if self.lower_is_drift else self.score > threshold


@dataclass(frozen=True)
class DriftFigures:
    model: str
    version: int
    share: float
    """Share of the features found drifting, 0-1."""
    detected: bool
    """Dataset drift: the share passed its threshold."""
    computed_at: datetime
    features: tuple[FeatureDrift, ...] = ()


@dataclass(frozen=True)
class QualityFigure:
    model: str
    version: int
    metric: str
    value: float
    computed_at: datetime
    count: int = 0
    """Labelled rows the figure rests on."""


class FigureSource(Protocol):
    def drift(self) -> Sequence[DriftFigures]:
        """The latest drift result of each model version that has one."""

    def quality(self) -> Sequence[QualityFigure]:
        """The latest value of each quality metric of each model version that has one."""


class NoFigures:
    """Until drift and quality results are stored: nothing to show."""

    def drift(self) -> Sequence[DriftFigures]:
        return ()

    def quality(self) -> Sequence[QualityFigure]:
        return ()


class CachedFigures:
    """A `FigureSource` read at most once per `ttl_seconds` (scrapes and rule evaluations come often)."""

    def __init__(self, source: FigureSource, ttl_seconds: float = 5.0, *, clock: Callable[[], float] = time.monotonic):
        self.source = source
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._drift: tuple[float, Sequence[DriftFigures]] | None = None
        self._quality: tuple[float, Sequence[QualityFigure]] | None = None

    def drift(self) -> Sequence[DriftFigures]:
        with self._lock:
            if self._drift is None or self._clock() - self._drift[0] >= self.ttl_seconds:
                self._drift = (self._clock(), tuple(self.source.drift()))
            return self._drift[1]

    def quality(self) -> Sequence[QualityFigure]:
        with self._lock:
            if self._quality is None or self._clock() - self._quality[0] >= self.ttl_seconds:
                self._quality = (self._clock(), tuple(self.source.quality()))
            return self._quality[1]


__all__ = [
    "CachedFigures",
    "DriftFigures",
    "FeatureDrift",
    "FigureSource",
    "NoFigures",
    "QualityFigure",
]
