"""The spill file: records that must reach the database wait on local disk, are replayed once, and
survive the process that wrote them; keyed audit events are stored once however often they are written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shipyard.store import list_events, open_database, record_keyed_events
from shipyard.store.spill import SpillFile


def record(n: int) -> dict[str, Any]:
    return {"key": f"k{n}", "value": n}


def test_append_writes_json_lines_and_replay_hands_them_over_once(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "spill", "audit")
    spill.append([record(1), record(2)])
    spill.append([record(3)])
    (segment,) = (tmp_path / "spill").glob("audit-*.jsonl")
    assert [json.loads(line)["key"] for line in segment.read_text().splitlines()] == ["k1", "k2", "k3"]
    assert spill.pending == 3
    applied: list[list[dict[str, Any]]] = []
    assert spill.replay(applied.append) == 3
    assert applied == [[record(1), record(2), record(3)]]
    assert list((tmp_path / "spill").glob("audit-*")) == [] and spill.pending == 0
    assert spill.replay(applied.append) == 0 and len(applied) == 1  # nothing twice


def test_a_failing_apply_keeps_every_record_for_the_next_replay(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path, "audit")
    spill.append([record(1)])

    def down(records: list[dict[str, Any]]) -> None:
        raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        spill.replay(down)
    spill.append([record(2)])  # appends go on meanwhile, into a new segment
    applied: list[dict[str, Any]] = []
    assert spill.replay(applied.extend) == 2
    assert sorted(r["key"] for r in applied) == ["k1", "k2"]
    assert list(tmp_path.glob("audit-*")) == []


def test_segments_of_a_stopped_process_are_adopted_not_those_of_a_live_one(tmp_path: Path) -> None:
    # flock locks belong to open files, so two SpillFiles in one process behave like two processes.
    live, stopped, replayer = (SpillFile(tmp_path, "audit") for _ in range(3))
    live.append([record(1)])
    stopped.append([record(2)])
    stopped.close()  # its lock is gone, as when a worker dies
    assert replayer.has_orphans()
    applied: list[dict[str, Any]] = []
    assert replayer.replay(applied.extend) == 1
    assert applied == [record(2)]
    assert live.replay(applied.extend) == 1 and applied[-1] == record(1)
    assert not replayer.has_orphans()


def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "audit-1-dead-1.jsonl").write_bytes(b'{"key": "k1"}\n{"key": "k2"}\n{"key": "k')
    applied: list[dict[str, Any]] = []
    assert SpillFile(tmp_path, "audit").replay(applied.extend) == 2
    assert [r["key"] for r in applied] == ["k1", "k2"]
    assert "cut short" in caplog.text


@pytest.mark.parametrize("name", ["", "a-b", "a/b"])
def test_a_spill_name_is_a_plain_word(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="plain word"):
        SpillFile(tmp_path, name)


def test_keyed_events_are_stored_once(db_url: str) -> None:
    db = open_database(db_url)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).isoformat()
    events = [
        {"key": f"e{i}", "at": at, "actor": "anonymous", "action": "auth.failed", "target": "key:x", "after": {"i": i}}
        for i in range(3)
    ]
    try:
        with db.write() as session:
            assert record_keyed_events(session, events + events[:1]) == 3  # a key twice in one batch: once
        with db.write() as session:
            assert record_keyed_events(session, events[1:] + [{**events[0], "key": "e9"}]) == 1  # a replay
        with db.read() as session:
            stored = list_events(session, action="auth.failed")
    finally:
        db.close()
    assert len(stored) == 4
    assert {e.at.astimezone(UTC).isoformat() for e in stored} == {at}  # the time it happened, not of the write
