"""`ModelVersion`: the immutable record of one registered version, as callers see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..flavors.base import SavedModel


@dataclass(frozen=True)
class ModelVersion:
    """One numbered, immutable version of a registered model."""

    name: str
    version: int
    flavor: str
    digest: str
    size: int
    status: str
    saved: SavedModel
    # JSON documents as stored; Any because they are read at the JSON boundary (CLI, API).
    signature: dict[str, Any] | None
    profile_digest: str | None
    lineage: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, Any]
    tags: dict[str, Any]
    serving: dict[str, Any]
    description: str | None
    parent_version: int | None
    created_at: datetime
    created_by: str
    aliases: tuple[str, ...] = field(default=())
    archived_at: datetime | None = None
    archived_by: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def archived(self) -> bool:
        return self.status == "archived"

    @property
    def uses_pickle(self) -> bool:
        return self.saved.uses_pickle

    def validate(self, payload: object) -> list[tuple[str, str]]:
        """Every problem of `payload` against this version's input signature, as (field, message).

        Empty when the payload fits, or when the version was registered without data (no signature).
        """
        from ..schema import Signature  # the model layer; imported here to keep this value object light

        return Signature.from_dict(self.signature).validate(payload) if self.signature else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "status": self.status,
            "flavor": self.flavor,
            "format": self.saved.format,
            "uses_pickle": self.saved.uses_pickle,
            "digest": self.digest,
            "size": self.size,
            "aliases": list(self.aliases),
            "signature": self.signature,
            "profile_digest": self.profile_digest,
            "lineage": self.lineage,
            "params": self.params,
            "metrics": self.metrics,
            "tags": self.tags,
            "serving": self.serving,
            "requirements": dict(self.saved.requirements),
            "description": self.description,
            "parent_version": self.parent_version,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "archived_at": self.archived_at.isoformat() if self.archived_at else None,
            "archived_by": self.archived_by,
        }

    def __repr__(self) -> str:
        return f"ModelVersion(name={self.name!r}, version={self.version}, digest={self.digest[:19]!r})"


@dataclass(frozen=True)
class RegisteredModelInfo:
    """A registered model: its name, policy, versions count and aliases."""

    name: str
    description: str | None
    requires_approval: bool
    latest_version: int
    aliases: dict[str, int]
    created_at: datetime
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "requires_approval": self.requires_approval,
            "latest_version": self.latest_version,
            "aliases": dict(self.aliases),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }

    def __repr__(self) -> str:
        return f"RegisteredModelInfo(name={self.name!r}, latest_version={self.latest_version})"


__all__ = ["ModelVersion", "RegisteredModelInfo"]
