"""API keys in the database: created with roles, scope and expiry; shown once; hashed; revoked; audited."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from shipyard.errors import KeyNotFound, ValidationFailed
from shipyard.security.keys import KeyService, hash_secret, parse_api_key, parse_expiry
from shipyard.security.permissions import Role
from shipyard.store import Database, list_events
from shipyard.store.tables import ApiKeyRow, AuditEventRow, Base

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_the_migrations_create_exactly_the_tables_the_code_declares(db: Database) -> None:
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_create_returns_the_key_once_and_stores_only_its_hash(db: Database, keys: KeyService) -> None:
    info, plaintext = keys.create("churn-app", ["predictor"], actor="alice")
    key_id, secret = parse_api_key(plaintext) or ("", "")
    assert key_id == info.id and len(info.id) == 12 and len(secret) >= 43
    assert plaintext == f"sy_{info.id}_{secret}"
    with db.read() as session:
        row = session.get(ApiKeyRow, info.id)
        assert row is not None
        stored = json.dumps([getattr(row, c.key) for c in ApiKeyRow.__table__.columns], default=str)
        events = json.dumps([e.to_dict() for e in list_events(session)])
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest() == hash_secret(secret)
    assert secret not in stored and secret not in events and row.secret_hash not in events
    assert info.roles == (Role.PREDICTOR,) and info.scope is None and info.status() == "active"
    assert "secret" not in json.dumps(info.to_dict()) and secret not in repr(info)


def test_two_keys_never_share_an_id_or_a_secret(keys: KeyService) -> None:
    made = [keys.create(f"k{i}", ["viewer"], actor="alice")[1] for i in range(20)]
    assert len(set(made)) == 20 and len({parse_api_key(m) for m in made}) == 20


def test_list_shows_active_keys_and_all_with_include_revoked(keys: KeyService) -> None:
    first, _ = keys.create("one", ["viewer"], actor="alice")
    second, _ = keys.create("two", ["deployer", "predictor"], scope=["churn", "fraud"], actor="alice")
    keys.revoke(first.id, actor="bob")
    assert [k.id for k in keys.list()] == [second.id]
    listed = {k.id: k for k in keys.list(include_revoked=True)}
    assert set(listed) == {first.id, second.id}
    assert listed[first.id].status() == "revoked" and listed[first.id].revoked_by == "bob"
    assert listed[second.id].roles == (Role.DEPLOYER, Role.PREDICTOR)
    assert listed[second.id].scope == ("churn", "fraud")
    assert keys.count() == 2


def test_revoke_is_audited_once_and_revoking_again_changes_nothing(db: Database, keys: KeyService) -> None:
    info, _ = keys.create("app", ["predictor"], actor="alice")
    revoked = keys.revoke(info.id, actor="bob", source="10.0.0.9")
    again = keys.revoke(info.id, actor="carol")
    assert again.revoked_at == revoked.revoked_at and again.revoked_by == "bob"
    with db.read() as session:
        events = list_events(session, target_prefix=f"key:{info.id}")
    assert [(e.action, e.actor) for e in events] == [("key.revoke", "bob"), ("key.create", "alice")]
    assert events[0].source == "10.0.0.9" and events[0].before == {"revoked_at": None}
    assert events[1].after == {"name": "app", "roles": ["predictor"], "scope": None, "expires_at": None}


def test_unknown_key_is_not_found(keys: KeyService) -> None:
    with pytest.raises(KeyNotFound, match="keys list"):
        keys.revoke("0123456789ab", actor="alice")
    with pytest.raises(KeyNotFound):
        keys.get("nope")


def test_expiry_is_kept_and_reported(keys: KeyService, db: Database) -> None:
    past = KeyService(db, clock=lambda: NOW - timedelta(days=2))
    expired, _ = past.create("old", ["viewer"], expires_at=NOW - timedelta(days=1), actor="alice")
    fresh, _ = keys.create("new", ["viewer"], expires_at=datetime.now(UTC) + timedelta(days=30), actor="alice")
    assert keys.get(expired.id).status() == "expired"
    assert keys.get(fresh.id).status() == "active"
    assert keys.get(fresh.id).expires_at == fresh.expires_at
    naive = keys.create("naive", ["viewer"], expires_at=datetime(2999, 1, 1), actor="alice")[0]
    assert naive.expires_at == datetime(2999, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"roles": ["boss"]}, "roles", "unknown role 'boss'"),
        ({"roles": []}, "roles", "at least one role"),
        ({"name": "  "}, "name", "must not be empty"),
        ({"name": "x" * 200}, "name", "at most 128"),
        ({"name": "bad\nname"}, "name", "printable"),
        ({"scope": []}, "scope", "empty scope"),
        ({"scope": ["churn", "../etc"]}, "scope", "'../etc' is not a model or deployment name"),
        ({"expires_at": datetime(2000, 1, 1, tzinfo=UTC)}, "expires_at", "in the past"),
        ({"description": "x" * 2000}, "description", "at most 1000"),
    ],
)
def test_bad_input_names_the_field(keys: KeyService, kwargs: dict[str, object], field: str, text: str) -> None:
    args: dict[str, object] = {"name": "app", "roles": ["viewer"], **kwargs}
    with pytest.raises(ValidationFailed) as info:
        keys.create(actor="alice", **args)  # type: ignore[arg-type]
    assert info.value.problems[0][0] == field and text in info.value.problems[0][1]


def test_a_rejected_key_leaves_nothing_behind(db: Database, keys: KeyService) -> None:
    with pytest.raises(ValidationFailed):
        keys.create("app", ["boss"], actor="alice")
    with db.read() as session:
        assert session.scalars(select(ApiKeyRow)).all() == []
        assert session.scalars(select(AuditEventRow)).all() == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sy_",
        "sy_0123456789ab",
        "sy_0123456789ab_short",
        "sy_0123456789AB_" + "a" * 43,
        "sy_0123456789a_" + "a" * 43,
        "xx_0123456789ab_" + "a" * 43,
        "sy_0123456789ab_" + "a" * 42 + "!",
        "sy_0123456789ab_" + "a" * 500,
    ],
)
def test_malformed_keys_do_not_parse(text: str) -> None:
    assert parse_api_key(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", NOW + timedelta(days=30)),
        ("12h", NOW + timedelta(hours=12)),
        ("90m", NOW + timedelta(minutes=90)),
        ("2w", NOW + timedelta(weeks=2)),
        ("2026-12-31", datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2026-12-31T08:00:00+02:00", datetime(2026, 12, 31, 6, tzinfo=UTC)),
    ],
)
def test_expiry_parsing(text: str, expected: datetime) -> None:
    assert parse_expiry(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "soon", "0d", "-3d", "30y", "2026-13-01", "1000000d"])
def test_bad_expiry_names_the_field(text: str) -> None:
    with pytest.raises(ValidationFailed, match="expires"):
        parse_expiry(text, NOW)


def test_the_last_active_admin_key_cannot_be_revoked(db_url: str) -> None:
    from shipyard.errors import Conflict
    from shipyard.security.keys import KeyService
    from shipyard.store import open_database

    service = KeyService(open_database(db_url))
    first, _ = service.create("first", ["admin"], actor="alice")
    viewer, _ = service.create("viewer", ["viewer"], actor="alice")
    with pytest.raises(Conflict, match="last active admin key"):
        service.revoke(first.id, actor="alice")
    second, _ = service.create("second", ["admin", "viewer"], actor="alice")
    assert service.revoke(first.id, actor="alice").status() == "revoked"
    assert service.revoke(viewer.id, actor="alice").status() == "revoked"
    with pytest.raises(Conflict):
        service.revoke(second.id, actor="alice")
