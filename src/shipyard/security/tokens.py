"""OIDC / JWT bearer tokens: signature against the provider's JWKS, expiry, issuer, audience, roles.

The key set comes from a URL (fetched with PyJWT's `PyJWKClient`) or a local file, and is held
in memory: verifying a token never touches the network. `load_keys()` fetches it again; the
authenticator calls it in a thread, periodically and when a token names a key id it has not seen
(the provider rotated its keys), at most every `min_reload_seconds` (30 s).

Only asymmetric algorithms are accepted, each bound to its key: a token cannot pick `none` or an
HMAC algorithm keyed with a public key.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet

from ..config import SecuritySettings
from ..errors import ConfigError, Unauthorized
from .permissions import Principal, Role

logger = logging.getLogger(__name__)

_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
_LEEWAY_SECONDS = 30  # clock skew tolerated between the identity provider and this server
_MIN_RELOAD_SECONDS = 30.0  # unknown key ids cannot make us fetch the JWKS more often than this
_RETRY_SECONDS = 5.0  # while the provider has never answered
_FETCH_TIMEOUT_SECONDS = 5.0
_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
_SEPARATORS = re.compile(r"[\s,]+")
_ROLE_NAMES = frozenset(r.value for r in Role)


def _reason(exc: jwt.InvalidTokenError, settings: SecuritySettings) -> str:
    """A caller-facing reason for a rejected token; never the token itself."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token expired"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "token not valid yet (nbf or iat in the future)"
    if isinstance(exc, jwt.InvalidAudienceError):
        return f"token audience does not include {settings.audience!r}"
    if isinstance(exc, jwt.InvalidIssuerError):
        return f"token issuer is not {settings.issuer!r}"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"token lacks the {exc.claim!r} claim"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "token signature does not verify"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "token algorithm missing or not the one its key is for"
    return "malformed token"


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The strings at `path` (dotted for nested claims): a list, or one space/comma separated string."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [v for v in _SEPARATORS.split(value) if v]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def map_roles(values: Iterable[str], role_map: Mapping[str, str]) -> frozenset[Role]:
    """Claim values → roles: through `role_map`, else a value that names a role is that role; the rest is ignored."""
    roles = set()
    for value in values:
        name = role_map.get(value) or (value if value in _ROLE_NAMES else None)
        if name is not None:
            roles.add(Role(name))
    return frozenset(roles)


def _expiry(exp: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (TypeError, ValueError, OverflowError, OSError):  # a far-future `exp` is past what datetime holds
        return None


def _usable(jwk_set: PyJWKSet) -> dict[str | None, PyJWK]:
    keys = {k.key_id: k for k in jwk_set if k.algorithm_name in _ALGORITHMS}
    if not keys:
        raise ValueError(f"no key with an asymmetric algorithm ({', '.join(sorted(_ALGORITHMS))})")
    return keys


class TokenVerifier:
    """Verifies JWT bearer tokens against one identity provider and turns them into principals."""

    def __init__(self, settings: SecuritySettings, *, min_reload_seconds: float = _MIN_RELOAD_SECONDS) -> None:
        if not (settings.jwks_url or settings.jwks_file):
            raise ConfigError("SHIPYARD_SECURITY__JWKS_URL", "set a JWKS URL or file to accept OIDC tokens")
        self._settings = settings
        self._min_reload_seconds = min_reload_seconds
        self._client = (
            PyJWKClient(settings.jwks_url, cache_jwk_set=False, timeout=_FETCH_TIMEOUT_SECONDS)
            if settings.jwks_url
            else None
        )
        self._keys: dict[str | None, PyJWK] = {}
        self.loaded_at: float | None = None
        """`time.monotonic()` of the last successful load; None before the first."""
        self._tried_at = float("-inf")

    @property
    def source(self) -> str:
        return self._settings.jwks_url or str(self._settings.jwks_file)

    def load_keys(self) -> None:
        """Fetch or read the key set now (blocking). Raises ConfigError and keeps the old keys on failure."""
        self._tried_at = time.monotonic()
        setting = "SHIPYARD_SECURITY__JWKS_URL" if self._client else "SHIPYARD_SECURITY__JWKS_FILE"
        try:
            keys = _usable(self._fetch())
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise ConfigError(setting, f"cannot load the JWKS from {self.source}: {exc}") from exc
        self._keys, self.loaded_at = keys, time.monotonic()
        logger.info("loaded %d signing key(s) from %s", len(keys), self.source)

    def _fetch(self) -> PyJWKSet:
        if self._client is not None:
            return self._client.get_jwk_set(refresh=True)
        return PyJWKSet.from_dict(json.loads(Path(self.source).read_text()))

    def claim_reload(self) -> bool:
        """True when a reload may start now, which it then counts as started: at most one per
        `min_reload_seconds`, or per `_RETRY_SECONDS` while no load ever succeeded."""
        interval = (
            self._min_reload_seconds if self.loaded_at is not None else min(_RETRY_SECONDS, self._min_reload_seconds)
        )
        now = time.monotonic()
        if now - self._tried_at < interval:
            return False
        self._tried_at = now
        return True

    def key_id(self, token: str) -> str | None:
        """The `kid` of an unverified token's header; Unauthorized if it is not a JWT at all."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("malformed token") from None
        kid = header.get("kid")
        return kid if isinstance(kid, str) else None

    def knows(self, kid: str | None) -> bool:
        return kid in self._keys or (kid is None and len(self._keys) == 1)

    def verify(self, token: str) -> Principal:
        """The principal a valid token stands for; Unauthorized naming what is wrong with it."""
        if self.loaded_at is None:
            self.load_keys()
        kid = self.key_id(token)
        key = self._keys.get(kid) if kid is not None else next(iter(self._keys.values()), None)
        if key is None or (kid is None and len(self._keys) > 1):
            raise Unauthorized(f"token signed with an unknown key id {kid!r}" if kid else "token has no key id")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[key.algorithm_name],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(_reason(exc, self._settings)) from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("token `sub` is not a non-empty string")
        roles = map_roles(claim_values(claims, self._settings.role_claim), self._settings.role_map)
        return Principal(subject=f"oidc:{subject}", roles=roles, expires_at=_expiry(claims["exp"]), claims=claims)

    def __repr__(self) -> str:
        return f"TokenVerifier(source={self.source!r}, keys={len(self._keys)})"


__all__ = ["TokenVerifier", "claim_values", "map_roles"]
