"""Audit records of refused requests and keys' last use while the database is down: spilled to local
disk, written once it is back, each once; and the database's absence is a 503 naming it, not a 500."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text

from shipyard.config import SecuritySettings
from shipyard.errors import DatabaseUnavailable, Unauthorized
from shipyard.security import trail
from shipyard.security.authenticator import Authenticator
from shipyard.security.keys import KeyService
from shipyard.serving.grpc_server import grpc_status
from shipyard.serving.http_errors import http_status
from shipyard.store import Database, create_db_engine, list_events
from shipyard.store.spill import SpillFile

from .._services import free_port


def test_refusals_wait_on_disk_while_the_database_is_down(
    db: Database, keys: KeyService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info, key = keys.create("app", ["predictor"], actor="alice")
    spill = SpillFile(tmp_path / "spill", "audit")
    auth = Authenticator(db, SecuritySettings(), spill=spill)
    real_apply = trail.apply_records

    def down(database: Database, records: list[trail.Record]) -> None:
        raise DatabaseUnavailable(database.dialect, "connection refused")

    async def scenario() -> None:
        await auth.refresh()
        await auth.authenticate(f"Bearer {key}")
        monkeypatch.setattr(trail, "apply_records", down)
        for _ in range(3):
            with pytest.raises(Unauthorized):
                await auth.authenticate("Bearer sy_0123456789ab_" + "a" * 43, source="10.0.0.9", what="GET /v2")
        await auth.flush(force=True)  # the failures and the key's last use
        assert spill.pending == 2 and not await_written()
        assert await auth._trail.replay() == 0  # still down: nothing lost, nothing written
        monkeypatch.setattr(trail, "apply_records", real_apply)
        assert auth._trail.due()
        assert await auth._trail.replay() == 2
        assert not auth._trail.due()

    def await_written() -> bool:
        with db.read() as session:
            return bool(list_events(session, action="auth.failed"))

    asyncio.run(scenario())
    with db.read() as session:
        (event,) = list_events(session, action="auth.failed")
    assert event.source == "10.0.0.9" and event.after is not None and event.after["count"] == 3
    assert keys.get(info.id).last_used_at is not None
    assert list((tmp_path / "spill").glob("*.jsonl")) == []


def test_records_written_twice_change_nothing(db: Database, keys: KeyService) -> None:
    info, _ = keys.create("app", ["predictor"], actor="alice")
    later = datetime(2030, 1, 1, tzinfo=UTC)
    used = {"kind": "key.used", "key": "u1", "at": later.isoformat(), "key_ids": [info.id]}
    older = {**used, "key": "u0", "at": (later - timedelta(days=1)).isoformat()}
    event = {
        "kind": "audit",
        "key": "a1",
        "at": later.isoformat(),
        "actor": "x",
        "action": "auth.denied",
        "target": "t",
    }
    for _ in range(2):
        trail.apply_records(db, [used, event])
    trail.apply_records(db, [older])  # a replay of an older record never moves the time back
    assert keys.get(info.id).last_used_at == later
    with db.read() as session:
        assert len(list_events(session, action="auth.denied")) == 1


def test_without_a_spill_file_a_failed_write_is_logged(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(trail, "apply_records", lambda db, records: (_ for _ in ()).throw(OSError("down")))
    asyncio.run(trail.AuthTrail(sqlite_db).write([{"kind": "audit", "key": "k"}]))
    assert "lost 1 audit record(s)" in caplog.text


def test_an_unreachable_database_is_database_unavailable() -> None:
    database = Database(create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"))
    try:
        with pytest.raises(DatabaseUnavailable) as info, database.read() as session:
            session.execute(text("SELECT 1"))
    finally:
        database.close()
    message = str(info.value)
    assert "metadata database (postgresql) cannot be reached" in message and "retry" in message
    assert "\n" not in message and "Traceback" not in message
    assert http_status(info.value) == 503 and grpc_status(info.value) == grpc.StatusCode.UNAVAILABLE
