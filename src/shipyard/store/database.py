"""The metadata database: engine set-up per dialect, migrations on open, transactions.

SQLite (the zero-infrastructure default) runs in WAL mode and takes its write lock at the start
of a write transaction (`BEGIN IMMEDIATE`), so two processes registering at once queue on the
lock instead of failing with "database is locked" halfway through. PostgreSQL needs nothing
special: row locks do the same job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from ..errors import ConfigError, DatabaseUnavailable
from .migrate import upgrade_to_head

logger = logging.getLogger(__name__)

_SQLITE_BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event (below) emit BEGIN instead of the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "DEFERRED" if conn.get_execution_options().get("shipyard_readonly") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_db_engine(url: str) -> Engine:
    """An engine for `url`, with the SQLite settings above when it is SQLite."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError("SHIPYARD_DB_URL", f"{url!r} is not a database URL") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """Owns the engine. `write()` and `read()` give a session inside one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(engine.execution_options(shipyard_readonly=True), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._reachable(), self._write.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reachable(), self._read.begin() as session:
            yield session

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        # A database that is down, restarting or out of connections is the caller's to retry (HTTP 503),
        # not an internal error: say so, in one line, without the driver's traceback.
        try:
            yield
        except (OperationalError, InterfaceError, DisconnectionError, PoolTimeout) as exc:
            orig = getattr(exc, "orig", None)
            reason = (str(orig or exc).strip().splitlines() or ["unknown error"])[0]
            raise DatabaseUnavailable(self.dialect, reason) from exc

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database(url={self.engine.url.render_as_string(hide_password=True)!r})"


def open_database(url: str) -> Database:
    """Connect to `url` and bring its schema up to date (Alembic migrations, applied once under a lock)."""
    engine = create_db_engine(url)
    try:
        upgrade_to_head(engine)
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError("SHIPYARD_DB_URL", f"cannot open the database: {reason}") from exc
    return Database(engine)


__all__ = ["Database", "create_db_engine", "open_database"]
