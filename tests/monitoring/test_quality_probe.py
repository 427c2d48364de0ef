"""The canary's quality guard reads the labelled prediction log: accuracy per version since a time."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sklearn import metrics

from shipyard.monitoring.feedback_service import MonitoringService
from shipyard.monitoring.quality_probe import FeedbackQualityProbe, quality_score

from .test_feedback import NOW, log_predictions, service  # noqa: F401  (the fixture)


def test_the_probe_answers_accuracy_per_version_and_none_without_enough_labels(service: MonitoringService) -> None:  # noqa: F811
    rng = np.random.default_rng(5)
    ages = rng.uniform(0, 100, 60)
    rows = [(f"p{i}", float(a), 1 if i < 40 else 2, NOW + timedelta(minutes=i)) for i, a in enumerate(ages)]
    log_predictions(service, rows)
    labels = (ages + rng.normal(0, 20, 60) > 50).astype(int)
    service.submit_feedback([{"request_id": f"p{i}", "label": int(v)} for i, v in enumerate(labels)], actor="a")
    asked: list[str] = []

    def model_of(deployment: str) -> str:
        asked.append(deployment)
        return "churn"

    probe = FeedbackQualityProbe(service, model_of, min_labelled=25)
    expected = metrics.accuracy_score(labels[:40], (ages[:40] > 50).astype(int))
    assert probe("live", 1, NOW) == pytest.approx(expected)
    assert probe("live", 2, NOW) is None  # 20 labelled answers, fewer than 25
    assert probe("live", 3, NOW) is None  # no answers at all
    assert probe("live", 1, NOW + timedelta(hours=2)) is None  # nothing since then
    assert set(asked) == {"live"}


@pytest.mark.parametrize(
    ("figures", "score"),
    [({"accuracy": 0.9, "f1": 0.8}, 0.9), ({"rmse": 2.0, "mae": 1.0}, -2.0), ({"mae": 1.0}, None), ({}, None)],
)
def test_one_score_where_higher_is_better(figures: dict[str, float], score: float | None) -> None:
    assert quality_score(figures) == score
