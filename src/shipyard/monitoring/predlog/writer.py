"""`PredictionLog`: the data plane's observer that logs every answered request, never blocking it.

    observe() ──► bounded queue ──► writer thread ──► <home>/predlog/<worker>/<seq>.wal ──► converter
                  (in memory)       (group commit)     (write-ahead file)                   thread ──► segments

`observe` only appends to a deque (and, in the `durable` and `sync` modes, hands back a future). The
writer thread takes whatever has queued, groups it into batches, appends them to the write-ahead
file in one `os.write` — and, in `sync` mode, one fdatasync — then settles the futures: many
requests share each write (group commit). `durable` answers once the record is in the file (in the
kernel: it survives the process being killed, `kill -9` or the OOM killer included) and fsyncs it
in the background every second; `sync` answers only once it is on the disk itself (it survives the
machine crashing too, at the price of an fsync, ~2 ms, in every answer's latency). In fast mode the
writer writes every `log_fast_write_seconds` and nobody waits. Every `log_flush_seconds` the writer starts
a new file and the converter thread turns the closed one into Parquet segments; when the store
is down the files simply stay (spilled) and are converted when it is back. Nothing here ever waits
on the store.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ...config import MonitoringSettings
from ...errors import NotReady
from .entries import LogBatch, LoggedInference, batches_from_records
from .recovery import RecoveryReport, recover_dead_workers
from .redaction import Redaction, redact
from .segments import SegmentStore, convert_wal
from .wal import WalFile, encode_batch, wal_path
from .workerdir import WorkerDir, new_worker_id

logger = logging.getLogger(__name__)

RuleSource = Callable[[], Mapping[str, Redaction]]
"""Returns the redaction rule of every model that has one (read from the database)."""

_Item = tuple[int, LoggedInference, "asyncio.Future[None] | None"]
_MAX_DRAIN = 8192
_MEMORY_BATCH_BYTES = 64 * 2**20
"""The most array bytes of one write-ahead file kept in memory for its conversion; past that (large
tensors) the converter reads the file instead."""
_BACKGROUND_SYNC_SECONDS = 1.0
"""`durable` and `fast`: how often the write-ahead file is fsynced by the writer (not waited for)."""
_MAX_BACKOFF_SECONDS = 60.0


@dataclass
class _Closed:
    path: Path
    first_seq: int
    records: int
    failures: int = 0
    retry_at: float = 0.0
    batches: list[LogBatch] | None = None
    """What the file holds, as the writer encoded it: the converter takes these instead of reading and
    decoding the file again (a group commit leaves a frame per few records, and decoding them cost more
    than the rest of the conversion). None once the store has failed: the file is the copy that waits."""


class PredictionLog:
    """Logs the answered inferences of this worker (see the module docstring).

    log = PredictionLog(settings.monitoring, SegmentStore(url), home / "predlog")
    log.start(); plane.add_observer(log) … log.close()
    """

    def __init__(
        self,
        settings: MonitoringSettings,
        store: SegmentStore,
        wal_root: Path,
        *,
        rules: RuleSource | None = None,
        salt: bytes = b"",
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.mode = settings.log_mode
        self._answers_wait = self.mode in ("durable", "sync")
        self.store = store
        self.wal_root = wal_root
        self.worker_id = worker_id or new_worker_id()
        self._rule_source = rules
        self._rules: Mapping[str, Redaction] = {}
        self._salt = salt
        self._queue: deque[_Item] = deque()
        self._limit = settings.log_queue_size
        self._idle = True
        self._seq = itertools.count(1)
        self._wake_writer = threading.Event()
        self._wake_converter = threading.Event()
        self._progress = threading.Condition()
        self._closed_files: deque[_Closed] = deque()
        self._dir = WorkerDir(wal_root, self.worker_id)
        self._file: WalFile | None = None
        self._file_batches: list[LogBatch] | None = []  # None: past _MEMORY_BATCH_BYTES, read the file
        self._file_batch_bytes = 0
        self._threads: list[threading.Thread] = []
        self._running = False
        self._stopping = False
        self._failed = False
        self._rotate_requested = False
        self._counts = dict.fromkeys(
            ("written", "dropped", "spilled", "segments", "store_errors", "lost_at_start", "recovered", "commits"), 0
        )
        self._in_file = 0
        self._last_seq = 0
        self._written_seq = 0
        self._rotated_through = 0
        self.recoveries: list[RecoveryReport] = []

    def __repr__(self) -> str:
        return f"PredictionLog(worker={self.worker_id!r}, mode={self.mode!r}, store={self.store.location!r})"

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Lock this worker's WAL folder, load the redaction rules (raises if the database cannot be read:
        logging without knowing what to redact is not an option) and start both threads."""
        self._refresh_rules(strict=True)
        self._dir.open()
        self._running = True
        for name, target in (("writer", self._write_loop), ("converter", self._convert_loop)):
            thread = threading.Thread(target=target, name=f"predlog-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    async def run(self, _app: object = None) -> None:
        """Start, then keep running until cancelled, then close: a task of the server's lifespan (which
        passes the app, hence the ignored argument)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self.start)
        except Exception as exc:
            logger.exception("prediction log: cannot start; answers from now on are not logged (counted as dropped)")
            self._stopping = self._failed = True
            _settle([f for _, _, f in self._drain() if f is not None], exc)
            raise
        try:
            await asyncio.Event().wait()
        finally:
            await loop.run_in_executor(None, self.close)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, convert what can be converted within `timeout`, stop. Files the store
        did not take stay in the folder; the next start (of any worker) converts them."""
        if not self._running:
            return
        self.flush(timeout)
        self._stopping = True
        self._wake_writer.set()
        self._wake_converter.set()
        for thread in self._threads:
            thread.join(timeout)
        self._running = False
        self._dir.close(remove=not self._closed_files and self._file is None)

    # the observer ----------------------------------------------------------------------------

    def observe(self, record: LoggedInference) -> asyncio.Future[None] | None:
        """Queue an answered record; in `durable`/`sync` mode the future completes once it is written."""
        if record.status != "ok" or record.outputs is None:
            return None
        if self._stopping:
            if self._failed:  # the log could not start: every answer from now on is a counted loss
                self._counts["dropped"] += 1
            return None
        if len(self._queue) >= self._limit:
            return self._refuse(record)
        future: asyncio.Future[None] | None = None
        # Durable waits even before `start` finished (the lifespan starts the log in the background):
        # the writer settles the future once it runs, so no answer ever goes out unlogged.
        if self._answers_wait and not record.shadow:
            try:
                future = asyncio.get_running_loop().create_future()
            except RuntimeError:  # called outside an event loop: nobody to wait
                future = None
        seq = self._last_seq = next(self._seq)
        self._queue.append((seq, record, future))
        self._dir.set_accepted(seq)
        # Waking the writer costs a lock, so only the first record after it went idle wakes it (the
        # others of this burst find `_idle` cleared); a busy writer looks at the queue again before it
        # sleeps (it sets `_idle` before that look, so a record appended after it is never left waiting).
        if (self._idle and self._answers_wait) or len(self._queue) >= _MAX_DRAIN:
            self._idle = False
            self._wake_writer.set()
        return future

    def _refuse(self, record: LoggedInference) -> asyncio.Future[None] | None:
        self._counts["dropped"] += 1
        self._dir.set_dropped(self._counts["dropped"])
        if not self._answers_wait or record.shadow:
            return None
        try:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        except RuntimeError:
            return None
        future.set_exception(NotReady(record.model, "the prediction log is behind (its queue is full)"))
        return future

    # figures ---------------------------------------------------------------------------------

    def stats(self) -> dict[str, float]:
        """Numbers for the metrics: `queued` (in memory), `unwritten` (accepted, not yet in the write-ahead
        file: what a kill would lose in fast mode), `backlog` (accepted, not yet in a segment),
        `written` (records in segments), `dropped` (queue full or unwritable, each counted), `spilled`
        (records kept on local disk because the store failed), `segments`, `store_errors`, `wal_files`,
        `lost_at_start` (dead workers' records that never reached a WAL), `recovered`, `commits`."""
        queued = len(self._queue)
        waiting = sum(c.records for c in list(self._closed_files))
        return {
            **{k: float(v) for k, v in self._counts.items()},
            "queued": float(queued),
            "unwritten": float(self._last_seq - self._written_seq),
            "backlog": float(queued + waiting + self._in_file),
            "wal_files": float(len(self._closed_files) + (self._file is not None)),
        }

    # flushing --------------------------------------------------------------------------------

    def flush(self, timeout: float = 30.0) -> bool:
        """Put every record accepted so far into the store: write it, close the current WAL file and
        convert the closed ones. True when done within `timeout` (blocking: call it from a thread)."""
        if not self._running:
            return False
        deadline = time.monotonic() + timeout
        upto = self._last_seq
        with self._progress:
            while self._rotated_through < upto:
                self._rotate_requested = True
                self._wake_writer.set()
                if not self._wait(deadline):
                    return False
            for item in self._closed_files:
                item.retry_at = 0.0
            self._wake_converter.set()
            while any(item.first_seq <= upto for item in self._closed_files):
                if not self._wait(deadline):
                    return False
        return True

    def _wait(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        return remaining > 0 and (self._progress.wait(remaining) or time.monotonic() < deadline)

    # writer thread ---------------------------------------------------------------------------

    def _write_loop(self) -> None:
        opened_at = last_sync = time.monotonic()
        wait = 0.05 if self._answers_wait else self.settings.log_fast_write_seconds
        while True:
            # Durable and sync: write as soon as anything is queued (what queues during a write or an fsync
            # forms the next group). Fast: let records gather for `log_fast_write_seconds` unless the queue
            # grows large.
            self._idle = True  # before looking at the queue: see `observe`
            if not self._answers_wait or not self._queue:
                self._wake_writer.wait(wait)
            self._idle = False
            self._wake_writer.clear()
            if self._queue:
                self._write(self._drain())
            now = time.monotonic()
            if self._file is not None and self.mode != "sync" and now - last_sync >= _BACKGROUND_SYNC_SECONDS:
                self._file.sync()
                last_sync = now
            if self._rotate_requested or self._stopping or now - opened_at >= self.settings.log_flush_seconds:
                self._rotate()
                opened_at = now
            if self._stopping and not self._queue:
                return

    def _drain(self) -> list[_Item]:
        queue = self._queue
        return [queue.popleft() for _ in range(min(len(queue), _MAX_DRAIN))]

    def _write(self, items: list[_Item]) -> None:
        error: BaseException | None = None
        try:
            frames, batches = self._frames(items)
            if self._file is None:
                self._file = WalFile(wal_path(self._dir.path, items[0][0]), items[0][0])
            self._file.append(frames)
            if self.mode == "sync":
                self._file.sync()
            self._file.records += len(items)
            self._keep_for_conversion(batches)
            self._in_file += len(items)
            self._counts["commits"] += 1
            self._dir.set_written(items[-1][0])
        except Exception as exc:  # disk full, I/O error: durable and sync refuse, fast counts the loss
            logger.exception("prediction log: cannot write %d records to the write-ahead file", len(items))
            self._counts["dropped"] += len(items)
            self._dir.set_dropped(self._counts["dropped"])
            self._file_batches = None  # part of the write may be in the file: from now on it is the record
            error = exc
        self._written_seq = items[-1][0]
        _settle([f for _, _, f in items if f is not None], error)

    def _keep_for_conversion(self, batches: list[LogBatch]) -> None:
        if self._file_batches is None:
            return
        self._file_batch_bytes += sum(a.nbytes for b in batches for a in (*b.inputs.values(), *b.outputs.values()))
        if self._file_batch_bytes > _MEMORY_BATCH_BYTES:
            self._file_batches = None
        else:
            self._file_batches += batches

    def _frames(self, items: list[_Item]) -> tuple[bytes, list[LogBatch]]:
        batches = []
        for batch in batches_from_records((seq, record) for seq, record, _ in items):
            rule = self._rules.get(batch.model)
            batches.append(redact(batch, rule, self._salt) if rule else batch)
        return b"".join(encode_batch(batch) for batch in batches), batches

    def _rotate(self) -> None:
        with self._progress:
            if self._file is not None:
                self._file.close()
                closed = _Closed(self._file.path, self._file.first_seq, self._file.records, batches=self._file_batches)
                self._closed_files.append(closed)
                self._file, self._file_batches, self._file_batch_bytes = None, [], 0
                self._in_file = 0
                self._wake_converter.set()
            self._rotated_through = max(self._rotated_through, self._written_seq)
            self._rotate_requested = False
            self._progress.notify_all()

    # converter thread ------------------------------------------------------------------------

    def _convert_loop(self) -> None:
        self._recover()
        next_recovery = time.monotonic() + self.settings.log_recover_seconds
        next_rules = time.monotonic() + self.settings.log_settings_refresh_seconds
        while True:
            self._wake_converter.wait(min(self.settings.log_settings_refresh_seconds, 1.0))
            self._wake_converter.clear()
            self._convert_closed()
            now = time.monotonic()
            if now >= next_rules:
                self._refresh_rules(strict=False)
                next_rules = now + self.settings.log_settings_refresh_seconds
            if now >= next_recovery:
                self._recover()
                next_recovery = now + self.settings.log_recover_seconds
            if self._stopping:
                return

    def _convert_closed(self) -> None:
        for item in list(self._closed_files):
            if time.monotonic() < item.retry_at:
                continue
            try:
                converted = convert_wal(item.path, self.worker_id, self.store, batches=item.batches)
                item.path.unlink()
            except Exception as exc:
                self._store_failed(item, exc)
                continue
            with self._progress:
                self._closed_files.remove(item)
                self._counts["written"] += converted.records
                self._counts["segments"] += converted.segments
                self._progress.notify_all()

    def _store_failed(self, item: _Closed, exc: Exception) -> None:
        self._counts["store_errors"] += 1
        item.batches = None  # memory stays bounded while the store is down: the file is read when it is back
        if item.failures == 0:
            self._counts["spilled"] += item.records
        item.failures += 1
        delay = min(2.0 ** (item.failures - 1), _MAX_BACKOFF_SECONDS)
        item.retry_at = time.monotonic() + delay
        logger.warning(
            "prediction log: cannot store %s (%s); %d records kept on local disk, retrying in %.0f s",
            item.path.name,
            exc,
            item.records,
            delay,
        )

    def _recover(self) -> None:
        try:
            reports = recover_dead_workers(self.wal_root, self.worker_id, self.store, self.mode)
        except Exception:
            logger.warning("prediction log: recovering dead workers' files failed; retrying later", exc_info=True)
            return
        for report in reports:
            self.recoveries.append(report)
            self._counts["recovered"] += report.records
            self._counts["lost_at_start"] += report.lost

    def _refresh_rules(self, *, strict: bool) -> None:
        if self._rule_source is None:
            return
        try:
            self._rules = dict(self._rule_source())
        except Exception:
            if strict:
                raise
            logger.warning(
                "prediction log: cannot re-read the redaction settings; keeping the last ones", exc_info=True
            )


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for future in futures:
        by_loop.setdefault(future.get_loop(), []).append(future)
    for loop, group in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_now, group, error)
        except RuntimeError:  # the loop closed meanwhile: nobody is waiting any more
            continue


def _settle_now(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(NotReady("prediction log", f"its write-ahead file cannot be written ({error})"))


__all__ = ["PredictionLog", "RuleSource"]
