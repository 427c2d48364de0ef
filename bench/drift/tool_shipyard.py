"""Shipyard's drift of one current Parquet file against the reference profile stored in a registry.

    python tool_shipyard.py HOME MODEL CURRENT.parquet [THREADS]

Timed: loading the version's profile from the artifact store (by its digest, verified), preparing
it, and `compare` with every statistic (KS with exact p-values, PSI, Wasserstein, JS; chi-square,
PSI, JS) reading the Parquet file column by column.
"""

from __future__ import annotations

import sys
from pathlib import Path

from child import finish, start

from shipyard.config import Settings
from shipyard.monitoring.drift import DriftConfig, DriftService, compare
from shipyard.registry import open_registry


def main(home: str, model: str, current: str, threads: int | None) -> None:
    registry = open_registry(Settings(home=Path(home)))
    version = registry.resolve(model)
    started = start()
    reference = DriftService(registry, log_url=str(Path(home) / "predictions")).reference(version)
    # The bench data has no model outputs: leave the prediction features out rather than report them missing.
    outputs = tuple(name for name, role in reference.roles.items() if role == "prediction")
    report = compare(reference, current, DriftConfig(ignore=outputs), threads=threads)
    statistics = {f.name: {"method": f.method, "score": f.score, **f.statistics} for f in report.features}
    finish("shipyard", started, report.drifted_features, rows=report.rows, statistics=statistics)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None)
