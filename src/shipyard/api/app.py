"""`create_management_api`: the management HTTP API as a FastAPI app, mounted at `/api/v1`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from .. import __version__
from ..errors import ShipyardError
from ..monitoring.feedback_service import MonitoringService
from ..registry import Registry
from ..retrain import RetrainService
from . import alerts, audit, catalog, deployments, drift, feedback, keys, lifecycle, logs, uploads
from . import retrain as retrain_routes
from .errors import InternalErrorMiddleware, handle_http_exception, handle_shipyard_error, handle_validation_error
from .openapi import install_openapi
from .source import AuditSourceMiddleware

DEFAULT_MAX_UPLOAD_BYTES = 256 * 2**20

_DESCRIPTION = """\
Models, versions, aliases, approvals and the audit trail of a Shipyard registry.

Errors are `{"error": "..."}` naming the field and the problem; a 500 carries only a `request_id`
to find the server log entry. Changes are recorded in the audit trail as the authenticated caller.
"""


def _operation_id(route: APIRoute) -> str:
    return route.name  # the endpoint's function name: list_models, set_alias, ... (unique in this API)


def create_management_api(
    registry: Registry,
    *,
    actor_default: str,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    monitoring: MonitoringService | None = None,
    retrain: RetrainService | None = None,
    status_window_seconds: float = 60.0,
) -> FastAPI:
    """The management API over `registry`, to mount at `/api/v1` of the server's Starlette app.

    Routes are relative (`/models`, `/versions`, `/audit`, ...) and the OpenAPI document is served at
    `openapi.json` beside them, with the mount path as its server URL. Changes are recorded as the
    caller the auth middleware put on `request.state.principal`, else as `actor_default`; roles are
    checked against `shipyard.security.permissions` when there is a principal. Uploads larger than
    `max_upload_bytes` get 413. `/deployments/{name}/status` shows `status_window_seconds` of figures
    unless the request names a `window` (the server passes `deployments.status_window_seconds`).

        api = create_management_api(registry, actor_default=settings.actor)
        app = Starlette(routes=[Mount("/api/v1", app=api), ...])
    """
    if max_upload_bytes < 1:
        raise ValueError(f"max_upload_bytes must be positive, not {max_upload_bytes}")
    if not status_window_seconds > 0:
        raise ValueError(f"status_window_seconds must be positive, not {status_window_seconds}")
    app = FastAPI(
        title="Shipyard management API",
        version=__version__,
        description=_DESCRIPTION,
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        exception_handlers={
            ShipyardError: handle_shipyard_error,
            RequestValidationError: handle_validation_error,
            HTTPException: handle_http_exception,
        },
    )
    app.add_middleware(InternalErrorMiddleware)
    app.add_middleware(AuditSourceMiddleware)
    for module in (catalog, lifecycle, uploads, audit, keys, deployments, logs, feedback, alerts):
        app.include_router(module.router)
    app.include_router(drift.router)
    app.include_router(retrain_routes.router)
    app.state.registry = registry
    app.state.actor_default = actor_default
    app.state.max_upload_bytes = max_upload_bytes
    app.state.status_window_seconds = status_window_seconds  # /deployments/{name}/status without ?window=
    app.state.monitoring = monitoring  # /logs, /feedback, /quality answer 503 without it
    app.state.retrain = retrain  # /retrain: the server's service (alerts, log); else a plain one
    install_openapi(app)
    return app


__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "create_management_api"]
