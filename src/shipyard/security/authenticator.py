"""Who is calling: an `Authorization: Bearer …` header → a `Principal`, or `Unauthorized`.

API keys are checked against an in-memory copy of the `api_keys` table that each worker re-reads
every `key_refresh_seconds` (1 s by default), so a revoked key stops working on every worker and
replica within 2 seconds and a request costs no database query: a dict lookup, one sha256 and a
constant-time compare. A key id the copy does not know triggers one early re-read (at most every
`_MIN_MISS_RELOAD` seconds), so a key created a moment ago works at once.

JWTs go to the `TokenVerifier`. Every failure is noted in a `FailureLog`, and every refused
permission reported by `note_denied` in a `DenialLog`; the same background loop writes them to the
audit trail (`auth.failed`, `auth.denied`) with the keys' last use, through an `AuthTrail` that
spills them to local disk while the database is down and writes them once it is back.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import anyio.to_thread
from sqlalchemy import select

from ..config import SecuritySettings
from ..errors import ConfigError, Forbidden, Unauthorized
from ..store import Database
from ..store.spill import SpillFile
from ..store.tables import ApiKeyRow, utcnow
from .failures import DenialLog, FailureLog
from .keys import as_utc, hash_secret, parse_api_key
from .permissions import Principal, Role
from .tokens import TokenVerifier
from .trail import AuthTrail, Record

logger = logging.getLogger(__name__)

MAX_HEADER_CHARS = 8192
_MIN_MISS_RELOAD = 0.25
_LAST_USED_EVERY = 60.0  # seconds between writes of `last_used_at`: bookkeeping, not worth a write per request
_BEARER = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")  # RFC 6750 b64token
_ROLE_NAMES = frozenset(r.value for r in Role)

ANONYMOUS_ADMIN = Principal(subject="anonymous", roles=frozenset({Role.ADMIN}))
"""The caller when authentication is switched off (`SHIPYARD_SECURITY__AUTH=false`)."""


def bearer_token(header: str | None) -> str:
    """The token of `Bearer <token>`; Unauthorized saying what is wrong with anything else."""
    if not header or not header.strip():
        raise Unauthorized("missing credentials")
    if len(header) > MAX_HEADER_CHARS:
        raise Unauthorized(f"Authorization header longer than {MAX_HEADER_CHARS} characters")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized(f"unsupported authorization scheme {scheme[:16]!r}; use Bearer")
    token = token.strip()
    if not token:
        raise Unauthorized("empty bearer token")
    if not _BEARER.match(token):
        raise Unauthorized("malformed bearer token")
    return token


@dataclass(frozen=True, slots=True)
class _KeyEntry:
    secret_hash: str
    principal: Principal
    expires_at: float | None  # POSIX seconds, compared with time.time()
    revoked: bool


def _entry(
    key_id: str,
    secret_hash: str,
    roles: list[str],
    scope: list[str] | None,
    expires_at: datetime | None,
    revoked_at: datetime | None,
) -> _KeyEntry:
    # A role this version does not know (written by a newer one) grants nothing rather than failing the load.
    known = frozenset(Role(r) for r in roles if r in _ROLE_NAMES)
    expiry = as_utc(expires_at) if expires_at is not None else None
    principal = Principal(
        subject=f"key:{key_id}",
        roles=known,
        scope=frozenset(scope) if scope is not None else None,
        key_id=key_id,
        expires_at=expiry,
    )
    return _KeyEntry(secret_hash, principal, expiry.timestamp() if expiry else None, revoked_at is not None)


def read_keys(db: Database) -> dict[str, _KeyEntry]:
    """The `api_keys` table as the authenticator holds it (blocking; run it in a thread)."""
    query = select(
        ApiKeyRow.id,
        ApiKeyRow.secret_hash,
        ApiKeyRow.roles,
        ApiKeyRow.scope,
        ApiKeyRow.expires_at,
        ApiKeyRow.revoked_at,
    )
    with db.read() as session:
        return {row[0]: _entry(*row) for row in session.execute(query)}


class Authenticator:
    """Turns credentials into principals for REST, gRPC and the management API alike (and the web UI, once built).

    Give its `run()` to the server's lifespan as a task, and await `aclose()` on shutdown so the last
    failed attempts reach the audit trail.
    """

    def __init__(
        self,
        db: Database,
        settings: SecuritySettings,
        *,
        verifier: TokenVerifier | None = None,
        failures: FailureLog | None = None,
        spill: SpillFile | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._verifier = verifier or (TokenVerifier(settings) if settings.jwks_url or settings.jwks_file else None)
        self._failures = failures or FailureLog()
        self._denials = DenialLog()
        self._trail = AuthTrail(db, spill)
        self._keys: dict[str, _KeyEntry] = {}
        self._used: set[str] = set()
        self._used_written_at = time.monotonic()
        self._miss_reload_at = float("-inf")
        self.refreshed_at = 0.0
        self.healthy = False

    @property
    def enabled(self) -> bool:
        return self._settings.auth

    async def authenticate(
        self, authorization: str | None, *, source: str | None = None, what: str | None = None
    ) -> Principal:
        """The caller behind an `Authorization` header value. `source` (client address) and `what`
        (e.g. "POST /v2/models/churn/infer") go into the audit event of a failure."""
        if not self._settings.auth:
            return ANONYMOUS_ADMIN
        target = "unknown"
        try:
            token = bearer_token(authorization)
            key = parse_api_key(token)
            if key is not None:
                target = f"key:{key[0]}"
                return await self._key_principal(*key)
            if self._verifier is not None and token.count(".") == 2:
                target = "token"
                return await self._token_principal(self._verifier, token)
            expected = "a Shipyard API key (sy_…) or an OIDC token" if self._verifier else "a Shipyard API key (sy_…)"
            raise Unauthorized(f"malformed credentials; expected {expected}")
        except Unauthorized as exc:
            logger.debug("authentication failed from %s: %s", source, exc.reason)
            self._failures.note(source=source, target=target, reason=exc.reason, what=what, at=utcnow())
            raise

    def note_denied(self, principal: Principal, refusal: Forbidden, *, source: str | None, what: str) -> None:
        """Record a refused permission (403) for the audit trail: who, which action, on what, from where.

        `what` is the request ("DELETE /api/v1/keys/k1", "gRPC ModelInfer"); the event's target is the
        refused model when the action concerns one, else the request."""
        self._denials.note(
            subject=principal.subject,
            roles=sorted(r.value for r in principal.roles),
            action=refusal.action,
            target=refusal.model or what,
            what=what,
            source=source,
            at=utcnow(),
        )

    async def _key_principal(self, key_id: str, secret: str) -> Principal:
        entry = self._keys.get(key_id)
        if entry is None and await self._reload_after_miss():
            entry = self._keys.get(key_id)
        # Constant-time: how long a refusal takes says nothing about how much of the hash matched.
        if entry is None or not hmac.compare_digest(hash_secret(secret), entry.secret_hash):
            raise Unauthorized("unknown or invalid API key")
        if entry.revoked:
            raise Unauthorized(f"API key {key_id} was revoked")
        if entry.expires_at is not None and entry.expires_at <= time.time():
            raise Unauthorized(f"API key {key_id} expired")
        self._used.add(key_id)
        return entry.principal

    async def _token_principal(self, verifier: TokenVerifier, token: str) -> Principal:
        if not verifier.knows(verifier.key_id(token)) and verifier.claim_reload():
            await self._load_jwks(verifier)
        return verifier.verify(token)

    async def _reload_after_miss(self) -> bool:
        now = time.monotonic()
        if now - self._miss_reload_at < _MIN_MISS_RELOAD:
            return False
        self._miss_reload_at = now
        await self.refresh()
        return True

    async def _load_jwks(self, verifier: TokenVerifier) -> None:
        try:
            await anyio.to_thread.run_sync(verifier.load_keys)
        except ConfigError as exc:
            # Keep the keys loaded before (if any): a provider outage must not log everyone out.
            logger.warning("%s; tokens signed with keys not loaded are refused", exc)

    async def refresh(self) -> None:
        """Re-read the keys now (and load the JWKS if it never was). A failure keeps the last copy."""
        try:
            self._keys = await anyio.to_thread.run_sync(read_keys, self._db)
            self.healthy = True
        except Exception:
            logger.exception(
                "reading API keys failed; using the copy of %.1f s ago", time.monotonic() - self.refreshed_at
            )
            self.healthy = False
        finally:
            self.refreshed_at = time.monotonic()
        if self._verifier is not None and self._verifier.loaded_at is None and self._verifier.claim_reload():
            await self._load_jwks(self._verifier)

    async def flush(self, *, force: bool = False) -> None:
        """Write pending refusals (and, every minute or when forced, keys' last use); spilled if the DB is down."""
        records: list[Record] = [f.audit_event() for f in self._failures.drain()]
        records += [d.audit_event() for d in self._denials.drain()]
        if self._used and (force or time.monotonic() - self._used_written_at >= _LAST_USED_EVERY):
            used, self._used, self._used_written_at = self._used, set(), time.monotonic()
            records.append(
                {"kind": "key.used", "key": uuid.uuid4().hex, "at": utcnow().isoformat(), "key_ids": sorted(used)}
            )
        await self._trail.write(records)

    async def run(self) -> None:
        """Refresh keys and write failures forever (a task of the server's lifespan); first, and then
        whenever some wait, write the records spilled during a database outage."""
        jwks_due = time.monotonic() + self._settings.jwks_refresh_seconds
        await self._trail.replay()
        while True:
            await asyncio.sleep(self._settings.key_refresh_seconds)
            await self.refresh()
            if self._trail.due():
                await self._trail.replay()
            await self.flush()
            if self._verifier is not None and time.monotonic() >= jwks_due:
                jwks_due = time.monotonic() + self._settings.jwks_refresh_seconds
                self._verifier.claim_reload()  # counts as a fetch for the unknown-kid limit
                await self._load_jwks(self._verifier)

    async def aclose(self) -> None:
        """Write what is pending (failed attempts, last use of keys); call on shutdown."""
        await self.flush(force=True)
        self._trail.close()

    def __repr__(self) -> str:
        return f"Authenticator(auth={self._settings.auth}, keys={len(self._keys)}, oidc={self._verifier!r})"


__all__ = ["ANONYMOUS_ADMIN", "MAX_HEADER_CHARS", "Authenticator", "bearer_token", "read_keys"]
