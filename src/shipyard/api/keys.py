"""`/keys`: create, list and revoke API keys (`shipyard keys …`); admins only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from ..security.keys import KeyService, parse_expiry
from ..security.permissions import Action
from .deps import ActorDep, RegistryDep, require
from .errors import error_responses

router = APIRouter(dependencies=[Depends(require(Action.KEYS_MANAGE))], tags=["keys"])


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=128, description="What the key is for, e.g. `churn-app`.")
    roles: list[str] = Field(min_length=1, description="admin, deployer, predictor and/or viewer.")
    scope: list[str] | None = Field(None, description="Model or deployment names the key is limited to.")
    expires: str | None = Field(None, description="`30d`, `12h`, or a date/time (ISO 8601).")
    description: str | None = Field(None, max_length=1000)


class KeyOut(BaseModel):
    id: str
    name: str
    description: str | None = None
    roles: list[str]
    scope: list[str] | None = None
    status: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_used_at: datetime | None = None


class CreatedKeyOut(KeyOut):
    key: str = Field(description="The secret: shown in this response only, stored only as a hash.")


def _service(registry: RegistryDep) -> KeyService:
    return KeyService(registry.db)


ServiceDep = Annotated[KeyService, Depends(_service)]


def _source(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/keys", status_code=201, responses=error_responses(400))
def create_key(body: KeyIn, service: ServiceDep, actor: ActorDep, request: Request) -> CreatedKeyOut:
    """Create a key. The secret is in this response only; keep it, it cannot be shown again."""
    expires_at = parse_expiry(body.expires) if body.expires else None
    info, plaintext = service.create(
        body.name,
        body.roles,
        body.scope,
        expires_at,
        actor=actor,
        description=body.description,
        source=_source(request),
    )
    return CreatedKeyOut.model_validate({**info.to_dict(), "key": plaintext})


@router.get("/keys", responses=error_responses())
def list_keys(service: ServiceDep, include_revoked: Annotated[bool, Query(alias="all")] = False) -> list[KeyOut]:
    """Every key (revoked ones with `all=true`), never a secret."""
    return [KeyOut.model_validate(info.to_dict()) for info in service.list(include_revoked)]


@router.delete("/keys/{key_id}", responses=error_responses(404, 409))
def revoke_key(key_id: str, service: ServiceDep, actor: ActorDep, request: Request) -> KeyOut:
    """Revoke a key; every worker and replica refuses it within about two seconds."""
    return KeyOut.model_validate(service.revoke(key_id, actor=actor, source=_source(request)).to_dict())


__all__ = ["router"]
