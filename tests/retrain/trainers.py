"""Training entry points the tests' policies name (`tests.retrain.trainers:<function>`)."""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

FEATURES = ["x0", "x1", "x2"]

TRAIN_SCRIPT = """
# A shell-command trainer: reads the documented files in $SHIPYARD_RETRAIN_DIR, writes model.skops + metrics.json
import json, os, pathlib, sys
import pandas as pd, skops.io
from sklearn.linear_model import LogisticRegression
folder = pathlib.Path(os.environ["SHIPYARD_RETRAIN_DIR"])
frame = pd.read_parquet(folder / "train.parquet")
params = json.loads((folder / "params.json").read_text())
context = json.loads((folder / "context.json").read_text())
model = LogisticRegression(C=params["C"]).fit(frame[context["features"]], frame[context["label"]])
skops.io.dump(model, folder / "model.skops")
(folder / "metrics.json").write_text(json.dumps({"rows": len(frame)}))
print("wrote model.skops for run", os.environ["SHIPYARD_RETRAIN_RUN"])
"""


def train_good(frame: pd.DataFrame, params: dict[str, Any]) -> tuple[Any, dict[str, float]]:
    """A logistic regression on the window: learns whatever the recent labels say."""
    print(f"training on {len(frame)} rows with params {sorted(params)}", flush=True)
    model = LogisticRegression(C=float(params.get("C", 1.0)), max_iter=500).fit(frame[FEATURES], frame["label"])
    return model, {
        "train_rows": float(len(frame)),
        "train_accuracy": float(model.score(frame[FEATURES], frame["label"])),
    }


def train_constant(frame: pd.DataFrame, params: dict[str, Any]) -> Any:
    """A model that always answers the same class: worse than any useful champion."""
    return DummyClassifier(strategy="constant", constant=0).fit(frame[FEATURES], frame["label"])


def train_raises(frame: pd.DataFrame, params: dict[str, Any]) -> Any:
    print("about to fail", file=sys.stderr, flush=True)
    raise ValueError("the training data has no column 'tenure'")


def train_returns_nothing(frame: pd.DataFrame, params: dict[str, Any]) -> Any:
    return None
