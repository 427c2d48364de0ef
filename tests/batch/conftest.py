"""Fixtures of the batch tests: a registry, small registered models and input files written from them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.config import Settings
from shipyard.registry import Registry, open_registry

FEATURES = ["a", "b", "c", "d"]


def frame(rows: int, seed: int = 0, start_id: int = 0) -> pd.DataFrame:
    """`rows` rows of four float features and an integer id (not a feature)."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(rng.standard_normal((rows, len(FEATURES))), columns=FEATURES)
    data.insert(0, "id", np.arange(start_id, start_id + rows, dtype=np.int64))
    return data


def train() -> tuple[LogisticRegression, pd.DataFrame, pd.Series]:
    data = frame(500, seed=1)[FEATURES]
    target = (data.a + data.b > 0).astype(int)
    return LogisticRegression().fit(data, target), data, target


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    """A SQLite registry in the test's home (for tests whose database does not matter)."""
    return Settings(home=tmp_path / "home", user="alice")


@pytest.fixture
def local_registry(local_settings: Settings) -> Iterator[Registry]:
    registry = open_registry(local_settings)
    yield registry
    registry.db.close()


def register_logreg(registry: Registry, name: str = "churn") -> LogisticRegression:
    model, data, target = train()
    registry.register(model, name, data=data, target=target)
    return model
