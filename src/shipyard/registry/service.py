"""The registry service: versions, aliases, approvals, archive, load. SDK, CLI and API all call it."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..artifacts import ArtifactStore
from ..config import RegistrySettings
from ..errors import ApprovalRequired, Conflict, ValidationFailed, VersionArchived
from ..flavors import get_flavor
from ..flavors.base import LoadedModel
from ..store import Database, record_event
from ..store.tables import AliasRow, ApprovalRow, ModelVersionRow, RegisteredModel, utcnow
from ..types import Digest, JSONObject
from . import records
from .inputs import clean_metrics, clean_params, clean_serving, clean_tags, clean_text
from .model_version import ModelVersion, RegisteredModelInfo
from .packing import unpack_archive
from .preparation import PreparedVersion, choose_flavor, prepare_version
from .search import parse_filter, sort_versions
from .uri import ModelRef, check_alias, check_name, parse_ref

PRODUCTION = "production"


class Registry:
    """Versions of models with lineage, aliases, approvals and an audit trail.

    `actor` is who the changes are recorded as, unless a call names another.
    """

    def __init__(self, db: Database, artifacts: ArtifactStore, settings: RegistrySettings, actor: str) -> None:
        self.db = db
        self.artifacts = artifacts
        self.settings = settings
        self.actor = actor

    def __repr__(self) -> str:
        return f"Registry(db={self.db!r}, artifacts={self.artifacts.url!r})"

    # -- registration ---------------------------------------------------------------------------

    def register(
        self,
        model: object,
        name: str,
        *,
        data: Any = None,
        target: Any = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        flavor: str | None = None,
        signature: JSONObject | None = None,
        derived_from: str | None = None,
        requires_approval: bool | None = None,
        serving: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> ModelVersion:
        """Save `model` as the next version of `name` and return it. See `shipyard.register`."""
        check_name(name)
        actor = actor or self.actor
        description = clean_text(description, "description")
        fields = {
            "params": clean_params(params),
            "metrics": clean_metrics(metrics),
            "tags": clean_tags(tags),
            "serving": clean_serving(serving),
        }
        parent = self.resolve(derived_from) if derived_from else None
        prepared = prepare_version(
            model,
            flavor=choose_flavor(model, flavor),
            artifacts=self.artifacts,
            settings=self.settings,
            actor=actor,
            data=data,
            target=target,
            signature=signature,
            derived_from={"name": parent.name, "version": parent.version} if parent else None,
        )
        parent_version = parent.version if parent and parent.name == name else None
        return self._insert_version(name, prepared, fields, description, parent_version, requires_approval, actor)

    def _insert_version(
        self,
        name: str,
        prepared: PreparedVersion,
        fields: dict[str, JSONObject],
        description: str | None,
        parent_version: int | None,
        requires_approval: bool | None,
        actor: str,
    ) -> ModelVersion:
        with self.db.write() as session:
            model = self._ensure_model(session, name, actor, requires_approval)
            model.latest_version += 1
            row = ModelVersionRow(
                model_id=model.id,
                version=model.latest_version,
                status="ready",
                flavor=prepared.flavor,
                saved=prepared.saved.to_dict(),
                artifact_digest=prepared.digest,
                artifact_size=prepared.size,
                signature=prepared.signature,
                profile_digest=prepared.profile_digest,
                lineage=prepared.lineage,
                description=description,
                parent_version=parent_version,
                created_at=utcnow(),
                created_by=actor,
                **fields,
            )
            session.add(row)
            session.flush()
            version = records.to_version(model, row, {})
            record_event(
                session,
                actor=actor,
                action="version.register",
                target=f"{name}/{row.version}",
                after={"digest": prepared.digest, "flavor": prepared.flavor, "uses_pickle": prepared.saved.uses_pickle},
            )
        return version

    def _ensure_model(self, session: Session, name: str, actor: str, requires_approval: bool | None) -> RegisteredModel:
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        result = session.execute(
            insert(RegisteredModel)
            .values(
                name=name,
                created_by=actor,
                created_at=utcnow(),
                latest_version=0,
                requires_approval=bool(requires_approval),
            )
            .on_conflict_do_nothing(index_elements=["name"])
        )
        created = getattr(result, "rowcount", 0)  # a CursorResult for INSERT; Result's type does not say so
        model = records.find_model(session, name, lock=True)
        if created:
            record_event(
                session,
                actor=actor,
                action="model.create",
                target=name,
                after={"requires_approval": model.requires_approval},
            )
        elif requires_approval is not None and requires_approval != model.requires_approval:
            self._set_policy(session, model, requires_approval, actor)
        return model

    # -- queries ----------------------------------------------------------------------------------

    def list_models(self) -> list[RegisteredModelInfo]:
        with self.db.read() as session:
            models = session.scalars(select(RegisteredModel).order_by(RegisteredModel.name)).all()
            return [records.to_model_info(m, records.aliases_of(session, m)) for m in models]

    def get_model(self, name: str) -> RegisteredModelInfo:
        with self.db.read() as session:
            model = records.find_model(session, name)
            return records.to_model_info(model, records.aliases_of(session, model))

    def list_versions(self, name: str, *, include_archived: bool = True) -> list[ModelVersion]:
        with self.db.read() as session:
            model = records.find_model(session, name)
            return self._versions(session, model, include_archived)

    def _versions(self, session: Session, model: RegisteredModel, include_archived: bool) -> list[ModelVersion]:
        aliases = records.aliases_of(session, model)
        query = select(ModelVersionRow).where(ModelVersionRow.model_id == model.id)
        if not include_archived:
            query = query.where(ModelVersionRow.status != "archived")
        rows = session.scalars(query.order_by(ModelVersionRow.version))
        return [records.to_version(model, row, aliases) for row in rows]

    def get_version(self, name: str, version: int) -> ModelVersion:
        with self.db.read() as session:
            model = records.find_model(session, name)
            row = records.find_version_row(session, model, version)
            return records.to_version(model, row, records.aliases_of(session, model))

    def resolve(self, ref: str | ModelRef) -> ModelVersion:
        """The version `ref` names. A bare name means its `production` alias, else its latest ready version."""
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        with self.db.read() as session:
            model = records.find_model(session, parsed.name)
            if parsed.version is not None:
                number = parsed.version
            elif parsed.alias is not None:
                number = records.find_alias(session, model, parsed.alias).version
            else:
                number = self._default_version(session, model)
            row = records.find_version_row(session, model, number)
            return records.to_version(model, row, records.aliases_of(session, model))

    def _default_version(self, session: Session, model: RegisteredModel) -> int:
        production = session.get(AliasRow, (model.id, PRODUCTION))
        if production is not None:
            return production.version
        latest = session.scalars(
            select(ModelVersionRow.version)
            .where(ModelVersionRow.model_id == model.id, ModelVersionRow.status != "archived")
            .order_by(ModelVersionRow.version.desc())
            .limit(1)
        ).first()
        if latest is None:
            raise VersionArchived(model.name, model.latest_version)
        return latest

    def search_versions(
        self,
        name: str | None = None,
        *,
        filter: str | None = None,
        tags: Mapping[str, str] | None = None,
        order_by: str | None = None,
        include_archived: bool = False,
        limit: int | None = None,
    ) -> list[ModelVersion]:
        """Versions matching a filter such as `"metrics.accuracy > 0.9 and tags.team = 'risk'"`."""
        clauses = parse_filter(filter or "")
        with self.db.read() as session:
            query = select(RegisteredModel).order_by(RegisteredModel.name)
            if name is not None:
                query = query.where(RegisteredModel.name == check_name(name))
            found = [v for m in session.scalars(query).all() for v in self._versions(session, m, include_archived)]
        wanted = {str(k): str(v) for k, v in (tags or {}).items()}
        found = [
            v
            for v in found
            if all(c.matches(v) for c in clauses) and all(v.tags.get(k) == t for k, t in wanted.items())
        ]
        if order_by:
            found = sort_versions(found, order_by)
        return found[:limit] if limit is not None else found

    # -- lifecycle ----------------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int, *, actor: str | None = None) -> ModelVersion:
        """Point `alias` of `name` at `version` (atomically). Production may need an approval first."""
        check_alias(alias)
        actor = actor or self.actor
        with self.db.write() as session:
            model = records.find_model(session, name, lock=True)
            row = records.find_version_row(session, model, version)
            if row.status == "archived":
                raise VersionArchived(name, version)
            if alias == PRODUCTION and model.requires_approval and not self._approved(session, model, row):
                raise ApprovalRequired(name, version, alias)
            current = session.get(AliasRow, (model.id, alias))
            before = {"version": current.version} if current else None
            if current is None:
                session.add(
                    AliasRow(model_id=model.id, alias=alias, version=version, updated_by=actor, updated_at=utcnow())
                )
            else:
                current.version, current.updated_by, current.updated_at = version, actor, utcnow()
            record_event(
                session,
                actor=actor,
                action="alias.set",
                target=f"{name}@{alias}",
                before=before,
                after={"version": version},
            )
            session.flush()
            return records.to_version(model, row, records.aliases_of(session, model))

    def delete_alias(self, name: str, alias: str, *, actor: str | None = None) -> None:
        actor = actor or self.actor
        with self.db.write() as session:
            model = records.find_model(session, name, lock=True)
            row = records.find_alias(session, model, alias)
            record_event(
                session, actor=actor, action="alias.delete", target=f"{name}@{alias}", before={"version": row.version}
            )
            session.delete(row)

    def _approved(self, session: Session, model: RegisteredModel, row: ModelVersionRow) -> bool:
        approvers = session.scalars(
            select(ApprovalRow.approved_by).where(ApprovalRow.model_id == model.id, ApprovalRow.version == row.version)
        ).all()
        return any(a != row.created_by for a in approvers)

    def approve(self, name: str, version: int, *, comment: str | None = None, actor: str | None = None) -> None:
        """Approve a version for production. The approver must not be the user who registered it."""
        actor = actor or self.actor
        comment = clean_text(comment, "comment")
        with self.db.write() as session:
            model = records.find_model(session, name)
            row = records.find_version_row(session, model, version)
            if row.status == "archived":
                raise VersionArchived(name, version)
            if row.created_by == actor:
                raise Conflict(
                    f"{actor!r} registered {name} v{version} and so cannot approve it; ask a different user to approve."
                )
            exists = session.scalars(
                select(ApprovalRow).where(
                    ApprovalRow.model_id == model.id, ApprovalRow.version == version, ApprovalRow.approved_by == actor
                )
            ).first()
            if exists is not None:
                return
            session.add(
                ApprovalRow(
                    model_id=model.id, version=version, approved_by=actor, comment=comment, approved_at=utcnow()
                )
            )
            record_event(
                session, actor=actor, action="version.approve", target=f"{name}/{version}", after={"comment": comment}
            )

    def archive(self, name: str, version: int, *, actor: str | None = None) -> ModelVersion:
        """Archive a version: it loses its aliases and can no longer be aliased or served."""
        actor = actor or self.actor
        with self.db.write() as session:
            model = records.find_model(session, name, lock=True)
            row = records.find_version_row(session, model, version)
            if row.status == "archived":
                return records.to_version(model, row, {})
            dropped = sorted(a for a, v in records.aliases_of(session, model).items() if v == version)
            session.execute(delete(AliasRow).where(AliasRow.model_id == model.id, AliasRow.version == version))
            row.status, row.archived_at, row.archived_by = "archived", utcnow(), actor
            record_event(
                session,
                actor=actor,
                action="version.archive",
                target=f"{name}/{version}",
                before={"status": "ready", "aliases": dropped},
                after={"status": "archived"},
            )
            session.flush()
            return records.to_version(model, row, {})

    def set_requires_approval(self, name: str, required: bool, *, actor: str | None = None) -> None:
        with self.db.write() as session:
            model = records.find_model(session, name, lock=True)
            self._set_policy(session, model, required, actor or self.actor)

    def _set_policy(self, session: Session, model: RegisteredModel, required: bool, actor: str) -> None:
        if model.requires_approval == required:
            return
        record_event(
            session,
            actor=actor,
            action="model.policy",
            target=model.name,
            before={"requires_approval": model.requires_approval},
            after={"requires_approval": required},
        )
        model.requires_approval = required

    # -- loading ------------------------------------------------------------------------------------

    def load(self, ref: str | ModelRef | ModelVersion) -> LoadedModel:
        """Load a registered version. Its artifact is verified against the recorded sha256 first."""
        version = ref if isinstance(ref, ModelVersion) else self.resolve(ref)
        if version.archived:
            raise VersionArchived(version.name, version.version)
        return self.load_artifact(version)

    def load_artifact(self, version: ModelVersion) -> LoadedModel:
        archive = self.artifacts.fetch(Digest(version.digest))  # verified against the digest on every read
        with tempfile.TemporaryDirectory(prefix="shipyard-load-") as tmp:
            folder = unpack_archive(archive, Path(tmp) / "model")
            # Pickle formats are allowed here and only here: the bytes are the ones an authenticated
            # registration stored, checked against the registry's sha256 just above.
            return get_flavor(version.flavor).load(folder, version.saved, allow_pickle=True)

    def load_profile_bytes(self, version: ModelVersion) -> bytes | None:
        return self.artifacts.get_bytes(Digest(version.profile_digest)) if version.profile_digest else None


def validate_version_number(value: object, field: str = "version") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationFailed([(field, f"{value!r} is not a positive integer")])
    return value


__all__ = ["PRODUCTION", "Registry", "validate_version_number"]
