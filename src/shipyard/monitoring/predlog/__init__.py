"""The prediction log: every answered request, as Parquet segments partitioned by model and hour.

    <monitoring.log_url>/model=<name>/date=YYYY-MM-DD/hour=HH/<worker-id>-<seq>.parquet

`PredictionLog` is the data plane's observer (write-ahead file, group commit, segments written in
the background); `read_log` reads a window back as a pyarrow Table (DuckDB and `pyarrow.dataset`
read the same files, hive-partitioned). See docs/monitoring.md.
"""

from __future__ import annotations

from .factory import log_storage_options, open_prediction_log
from .layout import parse_duration, parse_time, partition_dir, segment_name
from .lookup import find_models, models_in_log
from .reader import read_log
from .recovery import RecoveryReport
from .redaction import Redaction
from .rules import get_redaction, load_rules, set_redaction
from .schema import base_schema
from .segments import SegmentStore
from .writer import PredictionLog

__all__ = [
    "PredictionLog",
    "RecoveryReport",
    "Redaction",
    "SegmentStore",
    "base_schema",
    "find_models",
    "get_redaction",
    "log_storage_options",
    "load_rules",
    "models_in_log",
    "open_prediction_log",
    "parse_duration",
    "parse_time",
    "partition_dir",
    "read_log",
    "segment_name",
    "set_redaction",
]
