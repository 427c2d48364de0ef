"""Fixtures for the security tests: a migrated database, the key service, RSA keys and a JWKS file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shipyard.config import SecuritySettings
from shipyard.security.keys import KeyService
from shipyard.store import Database, open_database

ISSUER = "https://idp.test"
AUDIENCE = "shipyard-tests"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database; each test using it runs on SQLite and on PostgreSQL."""
    database = open_database(db_url)
    yield database
    database.close()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database, for tests about HTTP or gRPC rather than storage."""
    database = open_database(f"sqlite:///{tmp_path / 'security.db'}")
    yield database
    database.close()


@pytest.fixture
def keys(db: Database) -> KeyService:
    return KeyService(db)


@dataclass
class SigningKey:
    """An RSA key the tests sign tokens with, and its public JWK."""

    kid: str
    private: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, claims: dict[str, Any], *, kid: str | None = "", algorithm: str = "RS256") -> str:
        headers = {"kid": self.kid if kid == "" else kid} if kid is not None else {}
        return jwt.encode(claims, self.private, algorithm=algorithm, headers=headers)


def new_signing_key(kid: str) -> SigningKey:
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="session")
def idp_key() -> SigningKey:
    return new_signing_key("idp-1")


@pytest.fixture(scope="session")
def other_key() -> SigningKey:
    """A key the identity provider does not publish."""
    return new_signing_key("idp-1")


def write_jwks(path: Path, *keys: SigningKey) -> Path:
    path.write_text(json.dumps({"keys": [k.jwk() for k in keys]}))
    return path


@pytest.fixture
def oidc_settings(tmp_path: Path, idp_key: SigningKey) -> SecuritySettings:
    return SecuritySettings(
        jwks_file=write_jwks(tmp_path / "jwks.json", idp_key),
        issuer=ISSUER,
        audience=AUDIENCE,
        role_map={"ml-platform": "admin", "data-science": "deployer"},
    )
