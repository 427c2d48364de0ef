"""Who may call Shipyard and what they may do: API keys, OIDC tokens, roles, and their enforcement.

- `permissions`: the role × action table and `Principal` (docs/security.md prints the table);
- `keys`: create, list and revoke API keys (`sy_<id>_<secret>`, stored as sha256);
- `tokens`: OIDC / JWT verification against a JWKS;
- `authenticator`: `Authorization` header → `Principal`, revocation within 2 s, failures audited;
- `http_auth`: the ASGI middleware and the request → action map; `access`: the checks;
- `bootstrap`: the admin key of the first start, kept in the home with mode 0600.
"""

from __future__ import annotations

from .access import authorize, role_allows
from .authenticator import ANONYMOUS_ADMIN, Authenticator
from .bootstrap import ensure_admin_key, read_local_key
from .http_auth import AuthMiddleware, Requirement, required_action
from .keys import ApiKeyInfo, KeyService, parse_api_key, parse_expiry
from .permissions import MODEL_SCOPED, PERMISSIONS, Action, Principal, Role, allowed, permission_table
from .tokens import TokenVerifier

__all__ = [
    "ANONYMOUS_ADMIN",
    "MODEL_SCOPED",
    "PERMISSIONS",
    "Action",
    "ApiKeyInfo",
    "AuthMiddleware",
    "Authenticator",
    "KeyService",
    "Principal",
    "Requirement",
    "Role",
    "TokenVerifier",
    "allowed",
    "authorize",
    "ensure_admin_key",
    "parse_api_key",
    "parse_expiry",
    "permission_table",
    "read_local_key",
    "required_action",
    "role_allows",
]
