"""Fixtures for the flavor tests: scikit-learn's bundled data sets and a save → load round trip."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from shipyard.flavors import Flavor, SavedModel, flavor_for

Dataset = tuple[pd.DataFrame, pd.Series]
RoundTrip = Callable[..., tuple[SavedModel, Any]]
SaveTo = Callable[..., tuple[Path, SavedModel]]


@pytest.fixture(scope="session")
def iris() -> Dataset:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def cancer() -> Dataset:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def diabetes() -> Dataset:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture
def save_to(tmp_path: Path) -> SaveTo:
    """Save a model into a fresh empty folder; the SavedModel goes through JSON as the registry stores it."""
    counter = itertools.count()

    def save(model: object, flavor: Flavor | None = None) -> tuple[Path, SavedModel]:
        folder = tmp_path / f"model-{next(counter)}"
        folder.mkdir()
        saved = (flavor or flavor_for(model)).save(model, folder)
        return folder, SavedModel.from_dict(json.loads(json.dumps(saved.to_dict())))

    return save


@pytest.fixture
def round_trip(save_to: SaveTo) -> RoundTrip:
    """Save then load a model the way the registry does (pickle allowed unless said otherwise)."""

    def run(model: object, flavor: Flavor | None = None, allow_pickle: bool = True) -> tuple[SavedModel, Any]:
        chosen = flavor or flavor_for(model)
        folder, saved = save_to(model, chosen)
        return saved, chosen.load(folder, saved, allow_pickle=allow_pickle)

    return run
