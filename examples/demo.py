"""`make demo`: train a model on a bundled data set, register it with its data, promote it, show the registry.

Everything lands in $SHIPYARD_HOME (default ./.shipyard): a SQLite database and a folder of artifacts.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard


def cli(*args: str) -> None:
    print(f"\n$ shipyard {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "shipyard", *args], check=True)


def main() -> None:
    data: Any = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.25, random_state=0)
    params = {"C": 1.0, "max_iter": 500}
    model = make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=params["max_iter"]))
    model.fit(X_train, y_train)
    metrics = {
        "accuracy": accuracy_score(y_test, model.predict(X_test)),
        "roc_auc": roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]),
    }

    version = shipyard.register(
        model,
        name="breast-cancer",
        data=X_train,
        target=y_train,
        params=params,
        metrics=metrics,
        tags={"dataset": "sklearn.load_breast_cancer", "owner": "demo"},
        description="StandardScaler + LogisticRegression on the bundled breast-cancer data set",
    )
    print(f"registered {version.uri} ({version.flavor}, {version.digest[:19]}…)")
    shipyard.set_alias("breast-cancer", "production", version.version)
    print(f"promoted {version.uri} to production")

    loaded = shipyard.load("models:/breast-cancer@production")
    print(f"loaded back; predictions for 5 test rows: {loaded.predict(X_test.head(5)).tolist()}")

    cli("models", "list")
    cli("models", "show", "breast-cancer@production")
    print(
        "\nWhere to look: the registry is in ./.shipyard (shipyard.db + artifacts/). Try\n"
        "  .venv/bin/shipyard models show breast-cancer\n"
        "  .venv/bin/shipyard models diff breast-cancer 1 2   (after a second `make demo`)\n"
        "  .venv/bin/shipyard audit"
    )


if __name__ == "__main__":
    main()
