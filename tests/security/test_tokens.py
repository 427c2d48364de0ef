"""OIDC / JWT tokens, signed by the tests themselves, verified against a JWKS file or URL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest

from shipyard.config import SecuritySettings, load_settings
from shipyard.errors import ConfigError, Unauthorized
from shipyard.security.permissions import Role
from shipyard.security.tokens import TokenVerifier, claim_values, map_roles

from .conftest import AUDIENCE, ISSUER, SigningKey, new_signing_key, write_jwks


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def verifier(oidc_settings: SecuritySettings) -> TokenVerifier:
    verifier = TokenVerifier(oidc_settings)
    verifier.load_keys()
    return verifier


def reason(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as info:
        verifier.verify(token)
    return info.value.reason


def test_a_good_token_is_a_principal_with_its_roles(verifier: TokenVerifier, idp_key: SigningKey) -> None:
    principal = verifier.verify(idp_key.sign(claims(roles=["viewer", "predictor"])))
    assert principal.subject == "oidc:alice"
    assert principal.roles == {Role.VIEWER, Role.PREDICTOR}
    assert principal.scope is None and principal.expires_at is not None
    assert principal.claims["iss"] == ISSUER


def test_audience_may_be_a_list(verifier: TokenVerifier, idp_key: SigningKey) -> None:
    assert verifier.verify(idp_key.sign(claims(aud=["other", AUDIENCE], roles="viewer"))).roles == {Role.VIEWER}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"exp": int(time.time()) - 3600}, "token expired"),
        ({"nbf": int(time.time()) + 3600}, "token not valid yet"),
        ({"iat": int(time.time()) + 3600}, "token not valid yet"),
        ({"iss": "https://evil.test"}, f"token issuer is not {ISSUER!r}"),
        ({"aud": "someone-else"}, f"token audience does not include {AUDIENCE!r}"),
        ({"exp": None}, "token lacks the 'exp' claim"),
        ({"sub": None}, "token lacks the 'sub' claim"),
        ({"aud": None}, "token lacks the 'aud' claim"),
        ({"iss": None}, "token lacks the 'iss' claim"),
        ({"sub": ""}, "token `sub` is not a non-empty string"),
        ({"exp": "tomorrow"}, "malformed token"),
    ],
)
def test_bad_claims_say_what_is_wrong(
    verifier: TokenVerifier, idp_key: SigningKey, overrides: dict[str, Any], expected: str
) -> None:
    assert reason(verifier, idp_key.sign(claims(**overrides))).startswith(expected)


def test_clock_skew_of_a_few_seconds_is_tolerated(verifier: TokenVerifier, idp_key: SigningKey) -> None:
    verifier.verify(idp_key.sign(claims(exp=int(time.time()) - 5)))


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(
    verifier: TokenVerifier, other_key: SigningKey
) -> None:
    assert reason(verifier, other_key.sign(claims())) == "token signature does not verify"


def test_an_altered_token_is_refused(verifier: TokenVerifier, idp_key: SigningKey) -> None:
    header, payload, signature = idp_key.sign(claims(roles="viewer")).split(".")
    forged = jwt.utils.base64url_encode(json.dumps(claims(roles="admin")).encode()).decode()
    assert reason(verifier, f"{header}.{forged}.{signature}") == "token signature does not verify"


def test_unknown_kid_and_missing_kid(verifier: TokenVerifier, idp_key: SigningKey) -> None:
    assert "unknown key id 'nope'" in reason(verifier, idp_key.sign(claims(), kid="nope"))
    # Without a kid, a key set of one key is unambiguous.
    assert verifier.verify(idp_key.sign(claims(), kid=None)).subject == "oidc:alice"


def test_algorithm_tricks_are_refused(verifier: TokenVerifier, idp_key: SigningKey) -> None:
    unsigned = jwt.encode(claims(roles="admin"), "", algorithm="none", headers={"kid": idp_key.kid})
    assert reason(verifier, unsigned) == "token algorithm missing or not the one its key is for"
    public_pem = idp_key.jwk()["n"].encode()  # an HMAC "secret" an attacker can read from the JWKS
    hmac_token = jwt.encode(claims(roles="admin"), public_pem, algorithm="HS256", headers={"kid": idp_key.kid})
    assert reason(verifier, hmac_token) == "token algorithm missing or not the one its key is for"
    assert reason(verifier, "e30.e30.") == "token algorithm missing or not the one its key is for"  # {}.{}.


@pytest.mark.parametrize("token", ["a.b.c", "not-a-jwt", "....", ""])
def test_garbage_is_a_malformed_token(verifier: TokenVerifier, token: str) -> None:
    assert reason(verifier, token) == "malformed token"


@pytest.mark.parametrize(
    ("claim", "value", "roles"),
    [
        ("roles", ["viewer", "unknown", "admin"], {Role.VIEWER, Role.ADMIN}),
        ("roles", "viewer predictor", {Role.VIEWER, Role.PREDICTOR}),
        ("roles", "viewer,deployer , predictor", {Role.VIEWER, Role.DEPLOYER, Role.PREDICTOR}),
        ("roles", ["ml-platform"], {Role.ADMIN}),
        ("roles", "data-science", {Role.DEPLOYER}),
        ("roles", ["nothing", 3, None], set()),
        ("roles", 42, set()),
        ("groups", ["admin"], set()),
    ],
)
def test_role_claim_mapping(
    verifier: TokenVerifier, idp_key: SigningKey, claim: str, value: object, roles: set[Role]
) -> None:
    assert verifier.verify(idp_key.sign(claims(**{claim: value}))).roles == roles


def test_role_claim_may_be_a_nested_path(tmp_path: Path, idp_key: SigningKey) -> None:
    settings = SecuritySettings(
        jwks_file=write_jwks(tmp_path / "jwks.json", idp_key),
        issuer=ISSUER,
        audience=AUDIENCE,
        role_claim="realm_access.roles",
        role_map={"ops": "admin"},
    )
    verifier = TokenVerifier(settings)
    verifier.load_keys()
    token = idp_key.sign(claims(realm_access={"roles": ["ops", "viewer"]}))
    assert verifier.verify(token).roles == {Role.ADMIN, Role.VIEWER}


def test_claim_helpers() -> None:
    assert claim_values({"a": {"b": "x y"}}, "a.b") == ["x", "y"]
    assert claim_values({"a": "x"}, "a.b") == []
    assert map_roles(["viewer", "g"], {"g": "deployer"}) == {Role.VIEWER, Role.DEPLOYER}


def test_a_key_set_with_several_keys_needs_a_kid(tmp_path: Path, idp_key: SigningKey) -> None:
    second = new_signing_key("idp-2")
    settings = SecuritySettings(
        jwks_file=write_jwks(tmp_path / "jwks.json", idp_key, second), issuer=ISSUER, audience=AUDIENCE
    )
    verifier = TokenVerifier(settings)
    verifier.load_keys()
    assert verifier.verify(second.sign(claims())).subject == "oidc:alice"
    assert reason(verifier, second.sign(claims(), kid=None)) == "token has no key id"


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps({"keys": []}), json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]})],
)
def test_an_unusable_key_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "jwks.json").write_text(content)
    settings = SecuritySettings(jwks_file=tmp_path / "jwks.json", issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(ConfigError, match="SHIPYARD_SECURITY__JWKS_FILE"):
        TokenVerifier(settings).load_keys()


@pytest.mark.parametrize(
    ("env", "text"),
    [
        ({"SHIPYARD_SECURITY__JWKS_URL": "https://idp/jwks"}, "issuer and audience"),
        ({"SHIPYARD_SECURITY__JWKS_URL": "file:///etc/passwd", "SHIPYARD_SECURITY__ISSUER": "i"}, "http"),
        ({"SHIPYARD_SECURITY__ROLE_MAP": '{"g": "boss"}'}, "SHIPYARD_SECURITY__ROLE_MAP"),
        ({"SHIPYARD_SECURITY__ADMIN_KEY_FILE": "../x"}, "plain file name"),
    ],
)
def test_bad_security_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], text: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="SHIPYARD_SECURITY") as info:
        load_settings()
    assert text in str(info.value)


class _JwksServer:
    """A JWKS endpoint on 127.0.0.1 serving whatever `keys` holds; counts its requests."""

    def __init__(self) -> None:
        self.keys: list[SigningKey] = []
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = json.dumps({"keys": [k.jwk() for k in outer.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"


@pytest.fixture
def jwks_server() -> Iterator[_JwksServer]:
    server = _JwksServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join(timeout=10)


def test_keys_from_a_url(jwks_server: _JwksServer, idp_key: SigningKey) -> None:
    jwks_server.keys = [idp_key]
    verifier = TokenVerifier(SecuritySettings(jwks_url=jwks_server.url, issuer=ISSUER, audience=AUDIENCE))
    assert verifier.claim_reload()  # never loaded: go ahead
    verifier.load_keys()
    assert jwks_server.requests == 1
    for _ in range(5):  # verifying never goes back to the network
        assert verifier.verify(idp_key.sign(claims(roles="viewer"))).roles == {Role.VIEWER}
    assert jwks_server.requests == 1
    assert not verifier.claim_reload()  # an unknown kid cannot make it fetch again at once


def test_an_unreachable_url_is_a_config_error_and_keeps_the_old_keys(
    jwks_server: _JwksServer, idp_key: SigningKey
) -> None:
    jwks_server.keys = [idp_key]
    verifier = TokenVerifier(SecuritySettings(jwks_url=jwks_server.url, issuer=ISSUER, audience=AUDIENCE))
    verifier.load_keys()
    jwks_server.server.shutdown()
    jwks_server.server.server_close()
    with pytest.raises(ConfigError, match="cannot load the JWKS"):
        verifier.load_keys()
    assert verifier.verify(idp_key.sign(claims())).subject == "oidc:alice"
