"""Routes that change a model's state: aliases, approvals, archiving and the approval policy
(`shipyard models alias set/rm`, `approve`, `archive`, `require-approval`). Each writes an audit
event (in the registry) recorded as the authenticated caller."""

from __future__ import annotations

from fastapi import APIRouter, Response

from .deps import CAN_APPROVE, CAN_WRITE, ActorDep, RegistryDep
from .errors import error_responses
from .params import AliasPath, NamePath, VersionPath
from .schemas import AliasIn, ApprovalIn, ApprovalOut, ModelVersionOut, PolicyIn, PolicyOut

router = APIRouter(tags=["lifecycle"])


@router.put("/models/{name}/aliases/{alias}", dependencies=[CAN_WRITE], responses=error_responses(404, 409))
def set_alias(
    name: NamePath, alias: AliasPath, body: AliasIn, registry: RegistryDep, actor: ActorDep
) -> ModelVersionOut:
    """Point the alias at a version (atomically). `production` may need an approval first (409)."""
    return ModelVersionOut.model_validate(registry.set_alias(name, alias, body.version, actor=actor).to_dict())


@router.delete(
    "/models/{name}/aliases/{alias}", status_code=204, dependencies=[CAN_WRITE], responses=error_responses(404)
)
def delete_alias(name: NamePath, alias: AliasPath, registry: RegistryDep, actor: ActorDep) -> Response:
    """Remove the alias; the version it pointed at stays."""
    registry.delete_alias(name, alias, actor=actor)
    return Response(status_code=204)


@router.post(
    "/models/{name}/versions/{version}/approve", dependencies=[CAN_APPROVE], responses=error_responses(404, 409)
)
def approve(
    name: NamePath, version: VersionPath, registry: RegistryDep, actor: ActorDep, body: ApprovalIn | None = None
) -> ApprovalOut:
    """Approve a version for production. The approver must not be who registered it (409)."""
    comment = body.comment if body is not None else None
    registry.approve(name, version, comment=comment, actor=actor)
    return ApprovalOut(name=name, version=version, approved_by=actor, comment=comment)


@router.post("/models/{name}/versions/{version}/archive", dependencies=[CAN_WRITE], responses=error_responses(404))
def archive(name: NamePath, version: VersionPath, registry: RegistryDep, actor: ActorDep) -> ModelVersionOut:
    """Archive a version: its aliases are removed and it can no longer be aliased or served."""
    return ModelVersionOut.model_validate(registry.archive(name, version, actor=actor).to_dict())


@router.put("/models/{name}/policy", dependencies=[CAN_WRITE], responses=error_responses(404))
def set_policy(name: NamePath, body: PolicyIn, registry: RegistryDep, actor: ActorDep) -> PolicyOut:
    """Require (or stop requiring) an approval before a version becomes `production`."""
    registry.set_requires_approval(name, body.requires_approval, actor=actor)
    return PolicyOut(name=name, requires_approval=body.requires_approval)


__all__ = ["router"]
