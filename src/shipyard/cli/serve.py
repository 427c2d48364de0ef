"""`shipyard serve`: the inference server over every registered model."""

from __future__ import annotations

import typer

from ..config import load_settings
from ._output import console


def serve(
    host: str | None = typer.Option(None, "--host", help="Interface to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="HTTP port (default 8080)."),
    grpc_port: int | None = typer.Option(None, "--grpc-port", help="gRPC port (default 8081)."),
    no_grpc: bool = typer.Option(False, "--no-grpc", help="Do not serve gRPC."),
    workers: int | None = typer.Option(None, "--workers", min=1, max=64, help="Worker processes (default 1)."),
    preload: bool = typer.Option(False, "--preload", help="Load every model at start instead of on first use."),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn/Shipyard log level."),
) -> None:
    """Serve every registered model over V2 REST + gRPC and V1 (`{m}` = model name or NAME/versions/V)."""
    from ..registry import open_registry
    from ..serving.server import run_server

    overrides = {"host": host, "port": port, "grpc_port": grpc_port, "workers": workers}
    server = {k: v for k, v in overrides.items() if v is not None}
    if preload:
        server["preload"] = True
    settings = load_settings()
    merged = settings.server.model_copy(update=server)
    if no_grpc:
        merged = merged.model_copy(update={"grpc_port": None})
    settings = settings.model_copy(update={"server": merged})
    models = open_registry(settings).list_models()  # fails early, with one line, on a bad DB setting
    grpc = f", gRPC on {merged.host}:{merged.grpc_port}" if merged.grpc_port is not None else ""
    console.print(
        f"Serving {len(models)} model(s) on http://{merged.host}:{merged.port}{grpc} "
        f"with {merged.workers} worker(s). V2: /v2/models/NAME/infer · V1: /v1/models/NAME:predict"
    )
    run_server(settings, log_level=log_level)


__all__ = ["serve"]
