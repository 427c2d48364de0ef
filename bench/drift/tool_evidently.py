"""Evidently's DataDriftPreset (run in bench/.venvs/evidently): its default test per column and
its dataset verdict, on pandas DataFrames read from the same Parquet files.

    bench/.venvs/evidently/bin/python tool_evidently.py REFERENCE.parquet CURRENT.parquet
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd
from child import finish, start
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def drifted_columns(snapshot: Any, columns: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Columns whose ValueDrift metric is past its threshold, from the snapshot's JSON form."""
    flagged, scores = [], {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        column = config.get("column")
        if config.get("type", "").endswith("ValueDrift") and column in columns:
            method, threshold, value = config.get("method"), config.get("threshold"), metric["value"]
            scores[column] = {"method": method, "threshold": threshold, "score": value}
            p_value = "p_value" in str(method) or method in ("K-S p_value", "chi-square p_value", "Z-test p_value")
            if (value < threshold) if p_value else (value >= threshold):
                flagged.append(column)
    return flagged, scores


def main(reference_path: str, current_path: str) -> None:
    started = start()
    reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
    definition = DataDefinition(
        numerical_columns=[c for c in reference.columns if c.startswith("num_")],
        categorical_columns=[c for c in reference.columns if c.startswith("cat_")],
    )
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    flagged, scores = drifted_columns(snapshot, list(reference.columns))
    finish("evidently", started, flagged, statistics=scores)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
