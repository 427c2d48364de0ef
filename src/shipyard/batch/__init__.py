"""Batch scoring: a registered model over Parquet or CSV files (or folders, or S3), streamed in chunks.

    from shipyard.batch import BatchSpec, run_batch
    job = run_batch(registry, settings, BatchSpec("churn@production", "data/", "scores/", id_column="id"))
    job.rows_out, job.rows_rejected

The output is a folder of Parquet part files (one per chunk of `batch_rows` rows); rows that do not
fit the model's signature go to a rejects folder with the reason; the job and its figures are kept
in the metadata database (`shipyard batch list|show`), and an interrupted job resumes where it
stopped. Engines: `local` (threads overlapping read, predict, write) and `ray` (Ray Data).
See docs/batch.md.
"""

from __future__ import annotations

from .jobs import BatchJob, BatchJobStore
from .runner import BatchProgress, ProgressCallback, run_batch
from .spec import DEFAULT_BATCH_ROWS, ENGINES, MAX_BATCH_ROWS, BatchSpec

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "ENGINES",
    "MAX_BATCH_ROWS",
    "BatchJob",
    "BatchJobStore",
    "BatchProgress",
    "BatchSpec",
    "ProgressCallback",
    "run_batch",
]
