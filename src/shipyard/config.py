"""The one `Settings` object: environment `SHIPYARD_*`, then an optional `shipyard.toml`, then defaults.

Only the composition roots (the CLI, the SDK's default registry, the server factory) build it;
everything below receives it, or the section it needs.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import ConfigError

_DB_SCHEMES = ("sqlite", "postgresql")
_ARTIFACT_SCHEMES = ("file", "memory", "s3", "gs", "az", "abfs")


class RegistrySettings(BaseModel):
    profile_sample_size: int = Field(10_000, ge=100, le=1_000_000)
    """Values kept per numeric feature in a version's reference profile (for exact KS tests later)."""
    signature_sample_rows: int = Field(100, ge=1)
    """Rows of the training data predicted on to infer the output signature."""


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    """Interface the inference server binds to (HTTP and gRPC)."""
    port: int = Field(8080, ge=0, le=65535)
    """HTTP port (V2 REST, V1, management API, /metrics)."""
    grpc_port: int | None = Field(8081, ge=0, le=65535)
    """gRPC port of the V2 GRPCInferenceService; unset disables gRPC."""
    workers: int = Field(1, ge=1, le=64)
    """Worker processes sharing the ports."""
    max_body_bytes: int = Field(16 * 2**20, ge=1024)
    """Largest request body (and gRPC message) accepted; larger ones get 413 / RESOURCE_EXHAUSTED."""
    max_batch_size: int = Field(256, ge=1, le=100_000)
    """Most rows merged into one model call, unless a version sets its own."""
    max_latency_ms: float = Field(0.0, ge=0, le=60_000)
    """How long a batch may wait for more requests; 0 runs as soon as the model is free."""
    model_memory_mb: int = Field(4096, ge=16)
    """Memory budget of loaded models per worker; least recently used models are unloaded past it."""
    refresh_seconds: float = Field(1.0, gt=0, le=60)
    """How often each worker re-reads aliases and versions (hot-swap happens within twice this)."""
    preload: bool = False
    """Load every servable model at start instead of on first request."""
    cache: bool = False
    """Cache responses for every model (keyed on the exact input); a version can opt in alone with
    `serving={"cache": True}` at registration."""
    cache_entries: int = Field(10_000, ge=1)
    """Entries of the in-process response cache per model version (when Redis is not configured)."""
    max_rows: int = Field(100_000, ge=1)
    """Most rows (instances) one inference request may carry; more get 400 naming the limit."""
    request_timeout_seconds: float = Field(30.0, gt=0, le=86_400)
    """Longest an HTTP request may take before it is answered 504 (gRPC: DEADLINE_EXCEEDED)."""
    tls_cert: Path | None = None
    """PEM certificate chain: serve HTTPS and gRPC over TLS with it (needs `tls_key`)."""
    tls_key: Path | None = Field(None, validate_default=True)
    """PEM private key of `tls_cert`."""
    insecure: bool = False
    """Allow binding a non-loopback address with auth disabled (`security.auth = false`). Only for a
    network where every client is trusted: each caller then acts as an admin."""
    rate_limit_per_key: float | None = Field(None, gt=0)
    """Inference requests per second allowed to each API key (or token subject, or client address
    without auth); unset: no limit. Over it: 429 with Retry-After."""
    rate_limit_per_model: float | None = Field(None, gt=0)
    """Inference requests per second allowed to each model or deployment, all callers together; unset: no limit."""
    rate_limit_burst: int | None = Field(None, ge=1)
    """Requests allowed at once above the steady rate (the token bucket's size); unset: one second's worth."""
    cors_origins: list[str] = Field(default_factory=list)
    """Browser origins allowed to call the server cross-origin, e.g. `["https://app.example"]`; empty (the
    default): no CORS headers at all, so browsers keep other sites out."""

    @field_validator("tls_key")
    @classmethod
    def _check_tls_pair(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        # On tls_key with validate_default, so a certificate without a key is caught too.
        cert = info.data.get("tls_cert")
        if value is None and cert is not None:
            raise ValueError("not set, but tls_cert is: TLS needs the certificate's private key too (--tls-key)")
        if value is not None and cert is None:
            raise ValueError("set without tls_cert: TLS needs the certificate too (--tls-cert)")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_cors_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and (origin.split("://", 1)[0] not in ("http", "https") or origin.endswith("/")):
                raise ValueError(f"{origin!r} is not an origin like https://app.example (scheme, host, optional port)")
        return value


class S3Settings(BaseModel):
    endpoint_url: str | None = None
    """Custom S3 endpoint (MinIO, moto, …). Unset means AWS."""
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    region: str | None = None


RoleName = Literal["admin", "deployer", "predictor", "viewer"]
"""The roles of `security.permissions.Role`, spelled out here because config sits below the domain."""


class SecuritySettings(BaseModel):
    auth: bool = True
    """Require credentials (API key or OIDC token) on every endpoint but the health checks. Turn off
    only on a machine nobody else can reach: every caller then acts as an anonymous admin."""
    jwks_url: str | None = None
    """OIDC: URL of the identity provider's JSON Web Key Set, e.g. https://idp.example/.well-known/jwks.json."""
    jwks_file: Path | None = None
    """OIDC: a local JWKS file instead of `jwks_url` (air-gapped setups, tests)."""
    issuer: str | None = None
    """OIDC: the exact `iss` every token must carry; required when a JWKS is set."""
    audience: str | None = None
    """OIDC: the `aud` every token must contain (this service's client id); required when a JWKS is set."""
    role_claim: str = "roles"
    """OIDC: the claim holding the caller's roles or groups (a list or a space/comma separated string);
    a dotted path reaches into nested claims, e.g. `realm_access.roles`."""
    role_map: dict[str, RoleName] = Field(default_factory=dict)
    """OIDC: claim value → Shipyard role, e.g. `{"ml-platform": "admin"}`. Values already named like a
    role (`admin`, `viewer`, …) map to themselves; anything else is ignored."""
    key_refresh_seconds: float = Field(1.0, gt=0, le=60)
    """How often each worker re-reads API keys; a revoked key stops working within about this plus a
    request (keep it at 1 s or less for the 2-second revocation promise)."""
    jwks_refresh_seconds: float = Field(300.0, ge=10, le=86_400)
    """How often the JWKS is fetched again (a token with an unknown key id also triggers a fetch, at most
    every 30 s), so keys the provider rotates out stop being accepted."""
    admin_key_file: str = "admin.key"
    """File in the home holding the admin key created at first start (mode 0600), for the local CLI and demo."""

    @field_validator("jwks_url")
    @classmethod
    def _check_jwks_url(cls, value: str | None) -> str | None:
        if value is not None and value.split("://", 1)[0] not in ("http", "https"):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("admin_key_file")
    @classmethod
    def _check_admin_key_file(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value in (".", ".."):
            raise ValueError(f"{value!r} must be a plain file name (it lives in the home)")
        return value

    @model_validator(mode="after")
    def _check_oidc(self) -> SecuritySettings:
        if self.jwks_url and self.jwks_file:
            raise ValueError("set jwks_url or jwks_file, not both")
        if (self.jwks_url or self.jwks_file) and not (self.issuer and self.audience):
            raise ValueError("OIDC needs both issuer and audience: tokens are checked against them")
        return self


class Settings(BaseSettings):
    """Shipyard's settings. Every field can be set as `SHIPYARD_<FIELD>` (nested: `SHIPYARD_S3__REGION`)."""

    model_config = SettingsConfigDict(
        env_prefix="SHIPYARD_",
        env_nested_delimiter="__",
        toml_file="shipyard.toml",
        use_attribute_docstrings=True,
        extra="forbid",
        env_parse_none_str="null",
    )

    home: Path = Path(".shipyard")
    """Folder for local state: the SQLite database, local artifacts, caches and keys."""
    db_url: str | None = None
    """Metadata database URL. Default: a SQLite file in the home. PostgreSQL: `postgresql+psycopg://…`."""
    artifacts: str | None = None
    """Artifact store: a local folder (default: `<home>/artifacts`) or a URL such as `s3://bucket/prefix`."""
    cache_dir: Path | None = None
    """Local read-through cache of remote artifacts. Default: `<home>/cache`."""
    artifacts_key: SecretStr | None = None
    """Encrypt artifacts at rest (AES-256-GCM) with this key: 32 random bytes as 64 hex digits or base64.
    Unset (and no `artifacts_key_file`): artifacts are stored as they are. See docs/encryption.md."""
    artifacts_key_file: Path | None = None
    """A file holding the artifact key (same formats as `artifacts_key`); set one of the two, not both."""
    redis_url: str | None = None
    """Redis for state shared by replicas (response cache, rate limits), e.g. redis://127.0.0.1:6379/0."""
    user: str | None = None
    """Name recorded as the actor of registry changes. Default: the operating-system user."""
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)

    @field_validator("db_url")
    @classmethod
    def _check_db_url(cls, value: str | None) -> str | None:
        if value is not None and value.split(":", 1)[0].split("+", 1)[0] not in _DB_SCHEMES:
            raise ValueError(f"{value!r} is not a SQLite or PostgreSQL URL (sqlite:///path or postgresql+psycopg://…)")
        return value

    @field_validator("artifacts")
    @classmethod
    def _check_artifacts(cls, value: str | None) -> str | None:
        if value is not None and "://" in value and value.split("://", 1)[0] not in _ARTIFACT_SCHEMES:
            raise ValueError(
                f"{value!r} has an unsupported scheme; use a folder or one of {', '.join(_ARTIFACT_SCHEMES)}"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls), file_secret_settings

    @property
    def resolved_db_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.home / 'shipyard.db').resolve()}"

    @property
    def resolved_artifacts(self) -> str:
        return self.artifacts or str((self.home / "artifacts").resolve())

    @property
    def resolved_cache_dir(self) -> Path:
        return (self.cache_dir or self.home / "cache").resolve()

    @property
    def actor(self) -> str:
        return self.user or os.environ.get("USER") or getpass.getuser()


def load_settings(**overrides: Any) -> Settings:
    """Build `Settings`, turning a validation error into a one-line `ConfigError` naming the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = [str(p) for p in err["loc"]]
        setting = "SHIPYARD_" + "__".join(p.upper() for p in path) if path else "shipyard.toml"
        raise ConfigError(setting, err["msg"].removeprefix("Value error, ")) from exc


__all__ = ["RegistrySettings", "S3Settings", "SecuritySettings", "ServerSettings", "Settings", "load_settings"]
