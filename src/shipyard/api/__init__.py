"""Edge: the management HTTP API (`/api/v1/...`) over the registry, with its OpenAPI document.

from shipyard.api import create_management_api
app = Starlette(routes=[Mount("/api/v1", app=create_management_api(registry, actor_default="admin"))])
"""

from __future__ import annotations

from .app import DEFAULT_MAX_UPLOAD_BYTES, create_management_api

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "create_management_api"]
