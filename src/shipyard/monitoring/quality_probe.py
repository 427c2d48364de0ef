"""A deployment's quality guard fed by ground truth: the canary controller asks it how good each
version's answers have been since a step began, and it answers from the labelled prediction log.

It implements the controller's `QualityProbe` (`deployments.controller`): higher is better, None when
there are too few labels to say — the guard then neither advances nor rolls back on quality.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from .feedback_service import MonitoringService

logger = logging.getLogger(__name__)

# Classification: accuracy; regression: −RMSE (so that higher is better for both).
_HIGHER_IS_BETTER = ("accuracy",)
_LOWER_IS_BETTER = ("rmse",)


class FeedbackQualityProbe:
    """Quality of a version's labelled answers since a time, from the prediction log ⨝ feedback."""

    def __init__(
        self, monitoring: MonitoringService, model_of: Callable[[str], str], *, min_labelled: int = 20
    ) -> None:
        self.monitoring = monitoring
        self.model_of = model_of
        """Deployment name → the model whose versions it serves."""
        self.min_labelled = min_labelled

    def __call__(self, deployment: str, version: int, since: datetime) -> float | None:
        windows = self.monitoring.quality(self.model_of(deployment), since, version=version)
        window = next((w for w in windows if w.version == version), None)
        if window is None or window.labelled < self.min_labelled:
            return None
        return quality_score(window.metrics)


def quality_score(metrics: dict[str, float]) -> float | None:
    """One figure where higher is better: accuracy for classification, −RMSE for regression."""
    for name in _HIGHER_IS_BETTER:
        if name in metrics:
            return metrics[name]
    for name in _LOWER_IS_BETTER:
        if name in metrics:
            return -metrics[name]
    return None


__all__ = ["FeedbackQualityProbe", "quality_score"]
