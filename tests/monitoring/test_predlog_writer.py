"""The prediction log's writer: durable, sync and fast modes, spill and catch-up, drops, recovery, losses."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.config import MonitoringSettings
from shipyard.errors import NotReady
from shipyard.monitoring.predlog import PredictionLog, Redaction, SegmentStore, read_log
from shipyard.monitoring.predlog.segments import convert_wal
from shipyard.monitoring.predlog.wal import WalFile, wal_files

from ._records import columns, tabular

_append, _sync = WalFile.append, WalFile.sync
FAST_TEST = {"log_flush_seconds": 0.2, "log_recover_seconds": 0.2, "log_settings_refresh_seconds": 0.1}


class FlakyStore(SegmentStore):
    """A store that refuses every write while `down` (a store outage)."""

    down = False

    def put(self, folder: str, name: str, data: bytes) -> None:
        if self.down:
            raise ConnectionError("store unreachable")
        super().put(folder, name, data)


@pytest.fixture
def store(tmp_path: Path) -> FlakyStore:
    return FlakyStore(str(tmp_path / "predictions"))


def _log(tmp_path: Path, store: SegmentStore, mode: str = "durable", **overrides: Any) -> PredictionLog:
    settings = MonitoringSettings(log_mode=mode, **{**FAST_TEST, **overrides})  # type: ignore[arg-type]
    return PredictionLog(settings, store, tmp_path / "wal")


@pytest.fixture
def durable(tmp_path: Path, store: FlakyStore) -> Iterator[PredictionLog]:
    log = _log(tmp_path, store)
    log.start()
    yield log
    log.close(timeout=5)


async def _answer(log: PredictionLog, records: list[Any]) -> None:
    waits = [w for w in (log.observe(r) for r in records) if w is not None]
    await asyncio.gather(*waits)


def test_durable_answers_after_the_write_and_everything_reaches_the_store(durable: PredictionLog) -> None:
    records = [tabular(f"r{i}", [[float(i), 1.0]]) for i in range(200)]
    asyncio.run(_answer(durable, records))
    stats = durable.stats()
    assert stats["queued"] == 0 and stats["backlog"] == 200  # on disk, not yet a segment
    assert stats["commits"] < 200  # group commit: many records per fsync
    assert durable.flush(10)
    table = read_log(durable.store.location, "churn", since="1h")
    assert sorted(table.column("request_id").to_pylist()) == sorted(r.request_id for r in records)
    assert durable.stats()["written"] == 200 and durable.stats()["backlog"] == 0


@pytest.mark.parametrize(("mode", "fsynced_before_answer"), [("durable", False), ("sync", True)])
def test_what_each_waiting_mode_has_done_before_it_answers(
    tmp_path: Path, store: FlakyStore, monkeypatch: pytest.MonkeyPatch, mode: str, fsynced_before_answer: bool
) -> None:
    """Both answer only once the record is in the write-ahead file (it survives the process); only `sync`
    also waits for the fsync (it survives the machine)."""
    events: list[str] = []
    monkeypatch.setattr(WalFile, "append", lambda self, data: (events.append("write"), _append(self, data))[1])
    monkeypatch.setattr(WalFile, "sync", lambda self: (events.append("fsync"), _sync(self))[1])
    log = _log(tmp_path, store, mode)
    log.start()
    try:

        async def answered() -> list[str]:
            wait = log.observe(tabular("r1", [[1.0, 2.0]]))
            assert wait is not None
            await wait
            return list(events)

        seen = asyncio.run(answered())
    finally:
        log.close(timeout=5)
    assert seen[0] == "write"
    assert ("fsync" in seen) is fsynced_before_answer


def test_failed_and_shadow_records(durable: PredictionLog) -> None:
    failed = tabular("bad", [[1.0, 2.0]])
    failed.status, failed.outputs = "ValidationFailed", None
    assert durable.observe(failed) is None  # not answered: nothing to log

    async def shadow() -> Any:
        return durable.observe(tabular("s", [[1.0, 2.0]], shadow=True, arm="shadow:v2"))

    assert asyncio.run(shadow()) is None  # nobody waits for a shadow copy, but it is logged
    assert durable.flush(10)
    assert read_log(durable.store.location, "churn", since="1h").num_rows == 0
    table = read_log(durable.store.location, "churn", since="1h", include_shadow=True)
    assert table.column("shadow").to_pylist() == [True] and table.column("arm").to_pylist() == ["shadow:v2"]


def test_store_outage_spills_to_local_files_and_catches_up(durable: PredictionLog, store: FlakyStore) -> None:
    store.down = True
    asyncio.run(_answer(durable, [tabular(f"a{i}", [[1.0, 2.0]]) for i in range(30)]))
    assert not durable.flush(1.0)  # answered and on local disk, but the store refuses
    stats = durable.stats()
    assert stats["spilled"] == 30 and stats["store_errors"] >= 1 and stats["backlog"] == 30
    assert wal_files(durable.wal_root / durable.worker_id)
    asyncio.run(_answer(durable, [tabular(f"b{i}", [[1.0, 2.0]]) for i in range(10)]))  # serving goes on
    store.down = False
    assert durable.flush(10)
    ids = read_log(store.location, "churn", since="1h").column("request_id").to_pylist()
    assert sorted(ids) == sorted([f"a{i}" for i in range(30)] + [f"b{i}" for i in range(10)])
    assert durable.stats()["backlog"] == 0


def test_a_full_queue_drops_in_fast_mode_and_refuses_in_durable(tmp_path: Path, store: FlakyStore) -> None:
    fast = _log(tmp_path / "f", store, "fast", log_queue_size=5)  # not started: nothing drains the queue
    assert all(fast.observe(tabular(f"f{i}", [[1.0, 2.0]])) is None for i in range(8))
    assert fast.stats()["dropped"] == 3 and fast.stats()["queued"] == 5
    durable = _log(tmp_path / "d", store, "durable", log_queue_size=2)

    async def overflow() -> None:
        waits = [durable.observe(tabular(f"d{i}", [[1.0, 2.0]])) for i in range(3)]
        assert waits[2] is not None
        with pytest.raises(NotReady, match="queue is full"):
            await waits[2]
        for wait in waits[:2]:
            assert wait is not None
            wait.cancel()

    asyncio.run(overflow())
    assert durable.stats()["dropped"] == 1


def test_redaction_applies_before_the_write_ahead_file(tmp_path: Path, store: FlakyStore) -> None:
    rules = {"towns": Redaction.of(drop=["age"], hash=["city"])}
    settings = MonitoringSettings(log_mode="fast", **FAST_TEST)  # type: ignore[arg-type]
    log = PredictionLog(settings, store, tmp_path / "wal", rules=lambda: rules, salt=b"s")
    log.start()
    try:
        log.observe(columns("c", ["paris"], [44]))
        assert log.flush(10)
    finally:
        log.close(5)
    inputs = read_log(store.location, "towns", since="1h").column("inputs").to_pylist()
    assert list(inputs[0]) == ["city"] and len(inputs[0]["city"]) == 64
    assert b"paris" not in b"".join(p.read_bytes() for p in (tmp_path / "predictions").rglob("*.parquet"))


def test_converting_a_file_twice_never_duplicates(tmp_path: Path, store: FlakyStore) -> None:
    log = _log(tmp_path, store, "fast", log_flush_seconds=3600)
    log.start()
    for i in range(20):
        log.observe(tabular(f"r{i}", [[1.0, 2.0], [3.0, 4.0]]))
    deadline = time.monotonic() + 10
    while log.stats()["unwritten"] and time.monotonic() < deadline:
        time.sleep(0.01)
    [wal] = wal_files(tmp_path / "wal" / log.worker_id)
    convert_wal(wal, log.worker_id, store)  # as if the worker died after storing, before deleting the file
    assert log.flush(10)  # converts the same file again
    log.close(5)
    table = read_log(store.location, "churn", since="1h")
    assert (
        table.num_rows == 40
        and len(set(zip(table["request_id"].to_pylist(), table["row"].to_pylist(), strict=True))) == 40
    )


_CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    sys.path.insert(0, {tests!r})
    from shipyard.config import MonitoringSettings
    from shipyard.monitoring.predlog import PredictionLog, SegmentStore
    from monitoring._records import tabular
    log = PredictionLog(MonitoringSettings(log_mode="fast", log_fast_write_seconds=1.0, log_flush_seconds=3600),
                        SegmentStore({store!r}), __import__("pathlib").Path({wal!r}))
    log.start()
    for i in range(100):
        log.observe(tabular(f"w{{i}}", [[1.0, 2.0]]))
    while log.stats()["unwritten"]:
        time.sleep(0.01)
    for i in range(37):  # accepted (answered, in fast mode) but still in memory when the process dies
        log.observe(tabular(f"x{{i}}", [[1.0, 2.0]]))
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_fast_mode_reports_exactly_what_a_killed_worker_lost(tmp_path: Path, store: FlakyStore) -> None:
    script = _CHILD.format(tests=str(Path(__file__).parents[1]), store=store.location, wal=str(tmp_path / "wal"))
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    survivor = _log(tmp_path, store, "fast")
    survivor.start()  # recovers the dead worker's folder first thing
    try:
        deadline = time.monotonic() + 20
        while not survivor.recoveries and time.monotonic() < deadline:
            time.sleep(0.02)
        [report] = survivor.recoveries
        assert (report.records, report.lost) == (100, 37)
        assert "37 records were lost" in report.describe("fast")
        assert survivor.stats()["lost_at_start"] == 37
    finally:
        survivor.close(5)
    assert read_log(store.location, "churn", since="1h").num_rows == 100
    assert [p.name for p in (tmp_path / "wal").iterdir()] == []  # the dead folder is gone, and ours too


def test_a_live_workers_folder_is_never_recovered(tmp_path: Path, store: FlakyStore) -> None:
    first = _log(tmp_path, store, "fast", log_flush_seconds=3600)
    first.start()
    first.observe(tabular("mine", [[1.0, 2.0]]))
    second = _log(tmp_path, store, "fast")
    second.start()
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # several recovery rounds of the second worker
            assert not second.recoveries
            time.sleep(0.05)
        assert (tmp_path / "wal" / first.worker_id).is_dir()
    finally:
        second.close(5)
        first.close(5)
    assert read_log(store.location, "churn", since="1h").column("request_id").to_pylist() == ["mine"]
    assert os.listdir(tmp_path / "wal") == []


def test_a_log_that_cannot_start_refuses_what_waits_and_counts_the_rest(tmp_path: Path, store: FlakyStore) -> None:
    def unreadable() -> dict[str, Redaction]:
        raise ConnectionError("database down")

    settings = MonitoringSettings(log_mode="durable", **FAST_TEST)  # type: ignore[arg-type]
    log = PredictionLog(settings, store, tmp_path / "wal", rules=unreadable)

    async def scenario() -> None:
        waiting = log.observe(tabular("early", [[1.0, 2.0]]))  # answered only once logged…
        with pytest.raises(ConnectionError):
            await log.run()
        assert waiting is not None
        with pytest.raises(NotReady, match="write-ahead file cannot be written"):
            await waiting  # …so it is refused (503), not answered unlogged
        assert log.observe(tabular("late", [[1.0, 2.0]])) is None

    asyncio.run(scenario())
    assert log.stats()["dropped"] == 1


def test_large_inputs_are_converted_from_the_file_not_kept_in_memory(
    tmp_path: Path, store: FlakyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the memory budget of a file (large tensors) the converter reads the write-ahead file: the
    same rows reach the store either way."""
    monkeypatch.setattr("shipyard.monitoring.predlog.writer._MEMORY_BATCH_BYTES", 1000)  # a record is ~2,000
    given: list[object] = []

    def converting(path: Path, worker: str, store: SegmentStore, *, batches: object = None) -> object:
        given.append(batches)
        return convert_wal(path, worker, store, batches=batches)  # type: ignore[arg-type]

    monkeypatch.setattr("shipyard.monitoring.predlog.writer.convert_wal", converting)
    log = _log(tmp_path, store)
    log.start()
    try:
        asyncio.run(_answer(log, [tabular(f"big{i}", [[float(i), 1.0]] * 50) for i in range(4)]))
        assert log.flush(10)
    finally:
        log.close(timeout=5)
    assert given and all(batches is None for batches in given)
    table = read_log(store.location, "churn", since="1h")
    assert table.num_rows == 200 and sorted(set(table.column("request_id").to_pylist())) == [
        f"big{i}" for i in range(4)
    ]
