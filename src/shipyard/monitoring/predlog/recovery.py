"""Start-up (and periodic) recovery: the write-ahead files of dead workers become segments, once.

For each folder whose lock nobody holds, every WAL file is converted and then deleted, and the
counters tell what never reached a WAL: records accepted but not written when the worker died.
In `durable` and `sync` mode those requests were never answered (their answer waited for the WAL); in
`fast` mode they were answered and are lost — the log says how many (DESIGN rule 5).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .segments import SegmentStore, convert_wal
from .wal import wal_files
from .workerdir import orphan, other_folders, read_counters, stale_staging

logger = logging.getLogger(__name__)

_STAGING_GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class RecoveryReport:
    worker: str
    records: int
    """Records recovered from the dead worker's WAL files into segments."""
    segments: int
    lost: int
    """Records the worker had accepted but not written to a WAL when it died."""
    dropped: int
    """Records it refused while running because its queue was full (each was counted then)."""
    torn_bytes: int

    def describe(self, mode: str) -> str:
        text = (
            f"prediction log: recovered {self.records} records of dead worker {self.worker} ({self.segments} segments)"
        )
        if self.lost:
            why = (
                "their requests were never answered (durable mode answers after the write)"
                if mode in ("durable", "sync")
                else "they were answered in fast mode, which writes at least every second"
            )
            text += f"; {self.lost} records were lost: accepted but not yet written when it died; {why}"
        if self.dropped:
            text += f"; it had dropped {self.dropped} records because its queue was full"
        if self.torn_bytes:
            text += f"; its last write was cut short ({self.torn_bytes} bytes)"
        return text


def recover_dead_workers(root: Path, own: str, store: SegmentStore, mode: str) -> list[RecoveryReport]:
    """Convert the WAL files of every dead worker under `root`; a folder another live worker is
    recovering (or still using) is skipped. A failure to store leaves the files for the next try."""
    reports = []
    for folder in other_folders(root, own):
        with orphan(folder) as dead:
            if not dead:
                continue
            report = _recover(folder, store)
        reports.append(report)
        level = logging.WARNING if report.lost or report.torn_bytes else logging.INFO
        logger.log(level, "%s", report.describe(mode))
    _clean_staging(root)
    return reports


def _recover(folder: Path, store: SegmentStore) -> RecoveryReport:
    counters = read_counters(folder)
    records = segments = torn = 0
    last_written = counters.written
    for path in wal_files(folder):
        converted = convert_wal(path, folder.name, store)
        path.unlink()
        records += converted.records
        segments += converted.segments
        torn += converted.torn_bytes
        last_written = max(last_written, converted.last_seq)
    lost = max(counters.accepted - last_written, 0)
    # Delete the folder while still holding its lock; another worker's attempt then finds nothing.
    for child in folder.iterdir():
        if child.name != "lock":
            child.unlink()
    shutil.rmtree(folder, ignore_errors=True)
    return RecoveryReport(folder.name, records, segments, lost, counters.dropped, torn)


def _clean_staging(root: Path) -> None:
    now = time.time()
    for folder in stale_staging(root):
        try:
            if now - folder.stat().st_mtime > _STAGING_GRACE_SECONDS and not list(folder.glob("*.wal")):
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:
            continue


__all__ = ["RecoveryReport", "recover_dead_workers"]
