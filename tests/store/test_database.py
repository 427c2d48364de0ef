from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from shipyard.errors import ConfigError
from shipyard.store import open_database


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    first = open_database(db_url)
    second = open_database(db_url)  # a second start finds the schema current and changes nothing
    tables = set(inspect(second.engine).get_table_names())
    assert {
        "registered_models",
        "model_versions",
        "model_aliases",
        "model_approvals",
        "audit_events",
        "alembic_version",
    } <= tables
    first.close()
    second.close()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.close()


def test_unreachable_postgres_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SHIPYARD_DB_URL"):
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_garbage_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SHIPYARD_DB_URL"):
        open_database("::not a url::")
