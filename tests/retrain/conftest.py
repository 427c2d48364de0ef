"""A registered champion, labelled data to retrain it on, and a service whose alerts are recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.config import RetrainSettings
from shipyard.monitoring.alerting import Alert
from shipyard.registry import ModelVersion, Registry
from shipyard.retrain import RetrainService

from .trainers import FEATURES


class RecordingSink:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def fire(self, alert: Alert) -> None:
        self.alerts.append(alert)


def labelled(rows: int, *, seed: int, flipped: bool = False) -> pd.DataFrame:
    """x0..x2 ~ N(0, 1); label = x0 + x1 > 0 (or its opposite once the concept has `flipped`)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=FEATURES)
    label = (frame["x0"] + frame["x1"] > 0).astype(int)
    frame["label"] = 1 - label if flipped else label
    return frame


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def service(registry: Registry, sink: RecordingSink) -> RetrainService:
    return RetrainService(registry, RetrainSettings(lease_seconds=30), alerts=sink)


def register_champion(registry: Registry, frame: pd.DataFrame) -> ModelVersion:
    model = LogisticRegression(max_iter=500).fit(frame[FEATURES], frame["label"])
    version = registry.register(model, "churn", data=frame[FEATURES], target=frame["label"], params={"C": 0.5})
    registry.set_alias("churn", "production", version.version)
    return version


@pytest.fixture
def stale_champion(registry: Registry) -> ModelVersion:
    """Production v1 learned the old concept; the data now follows the flipped one."""
    return register_champion(registry, labelled(300, seed=1, flipped=False))


@pytest.fixture
def fresh_dataset(tmp_path: Path) -> Path:
    """Labelled rows of the current (flipped) concept, as a folder of two Parquet files."""
    folder = tmp_path / "labelled"
    folder.mkdir()
    labelled(150, seed=2, flipped=True).to_parquet(folder / "part-0.parquet")
    labelled(150, seed=3, flipped=True).to_parquet(folder / "part-1.parquet")
    return folder


def policy(dataset: Path | str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "trainer": {"entry_point": "tests.retrain.trainers:train_good", "timeout": "2m"},
        "data": {"dataset": str(dataset), "min_rows": 50},
        "evaluation": {"metric": "accuracy", "margin": 0.05, "holdout": 0.25},
        "rollout": {"mode": "staging"},
    }
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            doc.setdefault(section, {})[field] = value
        else:
            doc[section] = value
    return doc
