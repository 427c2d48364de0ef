"""Drift of a model's inputs and predictions against its version's reference profile.

    service = DriftService.from_settings(settings, registry)
    [report] = service.evaluate("churn", since="1h")            # one report per version logged
    report.dataset_drift, report.drifted_features

    report = compare(Reference.from_profile(profile), "window.parquet")   # no registry, no log

See docs/drift.md for the statistics, their binning, the default methods and thresholds.
"""

from __future__ import annotations

from . import store
from .engine import compare
from .methods import DEFAULT_SHARE, DEFAULT_THRESHOLDS, DriftConfig, auto_method
from .reference import Reference
from .report_html import render_html
from .result import DriftReport, FeatureDrift, Histogram
from .service import DriftService, scheduled_drift
from .store import latest_per_version, latest_run, list_runs
from .window import current_columns, read_window

__all__ = [
    "DEFAULT_SHARE",
    "DEFAULT_THRESHOLDS",
    "DriftConfig",
    "DriftReport",
    "DriftService",
    "FeatureDrift",
    "Histogram",
    "Reference",
    "auto_method",
    "compare",
    "current_columns",
    "latest_per_version",
    "latest_run",
    "list_runs",
    "read_window",
    "render_html",
    "scheduled_drift",
    "store",
]
