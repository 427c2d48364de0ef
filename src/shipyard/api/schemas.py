"""The JSON bodies of the management API, as pydantic models: they validate requests and make the
OpenAPI document precise. Response shapes are those of the domain's `to_dict()` (what the CLI's
`--json` prints), with every time in RFC 3339 with its UTC offset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time Shipyard stores is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_as_utc)]


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _In(BaseModel):
    # Strict: "3" is not a version and "yes" is not a boolean; unknown keys are typos worth reporting.
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorOut(_Out):
    """Every error: what happened, the value at fault and what to do next."""

    error: str
    request_id: str | None = Field(default=None, description="Only on 500: quote it to find the server log entry.")


class ModelVersionOut(_Out):
    name: str
    version: int
    uri: str = Field(examples=["models:/churn/3"])
    status: str = Field(examples=["ready", "archived"])
    flavor: str
    format: str
    uses_pickle: bool
    digest: str = Field(examples=["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
    size: int
    aliases: list[str]
    signature: dict[str, Any] | None
    profile_digest: str | None
    lineage: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    serving: dict[str, Any]
    requirements: dict[str, str]
    description: str | None
    parent_version: int | None
    created_at: UtcTime
    created_by: str
    archived_at: UtcTime | None
    archived_by: str | None


class RegisteredModelOut(_Out):
    name: str
    description: str | None
    requires_approval: bool
    latest_version: int
    aliases: dict[str, int]
    created_at: UtcTime
    created_by: str


class ModelDetailOut(RegisteredModelOut):
    versions: list[ModelVersionOut]


class DiffRowOut(_Out):
    section: str = Field(examples=["params", "metrics", "tags", "signature", "lineage", "version"])
    key: str
    left: Any
    right: Any
    changed: bool


class AuditEventOut(_Out):
    id: int
    at: UtcTime
    actor: str
    action: str = Field(examples=["version.register", "alias.set"])
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source: str | None


class ApprovalOut(_Out):
    name: str
    version: int
    approved_by: str
    comment: str | None


class PolicyOut(_Out):
    name: str
    requires_approval: bool


class AliasIn(_In):
    version: int = Field(ge=1, description="The version the alias will point at.")


class ApprovalIn(_In):
    comment: str | None = Field(default=None, max_length=10_000)


class PolicyIn(_In):
    requires_approval: bool


__all__ = [
    "AliasIn",
    "ApprovalIn",
    "ApprovalOut",
    "AuditEventOut",
    "DiffRowOut",
    "ErrorOut",
    "ModelDetailOut",
    "ModelVersionOut",
    "PolicyIn",
    "PolicyOut",
    "RegisteredModelOut",
    "UtcTime",
]
