"""API keys: created with roles, an optional scope and expiry; shown once; stored only as a hash; revoked.

A key reads `sy_<id>_<secret>`. The id is public (lists, logs, audit events name it); the secret is
32 random bytes that only the caller ever sees. Every change writes an audit event in the same
transaction (`key.create`, `key.revoke`), and no event holds a secret or its hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import Conflict, KeyNotFound, ValidationFailed
from ..registry.uri import NAME_PATTERN
from ..store import Database, record_event
from ..store.tables import ApiKeyRow, utcnow
from .permissions import Role

KEY_PREFIX = "sy_"
_ID_HEX_DIGITS = 12
_KEY_PATTERN = re.compile(r"^sy_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{32,128})$")
_DURATION = re.compile(r"^(?P<n>[1-9][0-9]{0,5})(?P<unit>[mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_MAX_NAME = 128
_MAX_DESCRIPTION = 1000
_ROLE_NAMES = frozenset(r.value for r in Role)


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime; a naive one is taken to be UTC already (SQLite returns those)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def hash_secret(secret: str) -> str:
    # A fast hash is right here: the secret is 256 random bits, so there is nothing to brute-force,
    # and a slow password hash would add its cost to every authenticated request.
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_api_key(text: str) -> tuple[str, str] | None:
    """`sy_<id>_<secret>` → (id, secret); None when `text` is not shaped like a Shipyard key."""
    match = _KEY_PATTERN.match(text)
    return (match["id"], match["secret"]) if match else None


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """`30d`, `12h`, `90m`, `2w`, a date (`2026-12-31`, end of that day UTC) or an ISO datetime → UTC datetime."""
    now = now or utcnow()
    value = text.strip()
    duration = _DURATION.match(value)
    if duration:
        return now + timedelta(**{_UNITS[duration["unit"]]: int(duration["n"])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            [("expires", f"{text!r} is neither a duration (30d, 12h, 90m, 2w) nor a date (2026-12-31)")]
        ) from None
    if len(value) == 10:  # a bare date: the key works through that whole day
        parsed = parsed + timedelta(days=1) - timedelta(microseconds=1)
    return as_utc(parsed)


@dataclass(frozen=True)
class ApiKeyInfo:
    """Everything about a key except its secret."""

    id: str
    name: str
    roles: tuple[Role, ...]
    scope: tuple[str, ...] | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_used_at: datetime | None = None
    description: str | None = None

    def status(self, now: datetime | None = None) -> str:
        """`active`, `expired` or `revoked`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "roles": [r.value for r in self.roles],
            "scope": list(self.scope) if self.scope is not None else None,
            "status": self.status(),
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "revoked_by": self.revoked_by,
            "last_used_at": iso(self.last_used_at),
        }

    def __repr__(self) -> str:
        return f"ApiKeyInfo(id={self.id!r}, name={self.name!r}, roles={[r.value for r in self.roles]})"


KeyList: TypeAlias = list[ApiKeyInfo]


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    def aware(value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        description=row.description,
        roles=tuple(Role(r) for r in row.roles),
        scope=tuple(row.scope) if row.scope is not None else None,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
        expires_at=aware(row.expires_at),
        revoked_at=aware(row.revoked_at),
        revoked_by=row.revoked_by,
        last_used_at=aware(row.last_used_at),
    )


def _clean_roles(roles: Iterable[str]) -> tuple[Role, ...]:
    names = list(roles)
    unknown = [r for r in names if r not in _ROLE_NAMES]
    if unknown:
        raise ValidationFailed(
            [("roles", f"unknown role {unknown[0]!r}; choose from {', '.join(r.value for r in Role)}")]
        )
    if not names:
        raise ValidationFailed([("roles", f"give at least one role ({', '.join(r.value for r in Role)})")])
    return tuple(r for r in Role if r.value in names)


def _clean_scope(scope: Iterable[str] | None) -> tuple[str, ...] | None:
    if scope is None:
        return None
    names = list(dict.fromkeys(scope))
    if not names:
        raise ValidationFailed([("scope", "an empty scope allows no model; leave it out to allow every model")])
    for name in names:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValidationFailed(
                [("scope", f"{name!r} is not a model or deployment name (letters, digits, '_', '.', '-')")]
            )
    return tuple(names)


def _clean_name(value: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed([("name", "must not be empty; say who or what uses the key, e.g. churn-app")])
    if len(text) > _MAX_NAME or not text.isprintable():
        raise ValidationFailed([("name", f"must be printable text of at most {_MAX_NAME} characters")])
    return text


def _clean_description(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > _MAX_DESCRIPTION or not text.isprintable():
        raise ValidationFailed([("description", f"must be printable text of at most {_MAX_DESCRIPTION} characters")])
    return text or None


class KeyService:
    """Create, list and revoke API keys in the metadata database.

    `create` returns the plaintext key once; only its sha256 is stored, so a lost key cannot be
    shown again, only revoked and replaced.
    """

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    def create(
        self,
        name: str,
        roles: Iterable[str],
        scope: Iterable[str] | None = None,
        expires_at: datetime | None = None,
        *,
        actor: str,
        description: str | None = None,
        source: str | None = None,
    ) -> tuple[ApiKeyInfo, str]:
        """A new key: (its description, the plaintext `sy_<id>_<secret>` to hand to the caller once)."""
        with self._db.write() as session:
            return self.create_in(
                session, name, roles, scope, expires_at, actor=actor, description=description, source=source
            )

    def create_in(
        self,
        session: Session,
        name: str,
        roles: Iterable[str],
        scope: Iterable[str] | None = None,
        expires_at: datetime | None = None,
        *,
        actor: str,
        description: str | None = None,
        source: str | None = None,
    ) -> tuple[ApiKeyInfo, str]:
        """`create` inside the caller's transaction (first-start bootstrap writes the key file in it)."""
        now = self._clock()
        clean_name, clean_roles, clean_scope = _clean_name(name), _clean_roles(roles), _clean_scope(scope)
        if expires_at is not None:
            expires_at = as_utc(expires_at)
            if expires_at <= now:
                raise ValidationFailed([("expires_at", f"{expires_at.isoformat()} is in the past")])
        key_id, secret = secrets.token_hex(_ID_HEX_DIGITS // 2), secrets.token_urlsafe(32)
        row = ApiKeyRow(
            id=key_id,
            name=clean_name,
            description=_clean_description(description),
            secret_hash=hash_secret(secret),
            roles=[r.value for r in clean_roles],
            scope=list(clean_scope) if clean_scope is not None else None,
            created_at=now,
            created_by=actor,
            expires_at=expires_at,
        )
        session.add(row)
        session.flush()
        info = _info(row)
        after = {k: v for k, v in info.to_dict().items() if k in ("name", "roles", "scope", "expires_at")}
        record_event(session, actor=actor, action="key.create", target=f"key:{key_id}", after=after, source=source)
        return info, f"{KEY_PREFIX}{key_id}_{secret}"

    def get(self, key_id: str) -> ApiKeyInfo:
        with self._db.read() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                raise KeyNotFound(key_id)
            return _info(row)

    def revoke(self, key_id: str, *, actor: str, source: str | None = None) -> ApiKeyInfo:
        """Revoke a key for good; every worker refuses it within about a second. Revoking twice changes nothing."""
        with self._db.write() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                raise KeyNotFound(key_id)
            if row.revoked_at is None:
                self._keep_an_admin(session, row)
                row.revoked_at, row.revoked_by = self._clock(), actor
                record_event(
                    session,
                    actor=actor,
                    action="key.revoke",
                    target=f"key:{key_id}",
                    before={"revoked_at": None},
                    after={"revoked_at": as_utc(row.revoked_at).isoformat()},
                    source=source,
                )
            return _info(row)

    def _keep_an_admin(self, session: Session, row: ApiKeyRow) -> None:
        """Refuse to revoke the last usable admin key: nobody could create keys any more."""
        if Role.ADMIN.value not in (row.roles or []):
            return
        now = self._clock()
        admins = [
            other
            for other in session.scalars(select(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None)))
            if Role.ADMIN.value in (other.roles or []) and (other.expires_at is None or as_utc(other.expires_at) > now)
        ]
        if [a.id for a in admins] == [row.id]:
            raise Conflict(
                f"Key {row.id} is the last active admin key; revoking it would lock every admin out. "
                "Create another admin key first (`shipyard keys create --role admin`)."
            )

    def count(self) -> int:
        """How many keys exist, revoked ones included."""
        with self._db.read() as session:
            return session.scalar(select(func.count()).select_from(ApiKeyRow)) or 0

    def list(self, include_revoked: bool = False) -> KeyList:
        """Keys, oldest first; revoked ones only with `include_revoked`. Never a secret."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        with self._db.read() as session:
            return [_info(row) for row in session.scalars(query)]

    def __repr__(self) -> str:
        return f"KeyService(db={self._db!r})"


__all__ = [
    "KEY_PREFIX",
    "ApiKeyInfo",
    "KeyService",
    "as_utc",
    "hash_secret",
    "parse_api_key",
    "parse_expiry",
]
