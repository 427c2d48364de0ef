"""Writes that must reach the database, kept on local disk while the database cannot be reached.

    spill = SpillFile(settings.home / "spill", "audit")
    spill.append([{"key": "…", …}])      # one JSON line per record, fsynced before it returns
    spill.replay(write_to_db)            # later: every record spilled here, or by a dead process

A `SpillFile` appends to segment files `<name>-<pid>-<token>-<n>.jsonl` in its folder. The
process writing a segment holds an exclusive `flock` on it for as long as it lives, so a segment
whose lock can be taken belongs to a process that died: `replay` adopts those too (and so does
every worker at start-up), after its own. A segment is deleted only once `apply` has returned.

`apply` must be idempotent — each record carries its own key and the database ignores a key it
already has — because a crash between the database's commit and the segment's deletion replays
the segment, and two processes may adopt the same orphan at once. A line cut short by a crash
mid-append is skipped with a warning; the lines before it are kept.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

logger = logging.getLogger(__name__)

Record = dict[str, Any]
Apply = Callable[[list[Record]], None]


class SpillFile:
    """This process's spill segments under `folder`, named after `name` (e.g. "audit")."""

    def __init__(self, folder: Path, name: str) -> None:
        if not name or "-" in name or "/" in name:
            raise ValueError(f"a spill name is a plain word, not {name!r}")
        self.folder = folder
        self.name = name
        self._prefix = f"{name}-{os.getpid()}-{secrets.token_hex(4)}"
        self._count = 0
        self._open: tuple[Path, IO[bytes]] | None = None  # the segment appends go to
        self._sealed: list[tuple[Path, IO[bytes]]] = []  # segments waiting for a replay that works
        self._lock = threading.Lock()
        self.pending = 0
        """Records this process spilled and has not replayed yet."""

    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Add `records` durably: on disk (fsynced) when this returns. Raises OSError when the disk refuses."""
        if not records:
            return
        data = b"".join(orjson.dumps(record) + b"\n" for record in records)
        with self._lock:
            path, file = self._open or self._new_segment()
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
            self._open = (path, file)
            self.pending += len(records)

    def _new_segment(self) -> tuple[Path, IO[bytes]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._count += 1
        path = self.folder / f"{self._prefix}-{self._count}.jsonl"
        # Locked before it has the name `replay` looks for, so no other process can take it for an orphan.
        temporary = path.with_suffix(".tmp")
        file = temporary.open("ab")
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        temporary.rename(path)
        _fsync_folder(self.folder)
        return path, file

    def replay(self, apply: Apply) -> int:
        """Hand every spilled record to `apply` (idempotent), then delete it; the number of records applied.

        This process's segments first, then those of dead processes. When `apply` raises, the records
        stay for the next call and the exception propagates.
        """
        with self._lock:
            if self._open is not None:
                self._sealed.append(self._open)  # appends from now on go to a new segment
                self._open = None
            sealed = list(self._sealed)
        applied = 0
        for path, file in sealed:
            records = _read(path)
            if records:
                apply(records)
            applied += len(records)
            _remove(path, file)
            with self._lock:
                self._sealed.remove((path, file))
                self.pending = max(0, self.pending - len(records))
        return applied + self._replay_orphans(apply)

    def _replay_orphans(self, apply: Apply) -> int:
        applied = 0
        for path in sorted(self.folder.glob(f"{self.name}-*.jsonl")):
            if path.name.startswith(self._prefix):
                continue
            try:
                file = path.open("rb")
            except FileNotFoundError:
                continue  # another process adopted it first
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.close()  # its process is alive and will replay it itself
                continue
            try:
                records = _read(path)
                if records:
                    apply(records)
            except BaseException:
                file.close()
                raise
            logger.info("replayed %d record(s) spilled by a process that stopped (%s)", len(records), path.name)
            applied += len(records)
            _remove(path, file)
        return applied

    def has_orphans(self) -> bool:
        """True when a segment of another process is on disk (alive or not: `replay` tells them apart)."""
        return any(not p.name.startswith(self._prefix) for p in self.folder.glob(f"{self.name}-*.jsonl"))

    def close(self) -> None:
        """Release this process's segments; what they hold stays on disk for whoever replays next."""
        with self._lock:
            segments = ([self._open] if self._open else []) + self._sealed
            self._open, self._sealed = None, []
        for _, file in segments:
            file.close()

    def __repr__(self) -> str:
        return f"SpillFile(folder={str(self.folder)!r}, name={self.name!r}, pending={self.pending})"


def _read(path: Path) -> list[Record]:
    records = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            logger.warning("%s line %d is cut short (a crash while writing it); skipping it", path.name, number)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _remove(path: Path, file: IO[bytes]) -> None:
    path.unlink(missing_ok=True)
    file.close()


def _fsync_folder(folder: Path) -> None:
    # The new file's name must survive a crash as well as its contents.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


__all__ = ["Apply", "Record", "SpillFile"]
