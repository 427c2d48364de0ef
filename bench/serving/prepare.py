"""Train the two benchmark models and save them for one server. Runs inside that server's virtualenv.

    python prepare.py shipyard OUT   # registers both models in $SHIPYARD_HOME (our .venv)
    python prepare.py mlserver OUT   # OUT/<model>/model.joblib (bench/.venvs/mlserver)
    python prepare.py mlflow OUT     # OUT/<model>/ (MLmodel, predict_fn=predict_proba; bench/.venvs/mlflow)
    python prepare.py row OUT        # OUT/row.json: the request row and the column names

Every virtualenv trains the same code with the same seeds, so each server gets the same models
without pickles crossing scikit-learn versions. It also writes OUT/check.json: the
`predict_proba` of the request row, which run.py compares across servers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 0


def train() -> tuple[dict[str, Any], Any, Any, Any]:
    """({name: fitted model}, X_train, y_train, X_test) on the breast-cancer data set."""
    data = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, _ = train_test_split(
        data.data, data.target, test_size=0.25, random_state=SEED, stratify=data.target
    )
    models = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=SEED)),
        "hgb": HistGradientBoostingClassifier(random_state=SEED),
    }
    for model in models.values():
        model.fit(X_train, y_train)
    return models, X_train, y_train, X_test


def main(kind: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    models, X_train, y_train, X_test = train()
    row = X_test.iloc[[0]]
    if kind == "row":
        (out / "row.json").write_text(json.dumps({"columns": list(row.columns), "row": row.iloc[0].tolist()}))
        return
    if kind == "shipyard":
        import shipyard

        for name, model in models.items():
            shipyard.register(model, name=name, data=X_train, target=y_train)
    elif kind == "mlserver":
        import joblib

        for name, model in models.items():
            (out / name).mkdir(exist_ok=True)
            joblib.dump(model, out / name / "model.joblib")
    elif kind == "mlflow":
        import mlflow.sklearn
        from mlflow.models import infer_signature

        for name, model in models.items():
            signature = infer_signature(X_train, model.predict_proba(X_train))
            # MLflow 3 saves with skops, which asks to be told that HGB's tree predictor is trusted.
            trusted = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
            mlflow.sklearn.save_model(
                model,
                str(out / name),
                signature=signature,
                pyfunc_predict_fn="predict_proba",
                skops_trusted_types=trusted,
            )
    else:
        raise SystemExit(f"unknown kind {kind!r}: shipyard, mlserver, mlflow or row")
    check = {name: model.predict_proba(row).tolist() for name, model in models.items()}
    (out / "check.json").write_text(json.dumps(check))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], Path(sys.argv[2]))
