"""Apply Alembic migrations programmatically, once, even when many processes start together."""

from __future__ import annotations

import hashlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import Connection, Engine, text

_MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed 64-bit number: the PostgreSQL advisory lock that serialises migrations across replicas.
_PG_MIGRATION_LOCK = int.from_bytes(hashlib.sha256(b"shipyard-migrations").digest()[:7], "big")


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_to_head(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            try:
                command.upgrade(alembic_config(conn), "head")
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with FileLock(database + ".migrate.lock"), engine.connect() as conn:
            command.upgrade(alembic_config(conn), "head")
            conn.commit()
        return
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), "head")
        conn.commit()


__all__ = ["alembic_config", "upgrade_to_head"]
