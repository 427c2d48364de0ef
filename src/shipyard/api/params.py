"""Path and query parameters shared by the routes, with the registry's own patterns and bounds so the
OpenAPI document says exactly what is accepted."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from ..registry.records import MAX_VERSION
from ..registry.uri import ALIAS_PATTERN, NAME_PATTERN

NamePath = Annotated[
    str,
    Path(
        pattern=NAME_PATTERN.pattern,
        description="Model name: 1-128 letters, digits, '_', '-' or '.', starting with a letter or digit.",
        examples=["churn"],
    ),
]
VersionPath = Annotated[int, Path(ge=1, le=MAX_VERSION, description="Version number.", examples=[1])]
AliasPath = Annotated[
    str,
    Path(
        pattern=ALIAS_PATTERN.pattern,
        description="Alias: a letter, then up to 63 letters, digits, '_' or '-'.",
        examples=["production"],
    ),
]
VersionQuery = Annotated[int, Query(ge=1, le=MAX_VERSION)]
IncludeArchived = Annotated[bool, Query(description="Include archived versions.")]
Limit = Annotated[int | None, Query(ge=1, le=10_000, description="At most this many results.")]

__all__ = ["AliasPath", "IncludeArchived", "Limit", "NamePath", "VersionPath", "VersionQuery"]
