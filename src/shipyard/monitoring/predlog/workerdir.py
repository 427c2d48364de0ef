"""Each worker's folder of write-ahead files, locked for the worker's lifetime, with its counters.

    <home>/predlog/<worker-id>/lock          flock held while the worker lives
    <home>/predlog/<worker-id>/counters      accepted | written through | dropped (u64 each, mmap)
    <home>/predlog/<worker-id>/<seq>.wal     write-ahead files, named by their first sequence number

The kernel releases a flock when its process dies, however it dies, so "can I lock it?" tells a
dead worker's folder from a live one's without trusting pids (which get reused, and which two
workers sharing a home would otherwise have to agree on). A folder is created under a dot-name
and renamed once locked, so nobody ever sees an unlocked live folder.

The counters are a shared memory map of a file: storing into it costs a memory write (no system
call) and the kernel keeps the page when the process is killed, so after a `kill -9` the next
start knows how many records the dead worker had accepted and how many it had written.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import shutil
import socket
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_COUNTERS = struct.Struct("<QQQ")
_U64 = struct.Struct("<Q")


def new_worker_id() -> str:
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_")[:24] or "host"
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Counters:
    accepted: int
    """Sequence number of the last record accepted into the in-memory queue."""
    written: int
    """Sequence number up to which records are in a write-ahead file."""
    dropped: int
    """Records refused because the queue was full (never given a sequence number)."""

    @property
    def unwritten(self) -> int:
        return max(self.accepted - self.written, 0)


class WorkerDir:
    """This worker's folder: created, locked and counted while the worker lives."""

    def __init__(self, root: Path, worker_id: str) -> None:
        self.root = root
        self.worker_id = worker_id
        self.path = root / worker_id
        self._lock_fd = -1
        self._map: mmap.mmap | None = None

    def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".{self.worker_id}"
        staging.mkdir()
        self._lock_fd = os.open(staging / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with open(staging / "counters", "wb") as handle:
            handle.write(bytes(_COUNTERS.size))
        fd = os.open(staging / "counters", os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, _COUNTERS.size)
        finally:
            os.close(fd)
        os.rename(staging, self.path)

    def set_accepted(self, seq: int) -> None:
        if self._map is not None:
            _U64.pack_into(self._map, 0, seq)

    def set_written(self, seq: int) -> None:
        if self._map is not None:
            _U64.pack_into(self._map, 8, seq)

    def set_dropped(self, count: int) -> None:
        if self._map is not None:
            _U64.pack_into(self._map, 16, count)

    def close(self, *, remove: bool) -> None:
        """Release the lock; `remove` deletes the folder (only once every WAL in it is converted)."""
        if self._map is not None:
            self._map.flush()
            self._map.close()
            self._map = None
        if remove:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __repr__(self) -> str:
        return f"WorkerDir(path={str(self.path)!r})"


def read_counters(folder: Path) -> Counters:
    try:
        data = (folder / "counters").read_bytes()
    except FileNotFoundError:
        return Counters(0, 0, 0)
    if len(data) < _COUNTERS.size:
        return Counters(0, 0, 0)
    return Counters(*_COUNTERS.unpack_from(data))


@contextlib.contextmanager
def orphan(folder: Path) -> Iterator[bool]:
    """Lock `folder` if its worker is dead: yields True while this process holds it, False when it is
    alive (or gone). Two workers recovering at once: only one gets the lock."""
    try:
        fd = os.open(folder / "lock", os.O_RDWR)
    except (FileNotFoundError, NotADirectoryError):
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield folder.is_dir()
    finally:
        os.close(fd)


def other_folders(root: Path, own: str) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name != own and not p.name.startswith("."))


def stale_staging(root: Path) -> list[Path]:
    """Dot-folders left by a worker killed between creating and publishing its folder."""
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if p.is_dir() and p.name.startswith(".")]


__all__ = ["Counters", "WorkerDir", "new_worker_id", "orphan", "other_folders", "read_counters", "stale_staging"]
