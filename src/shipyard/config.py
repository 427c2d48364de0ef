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
_REMOTE_ARTIFACT_SCHEMES = ("s3", "gs", "az", "abfs")


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
    drain_seconds: float = Field(2.0, ge=0, le=300)
    """After SIGTERM, how long each worker keeps serving while its readiness (`/v2/health/ready`, gRPC
    ServerReady) already answers "not ready", so load balancers stop sending; then it stops accepting,
    finishes the requests in flight and exits 0. 0 stops accepting at once (SIGINT always does)."""
    worker_memory_mb: int = Field(0, ge=0)
    """Memory limit of each worker process (RLIMIT_DATA: private writable memory, shared libraries' code
    not counted); 0 = none. An allocation past it raises MemoryError in the model that made it, which
    fails that request alone (500 naming the limit) while the server and other models keep answering."""
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


class RetrainSettings(BaseModel):
    """Retraining runs and their triggers (see docs/retraining.md)."""

    check_seconds: float = Field(60.0, gt=0, le=86_400)
    """How often the server checks every retraining policy's triggers (on one worker of all replicas)."""
    lease_seconds: float = Field(60.0, ge=1, le=3600)
    """A run holds the lease `retrain:<model>` this long without renewing it (it renews every third of
    it while it runs); the run of a process that died is marked failed once the lease has lapsed."""
    work_dir: Path | None = None
    """Folder for the runs' working folders (`$SHIPYARD_RETRAIN_DIR`); default: the system temp folder."""
    max_log_bytes: int = Field(256 * 1024, ge=1024, le=64 * 2**20)
    """How much of a run's log is stored (its end, when longer)."""


class DeploymentSettings(BaseModel):
    """Deployments: canary controller, per-arm figures, shadow traffic (see docs/deployments.md)."""

    controller_seconds: float = Field(5.0, gt=0, le=3600)
    """How often the canary controller (one worker of all replicas) checks guards and advances steps."""
    flush_seconds: float = Field(2.0, gt=0, le=300)
    """How often each worker publishes its per-arm figures (requests, errors, latency) to the database."""
    sample_retention_hours: float = Field(24.0, gt=0, le=24 * 366)
    """Per-arm figures older than this are deleted by the controller."""
    status_window_seconds: float = Field(60.0, gt=0, le=86_400)
    """Window of the req/s, error rate and latency figures `deploy status` shows."""
    shadow_queue: int = Field(1000, ge=1, le=1_000_000)
    """Copies waiting for a shadow arm per worker; when full, new copies are dropped (and counted)."""
    shadow_concurrency: int = Field(2, ge=1, le=256)
    """Shadow copies answered at once per worker."""


class MonitoringSettings(BaseModel):
    """Monitoring: the prediction log, feedback and quality (see docs/monitoring.md)."""

    log_mode: Literal["durable", "sync", "fast", "off"] = "durable"
    """`durable`: a request is answered only once its log entry is in a write-ahead file per worker (written
    with group commit; it survives the worker being killed, and is fsynced every second); `sync`: answered
    only once the entry is fsynced too (survives a machine crash; ~2 ms more per answer); `fast`: answered
    at once, the file written at least every second, so a killed worker loses at most about the last
    second (counted and reported at the next start); `off`."""
    log_url: str | None = None
    """Where the prediction log's Parquet segments go: a folder or an fsspec URL such as `s3://bucket/log`
    (S3 reached with the `s3` settings). Default: in the artifact store when that is remote
    (`<artifacts>/predictions`, e.g. `s3://bucket/prefix/predictions`), else `<home>/predictions`."""
    log_queue_size: int = Field(10_000, ge=1, le=10_000_000)
    """Records waiting for the write-ahead file per worker; when full, `fast` drops (and counts) new ones and
    `durable` answers 503 rather than acknowledge what it could not record."""
    log_flush_seconds: float = Field(5.0, gt=0, le=3600)
    """How often each worker turns its write-ahead file into Parquet segments: a logged request becomes
    readable (`shipyard logs`, the API, DuckDB) within about this (longer while the store is unreachable)."""
    log_fast_write_seconds: float = Field(0.2, gt=0, le=1.0)
    """`fast` mode: how often queued records are written to the write-ahead file (at most 1 s)."""
    log_recover_seconds: float = Field(30.0, gt=0, le=86_400)
    """How often each worker looks for write-ahead files of dead workers to convert (also done at start)."""
    log_settings_refresh_seconds: float = Field(1.0, gt=0, le=60)
    """How often each worker re-reads the per-model redaction settings (drop/hash fields)."""
    hash_salt: SecretStr | None = None
    """Salt of the sha256 of hashed input fields. Unset: a random salt kept in `<home>/log-salt` (replicas
    sharing a log must then set the same salt here, or hashes differ between them)."""
    feedback_max_items: int = Field(10_000, ge=1, le=1_000_000)
    """Most feedback items one request may carry."""
    feedback_lookup_hours: float = Field(24.0, gt=0, le=24 * 366)
    """Feedback without `model`: how far back the prediction log is searched for its request id."""
    quality_every_seconds: float = Field(60.0, gt=0, le=86_400)
    """How often the quality job recomputes each model's latest quality figures (one worker of all replicas)."""
    quality_window_seconds: float = Field(3600.0, gt=0, le=366 * 86_400)
    """The window of predictions (by prediction time) the quality job scores."""

    # Metrics and alerts (docs/monitoring.md, "Metrics" and "Alerts").
    metrics: bool = True
    """Count requests, batches and model loads (a few µs per request) and serve `GET /metrics`."""
    metrics_public: bool = False
    """Let `GET /metrics` be read without credentials (otherwise it needs `monitoring.read`): only for a
    Prometheus scraping over a private network. The figures name models but hold no inputs or keys."""
    metrics_dir: Path | None = None
    """Folder of the workers' metric files (each run gets a fresh `run-<pid>` folder in it, stale ones are
    removed at start). Default: `<home>/run/metrics`."""
    metrics_sample_seconds: float = Field(1.0, gt=0, le=60)
    """How often each worker copies its gauges (loaded models, prediction-log backlog and drops)."""
    traffic_flush_seconds: float = Field(10.0, gt=0, le=300)
    """How often each worker publishes its request figures (per minute) to the database, where the
    error-rate, latency and no-traffic alert rules read them across workers and replicas."""
    traffic_retention_hours: float = Field(24.0, gt=0, le=24 * 366)
    """Per-minute request figures older than this are deleted (by the alert job)."""
    figures_cache_seconds: float = Field(5.0, ge=0, le=3600)
    """How long the latest drift and quality figures read for `/metrics` are reused before reading again."""
    alerts: bool = True
    """Evaluate the alert rules in the server (one worker of all replicas)."""
    alert_interval_seconds: float = Field(30.0, gt=0, le=3600)
    """How often the alert rules are evaluated."""
    alert_cooldown_seconds: float = Field(600.0, ge=0, le=7 * 86_400)
    """An alert fired again within this (per alert key: rule and subject) is recorded as a repeat and not
    sent again; a rule may set its own."""
    alert_webhooks: list[str] = Field(default_factory=list)
    """Webhook URLs every alert without notifiers of its own is POSTed to (JSON), e.g. rollbacks and
    failed retraining runs; alerts are always written to the log too."""
    alert_webhook_attempts: int = Field(4, ge=1, le=20)
    """Tries per webhook delivery (the first included) before it is recorded as failed."""
    alert_webhook_backoff_seconds: float = Field(0.5, gt=0, le=60)
    """Wait before the first retry; doubled before each next one."""
    alert_webhook_timeout_seconds: float = Field(5.0, gt=0, le=120)
    """Time limit of one webhook POST."""

    @field_validator("alert_webhooks")
    @classmethod
    def _check_alert_webhooks(cls, value: list[str]) -> list[str]:
        for url in value:
            if url.split("://", 1)[0] not in ("http", "https") or "://" not in url:
                raise ValueError(f"{url!r} is not an http(s) URL")
        return value


class DriftSettings(BaseModel):
    """Drift of inputs and predictions against each version's reference profile (see docs/drift.md)."""

    schedule: bool = True
    """Evaluate the drift of every model with logged predictions in the server (one worker of all replicas)."""
    interval_seconds: float = Field(3600.0, ge=1, le=7 * 86_400)
    """How often the scheduled drift job runs."""
    window_seconds: float = Field(3600.0, gt=0, le=366 * 86_400)
    """The window of the prediction log each scheduled run compares with the reference (the last hour)."""
    min_rows: int = Field(100, ge=1)
    """A scheduled run skips a model version with fewer logged rows than this in its window."""
    threads: int | None = Field(None, ge=1, le=256)
    """Columns compared at once; default: the machine's cores."""
    retention_days: float = Field(90.0, gt=0, le=36_600)
    """Stored drift runs older than this are deleted by the scheduled job."""


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
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    deployments: DeploymentSettings = Field(default_factory=DeploymentSettings)
    retrain: RetrainSettings = Field(default_factory=RetrainSettings)

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
    def resolved_log_url(self) -> str:
        """`monitoring.log_url`, else beside a remote artifact store's blobs (`s3://bucket/prefix/predictions`,
        next to its `sha256/` and `refs/`), else `<home>/predictions`."""
        if self.monitoring.log_url:
            return self.monitoring.log_url
        artifacts = self.artifacts or ""
        if "://" in artifacts and artifacts.split("://", 1)[0] in _REMOTE_ARTIFACT_SCHEMES:
            return artifacts.rstrip("/") + "/predictions"
        return str((self.home / "predictions").resolve())

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


__all__ = [
    "DeploymentSettings",
    "DriftSettings",
    "MonitoringSettings",
    "RegistrySettings",
    "RetrainSettings",
    "S3Settings",
    "SecuritySettings",
    "ServerSettings",
    "Settings",
    "load_settings",
]
