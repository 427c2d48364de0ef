"""`shipyard serve`: the inference server over every registered model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..config import Settings, load_settings
from ..registry import Registry
from ._output import console, err_console


def serve(
    host: str | None = typer.Option(None, "--host", help="Interface to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="HTTP port (default 8080)."),
    grpc_port: int | None = typer.Option(None, "--grpc-port", help="gRPC port (default 8081)."),
    no_grpc: bool = typer.Option(False, "--no-grpc", help="Do not serve gRPC."),
    workers: int | None = typer.Option(None, "--workers", min=1, max=64, help="Worker processes (default 1)."),
    preload: bool = typer.Option(False, "--preload", help="Load every model at start instead of on first use."),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="PEM certificate chain: serve HTTPS and gRPC+TLS."),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert (unencrypted)."),
    insecure: bool = typer.Option(
        False, "--insecure", help="Allow a non-loopback --host with auth disabled (trusted networks only)."
    ),
    drain_seconds: float | None = typer.Option(
        None,
        "--drain-seconds",
        min=0,
        max=300,
        help="After SIGTERM, keep serving this long while readiness answers 503, then stop (default 2).",
    ),
    worker_memory_mb: int | None = typer.Option(
        None,
        "--worker-memory-mb",
        min=0,
        help="Memory limit per worker process in MB (RLIMIT_DATA); a model allocating past it fails its "
        "own request. 0 (default): no limit.",
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn/Shipyard log level."),
) -> None:
    """Serve every registered model over V2 REST + gRPC and V1 (`{m}` = model name or NAME/versions/V)."""
    from ..registry import open_registry
    from ..server import run_server
    from ..serving.transport import check_exposure, load_tls

    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "grpc_port": grpc_port,
        "workers": workers,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
        "drain_seconds": drain_seconds,
        "worker_memory_mb": worker_memory_mb,
    }
    server = {k: v for k, v in overrides.items() if v is not None}
    if preload:
        server["preload"] = True
    if insecure:
        server["insecure"] = True
    if no_grpc:
        server["grpc_port"] = None
    # Merged over the environment and shipyard.toml, and validated like them: a flag that does not fit
    # (a certificate without its key) fails with the same one-line ConfigError.
    settings = load_settings(server=server)
    merged = settings.server
    check_exposure(merged, auth=settings.security.auth)  # before anything is opened or printed
    load_tls(merged)
    registry = open_registry(settings)
    models = registry.list_models()  # fails early, with one line, on a bad DB setting
    _announce_credentials(registry, settings)
    scheme, secure = ("https", "+TLS") if merged.tls_cert else ("http", "")
    grpc = f", gRPC{secure} on {merged.host}:{merged.grpc_port}" if merged.grpc_port is not None else ""
    console.print(
        f"Serving {len(models)} model(s) on {scheme}://{merged.host}:{merged.port}{grpc} "
        f"with {merged.workers} worker(s). V2: /v2/models/NAME/infer · V1: /v1/models/NAME:predict"
    )
    run_server(settings, log_level=log_level)


def _announce_credentials(registry: Registry, settings: Settings) -> None:
    """First start: create the admin key and print it once (it is also kept, mode 0600, for the local CLI)."""
    from ..security.bootstrap import ensure_admin_key

    if not settings.security.auth:
        err_console.print(
            "[bold yellow]warning:[/] authentication is off (SHIPYARD_SECURITY__AUTH=false): every caller is an admin."
        )
        return
    key_file = settings.home / settings.security.admin_key_file
    key = ensure_admin_key(registry.db, settings.home, settings.actor, file_name=settings.security.admin_key_file)
    if key:
        console.print(
            f"First start: created an admin API key. It is shown only now, and kept (mode 0600) in "
            f"{key_file} for the local CLI:\n  {key}\nSend it as `Authorization: Bearer <key>`; "
            "create narrower keys with `shipyard keys create`."
        )


__all__ = ["serve"]
