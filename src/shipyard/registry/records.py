"""Database lookups that the registry needs, with "closest match" errors, and row → value conversions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import AliasNotFound, ModelNotFound, VersionNotFound, closest
from ..flavors.base import SavedModel
from ..store.tables import AliasRow, ModelVersionRow, RegisteredModel
from .model_version import ModelVersion, RegisteredModelInfo

MAX_VERSION = 2**31 - 1
"""The largest version number the database's integer column holds."""


def find_model(session: Session, name: str, *, lock: bool = False) -> RegisteredModel:
    query = select(RegisteredModel).where(RegisteredModel.name == name)
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        names = session.scalars(select(RegisteredModel.name)).all()
        raise ModelNotFound(name, closest(name, names))
    return row


def find_version_row(session: Session, model: RegisteredModel, version: int) -> ModelVersionRow:
    # Outside the column's range no version exists, and PostgreSQL would fail the query itself.
    row = (
        session.scalars(
            select(ModelVersionRow).where(ModelVersionRow.model_id == model.id, ModelVersionRow.version == version)
        ).one_or_none()
        if 1 <= version <= MAX_VERSION
        else None
    )
    if row is None:
        existing = [
            str(v)
            for v in session.scalars(
                select(ModelVersionRow.version)
                .where(ModelVersionRow.model_id == model.id)
                .order_by(ModelVersionRow.version)
            )
        ]
        raise VersionNotFound(model.name, version, closest(str(version), existing) or existing[-3:])
    return row


def aliases_of(session: Session, model: RegisteredModel) -> dict[str, int]:
    rows = session.scalars(select(AliasRow).where(AliasRow.model_id == model.id).order_by(AliasRow.alias))
    return {r.alias: r.version for r in rows}


def find_alias(session: Session, model: RegisteredModel, alias: str) -> AliasRow:
    row = session.get(AliasRow, (model.id, alias))
    if row is None:
        raise AliasNotFound(model.name, alias, closest(alias, aliases_of(session, model)))
    return row


def to_version(model: RegisteredModel, row: ModelVersionRow, aliases: dict[str, int]) -> ModelVersion:
    return ModelVersion(
        name=model.name,
        version=row.version,
        flavor=row.flavor,
        digest=row.artifact_digest,
        size=row.artifact_size,
        status=row.status,
        saved=SavedModel.from_dict(row.saved),
        signature=row.signature,
        profile_digest=row.profile_digest,
        lineage=row.lineage,
        params=row.params,
        metrics=row.metrics,
        tags=row.tags,
        serving=row.serving,
        description=row.description,
        parent_version=row.parent_version,
        created_at=row.created_at,
        created_by=row.created_by,
        aliases=tuple(a for a, v in aliases.items() if v == row.version),
        archived_at=row.archived_at,
        archived_by=row.archived_by,
    )


def to_model_info(model: RegisteredModel, aliases: dict[str, int]) -> RegisteredModelInfo:
    return RegisteredModelInfo(
        name=model.name,
        description=model.description,
        requires_approval=model.requires_approval,
        latest_version=model.latest_version,
        aliases=aliases,
        created_at=model.created_at,
        created_by=model.created_by,
    )


__all__ = ["aliases_of", "find_alias", "find_model", "find_version_row", "to_model_info", "to_version"]
