from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    data: Any = load_breast_cancer(as_frame=True)
    return data.data, data.target


@pytest.fixture(scope="session")
def logreg(cancer: tuple[pd.DataFrame, pd.Series]) -> Any:
    X, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
