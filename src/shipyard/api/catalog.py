"""Read routes: models, versions, aliases, diffs and search (`shipyard models list/show/diff/search`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..registry import ModelRef, diff_versions
from .deps import CAN_READ, RegistryDep
from .errors import error_responses
from .params import AliasPath, IncludeArchived, Limit, NamePath, VersionPath, VersionQuery
from .schemas import DiffRowOut, ModelDetailOut, ModelVersionOut, RegisteredModelOut

router = APIRouter(dependencies=[CAN_READ], tags=["models"])


@router.get("/models", responses=error_responses())
def list_models(registry: RegistryDep) -> list[RegisteredModelOut]:
    """Every registered model with its latest version number, aliases and approval policy."""
    return [RegisteredModelOut.model_validate(m.to_dict()) for m in registry.list_models()]


@router.get("/models/{name}", responses=error_responses(404))
def get_model(name: NamePath, registry: RegistryDep) -> ModelDetailOut:
    """A model with all its versions, archived ones included."""
    info, versions = registry.get_model(name), registry.list_versions(name)
    return ModelDetailOut.model_validate({**info.to_dict(), "versions": [v.to_dict() for v in versions]})


@router.get("/models/{name}/versions", responses=error_responses(404))
def list_versions(
    name: NamePath, registry: RegistryDep, include_archived: IncludeArchived = True
) -> list[ModelVersionOut]:
    """The versions of a model, oldest first."""
    versions = registry.list_versions(name, include_archived=include_archived)
    return [ModelVersionOut.model_validate(v.to_dict()) for v in versions]


@router.get("/models/{name}/versions/{version}", responses=error_responses(404))
def get_version(name: NamePath, version: VersionPath, registry: RegistryDep) -> ModelVersionOut:
    """One version in full: signature, lineage, params, metrics, tags, digest."""
    return ModelVersionOut.model_validate(registry.get_version(name, version).to_dict())


@router.get("/models/{name}/aliases/{alias}", responses=error_responses(404))
def resolve_alias(name: NamePath, alias: AliasPath, registry: RegistryDep) -> ModelVersionOut:
    """The version an alias points at."""
    return ModelVersionOut.model_validate(registry.resolve(ModelRef(name, alias=alias)).to_dict())


@router.get("/models/{name}/diff", responses=error_responses(404))
def diff(name: NamePath, left: VersionQuery, right: VersionQuery, registry: RegistryDep) -> list[DiffRowOut]:
    """Params, metrics, tags, signature and lineage of two versions, row by row."""
    rows = diff_versions(registry.get_version(name, left), registry.get_version(name, right))
    return [DiffRowOut(section=r.section, key=r.key, left=r.left, right=r.right, changed=r.changed) for r in rows]


@router.get("/versions", responses=error_responses())
def search_versions(
    registry: RegistryDep,
    filter: Annotated[
        str | None, Query(description="e.g. `metrics.accuracy > 0.9 and tags.team = 'risk'`", max_length=4096)
    ] = None,
    order_by: Annotated[str | None, Query(description="e.g. `metrics.accuracy desc`", max_length=256)] = None,
    name: Annotated[str | None, Query(description="Only versions of this model.", max_length=128)] = None,
    include_archived: IncludeArchived = False,
    limit: Limit = None,
) -> list[ModelVersionOut]:
    """Versions across models whose metrics, params, tags or lineage match a filter."""
    found = registry.search_versions(
        name, filter=filter, order_by=order_by, include_archived=include_archived, limit=limit
    )
    return [ModelVersionOut.model_validate(v.to_dict()) for v in found]


__all__ = ["router"]
