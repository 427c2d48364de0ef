"""Credentials → principals: keys from the in-memory copy, revocation on every worker within 2 s,
bad headers refused, failures audited without flooding the database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import anyio.to_thread
import pytest

from shipyard.config import SecuritySettings
from shipyard.errors import Unauthorized
from shipyard.security.authenticator import ANONYMOUS_ADMIN, MAX_HEADER_CHARS, Authenticator, bearer_token
from shipyard.security.failures import OVERFLOW_SOURCE, FailureLog
from shipyard.security.keys import KeyService
from shipyard.security.permissions import Role
from shipyard.security.tokens import TokenVerifier
from shipyard.store import Database, list_events, open_database

from .conftest import AUDIENCE, ISSUER, SigningKey, new_signing_key, write_jwks

T = TypeVar("T")


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coroutine()

    return asyncio.run(main())


async def reason(auth: Authenticator, header: str | None, source: str | None = "10.1.2.3") -> str:
    with pytest.raises(Unauthorized) as info:
        await auth.authenticate(header, source=source, what="GET /v2")
    return info.value.reason


def test_a_key_is_its_principal(db: Database, keys: KeyService) -> None:
    info, key = keys.create("app", ["predictor", "viewer"], scope=["churn"], actor="alice")
    auth = Authenticator(db, SecuritySettings())
    principal = run(lambda: auth.authenticate(f"Bearer {key}", source="10.0.0.1"))
    assert principal.subject == f"key:{info.id}" and principal.key_id == info.id
    assert principal.roles == {Role.PREDICTOR, Role.VIEWER} and principal.scope == frozenset({"churn"})
    assert run(lambda: auth.authenticate(f"bearer   {key}  ")) == principal  # scheme is case-insensitive


def test_revocation_reaches_every_worker_within_two_seconds(db_url: str, keys: KeyService) -> None:
    info, key = keys.create("app", ["predictor"], actor="alice")
    header = f"Bearer {key}"

    async def scenario() -> list[float]:
        # Two "workers": separate engines, each with its own copy of the keys and refresh loop.
        databases = [open_database(db_url) for _ in range(2)]
        workers = [Authenticator(d, SecuritySettings()) for d in databases]
        for worker in workers:
            await worker.refresh()
            await worker.authenticate(header)
        tasks = [asyncio.create_task(w.run()) for w in workers]
        await anyio.to_thread.run_sync(lambda: keys.revoke(info.id, actor="alice"))
        revoked_at, seen = time.monotonic(), [float("inf")] * len(workers)
        while time.monotonic() - revoked_at < 2.0 and float("inf") in seen:
            for i, worker in enumerate(workers):
                if seen[i] == float("inf"):
                    try:
                        await worker.authenticate(header)
                    except Unauthorized as exc:
                        assert exc.reason == f"API key {info.id} was revoked"
                        seen[i] = time.monotonic() - revoked_at
            await asyncio.sleep(0.02)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for database in databases:
            database.close()
        return seen

    assert all(elapsed < 2.0 for elapsed in run(scenario))


def test_a_key_created_a_moment_ago_works_at_once(db: Database, keys: KeyService) -> None:
    auth = Authenticator(db, SecuritySettings(key_refresh_seconds=60))
    run(auth.refresh)
    _, key = keys.create("late", ["viewer"], actor="alice")
    assert run(lambda: auth.authenticate(f"Bearer {key}")).roles == {Role.VIEWER}


def test_expired_wrong_and_unknown_keys(db: Database, keys: KeyService) -> None:
    now = datetime.now(UTC)
    expired, expired_key = KeyService(db, clock=lambda: now - timedelta(hours=2)).create(
        "old", ["admin"], expires_at=now - timedelta(hours=1), actor="alice"
    )
    good, good_key = keys.create("good", ["admin"], actor="alice")
    auth = Authenticator(db, SecuritySettings())

    async def reasons() -> list[str]:
        wrong_secret = good_key[:-4] + ("AAAA" if not good_key.endswith("AAAA") else "BBBB")
        return [
            await reason(auth, f"Bearer {expired_key}"),
            await reason(auth, f"Bearer {wrong_secret}"),
            await reason(auth, "Bearer sy_0123456789ab_" + "x" * 43),
        ]

    assert run(reasons) == [f"API key {expired.id} expired", "unknown or invalid API key", "unknown or invalid API key"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "missing credentials"),
        ("", "missing credentials"),
        ("   ", "missing credentials"),
        ("Bearer", "empty bearer token"),
        ("Bearer ", "empty bearer token"),
        ("Basic YWxpY2U6c2VjcmV0", "unsupported authorization scheme 'Basic'; use Bearer"),
        ("Token abc", "unsupported authorization scheme 'Token'; use Bearer"),
        ("garbage", "unsupported authorization scheme 'garbage'; use Bearer"),
        ("Bearer a b", "malformed bearer token"),
        ("Bearer sy_\x00", "malformed bearer token"),
        ("Bearer é", "malformed bearer token"),
        ("Bearer sy_bad_key", "malformed credentials; expected a Shipyard API key (sy_…)"),
        ("Bearer abc.def.ghi", "malformed credentials; expected a Shipyard API key (sy_…)"),
        ("Bearer " + "a" * MAX_HEADER_CHARS, f"Authorization header longer than {MAX_HEADER_CHARS} characters"),
    ],
)
def test_malformed_authorization_headers(db: Database, header: str | None, expected: str) -> None:
    auth = Authenticator(db, SecuritySettings())
    assert run(lambda: reason(auth, header)) == expected


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("BEARER  abc.def-ghi_jk~l+m/n==") == "abc.def-ghi_jk~l+m/n=="
    with pytest.raises(Unauthorized, match="unsupported authorization scheme 'Basic'"):
        bearer_token("Basic " + "x" * 100)


def test_failures_are_audited_once_per_source_per_flush_with_a_count(db: Database, keys: KeyService) -> None:
    info, key = keys.create("app", ["viewer"], actor="alice")
    secret = key.split("_", 2)[2]
    auth = Authenticator(db, SecuritySettings())
    wrong = f"Bearer sy_{info.id}_{'Z' * 43}"

    async def flood() -> None:
        for _ in range(50):
            await reason(auth, wrong, source="10.0.0.66")
        await reason(auth, None, source="10.0.0.77")
        await reason(auth, "Basic abc", source="10.0.0.77")
        await auth.authenticate(f"Bearer {key}", source="10.0.0.88")  # a success is not an event
        await auth.flush()

    run(flood)
    with db.read() as session:
        events = list_events(session, action="auth.failed")
    by_source = {e.source: e for e in events}
    assert set(by_source) == {"10.0.0.66", "10.0.0.77"}
    flood_event = by_source["10.0.0.66"]
    assert flood_event.actor == "anonymous" and flood_event.target == f"key:{info.id}"
    assert flood_event.after is not None and flood_event.after["count"] == 50
    assert flood_event.after["reason"] == "unknown or invalid API key" and flood_event.after["what"] == "GET /v2"
    other = by_source["10.0.0.77"].after
    assert other is not None and other["count"] == 2 and other["reason"] == "missing credentials"
    dumped = json.dumps([e.to_dict() for e in events])
    assert secret not in dumped and "Z" * 43 not in dumped
    run(auth.flush)  # nothing new: nothing written
    with db.read() as session:
        assert len(list_events(session, action="auth.failed")) == 2


def test_the_failure_log_is_bounded() -> None:
    log = FailureLog(max_sources=2)
    at = datetime.now(UTC)
    for source in ["a", "b", "c", "d", "a"]:
        log.note(source=source, target=f"key:{source}", reason="r", what=None, at=at)
    drained = {f.source: f for f in log.drain()}
    assert set(drained) == {"a", "b", OVERFLOW_SOURCE}
    assert drained["a"].count == 2 and drained[OVERFLOW_SOURCE].count == 2
    assert drained[OVERFLOW_SOURCE].targets == ["key:c", "key:d"]
    assert len(log) == 0 and log.drain() == []


def test_last_use_is_written_on_close(db: Database, keys: KeyService) -> None:
    info, key = keys.create("app", ["viewer"], actor="alice")
    auth = Authenticator(db, SecuritySettings())

    async def use() -> None:
        await auth.authenticate(f"Bearer {key}")
        await auth.aclose()

    assert keys.get(info.id).last_used_at is None
    run(use)
    used = keys.get(info.id).last_used_at
    assert used is not None and abs((datetime.now(UTC) - used).total_seconds()) < 60


def test_auth_off_lets_everyone_in_as_an_anonymous_admin(db: Database) -> None:
    auth = Authenticator(db, SecuritySettings(auth=False))
    assert run(lambda: auth.authenticate(None)) is ANONYMOUS_ADMIN
    assert run(lambda: auth.authenticate("Basic garbage")).roles == {Role.ADMIN}
    assert not auth.enabled


def test_tokens_through_the_authenticator(
    sqlite_db: Database, oidc_settings: SecuritySettings, idp_key: SigningKey
) -> None:
    auth = Authenticator(sqlite_db, oidc_settings)
    now = int(time.time())
    token = idp_key.sign({"sub": "bob", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "roles": ["data-science"]})
    expired = idp_key.sign({"sub": "bob", "iss": ISSUER, "aud": AUDIENCE, "exp": now - 600})

    async def check() -> tuple[Any, str, str]:
        await auth.refresh()
        return (
            await auth.authenticate(f"Bearer {token}"),
            await reason(auth, f"Bearer {expired}"),
            await reason(auth, "Bearer sy_nope"),
        )

    principal, expired_reason, key_reason = run(check)
    assert principal.subject == "oidc:bob" and principal.roles == {Role.DEPLOYER}
    assert expired_reason == "token expired"
    assert key_reason == "malformed credentials; expected a Shipyard API key (sy_…) or an OIDC token"


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    sqlite_db: Database, tmp_path: Any, idp_key: SigningKey
) -> None:
    jwks = write_jwks(tmp_path / "jwks.json", idp_key)
    settings = SecuritySettings(jwks_file=jwks, issuer=ISSUER, audience=AUDIENCE)
    auth = Authenticator(sqlite_db, settings, verifier=TokenVerifier(settings, min_reload_seconds=0))
    rotated = new_signing_key("idp-2")
    token = rotated.sign({"sub": "carol", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60})

    async def check() -> tuple[str, str]:
        await auth.refresh()
        before = await reason(auth, f"Bearer {token}")
        write_jwks(jwks, idp_key, rotated)  # the provider publishes its new key
        return before, (await auth.authenticate(f"Bearer {token}")).subject

    assert run(check) == ("token signed with an unknown key id 'idp-2'", "oidc:carol")
