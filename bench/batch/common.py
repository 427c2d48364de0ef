"""Data and model of the batch benchmark, the same in every virtualenv (numpy, pandas, pyarrow, scikit-learn only).

The data is generated chunk by chunk from fixed seeds, so any size gives the same first rows and
no step holds the whole file in memory. The model is a logistic regression trained on the first
100,000 rows with fixed settings: scikit-learn gives the same coefficients in every virtualenv that
has the same version, which the runner checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20261123
CHUNK_ROWS = 1_000_000
TRAIN_ROWS = 100_000


def feature_names(features: int) -> list[str]:
    return [f"f{i:02d}" for i in range(features)]


def make_chunk(index: int, rows: int, features: int) -> pa.Table:
    """Rows `index * CHUNK_ROWS …` of the data: an int64 id and `features` float64 columns."""
    rng = np.random.default_rng([SEED, index])
    scale = 1.0 + np.arange(features) / 10.0
    values = rng.standard_normal((rows, features)) * scale + np.arange(features)
    columns = {"id": pa.array(np.arange(index * CHUNK_ROWS, index * CHUNK_ROWS + rows, dtype=np.int64))}
    for i, name in enumerate(feature_names(features)):
        columns[name] = pa.array(values[:, i])
    return pa.table(columns)


def generate(path: Path, rows: int, features: int) -> None:
    """Write the data set to `path` (Parquet, snappy, one row group per million rows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".partial")
    writer = None
    for index in range((rows + CHUNK_ROWS - 1) // CHUNK_ROWS):
        chunk = make_chunk(index, min(CHUNK_ROWS, rows - index * CHUNK_ROWS), features)
        writer = writer or pq.ParquetWriter(temporary, chunk.schema)
        writer.write_table(chunk, row_group_size=CHUNK_ROWS)
    assert writer is not None
    writer.close()
    temporary.rename(path)


def training_data(features: int) -> tuple[pd.DataFrame, np.ndarray]:
    data = make_chunk(0, TRAIN_ROWS, features).to_pandas().drop(columns=["id"])
    weights = np.random.default_rng(SEED).standard_normal(features)
    centred = data.to_numpy() - np.arange(features)
    target = (centred @ weights + np.random.default_rng(SEED + 1).standard_normal(len(data)) > 0).astype(np.int64)
    return data, target


MODELS = ("logreg", "hgb")


def cpu_seconds() -> float:
    """CPU time of this process so far, every thread: on a shared machine, steadier than the wall clock."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def train(features: int, kind: str = "logreg") -> object:
    """`logreg`: fast, so reading and writing dominate; `hgb`: 100 boosted trees, as a real model costs."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    data, target = training_data(features)
    if kind == "hgb":
        return HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0).fit(data, target)
    return LogisticRegression(max_iter=1000).fit(data, target)


def checksum(model: object, features: int) -> float:
    """The same number in every virtualenv when the models are the same."""
    data, _ = training_data(features)
    return round(float(model.predict_proba(data.head(1000))[:, 1].sum()), 9)  # type: ignore[attr-defined]
