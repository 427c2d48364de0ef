"""Model references: `models:/churn/3`, `models:/churn@production`, `churn/3`, `churn@staging`, `churn`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ValidationFailed

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
ALIAS_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_REF = re.compile(r"^(?:models:/)?(?P<name>[^/@]+)(?:/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))?$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference. Exactly one of `version` and `alias` is set, or neither (the default version)."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"models:/{self.name}/{self.version}"
        if self.alias is not None:
            return f"models:/{self.name}@{self.alias}"
        return f"models:/{self.name}"


def check_name(name: str, field: str = "name") -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValidationFailed(
            [(field, f"{name!r} is not a valid model name: use 1-128 letters, digits, '_', '-' or '.', starting alnum")]
        )
    return name


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not ALIAS_PATTERN.match(alias) or alias.isdigit() or alias == "latest":
        raise ValidationFailed(
            [("alias", f"{alias!r} is not a valid alias: use a letter then up to 63 letters, digits, '_' or '-'")]
        )
    return alias


def parse_ref(ref: str) -> ModelRef:
    """Parse a model reference; raises `ValidationFailed` naming `ref` when it is malformed."""
    match = _REF.match(ref.strip()) if isinstance(ref, str) else None
    if match is None:
        raise ValidationFailed([("ref", f"{ref!r} is not a model reference; use models:/NAME/VERSION or NAME@ALIAS")])
    name, version, alias = match["name"], match["version"], match["alias"]
    check_name(name)
    if version is not None:
        if version == "latest":
            return ModelRef(name)
        if not version.isdigit() or int(version) < 1:
            raise ValidationFailed([("ref", f"version {version!r} in {ref!r} is not a positive integer")])
        return ModelRef(name, version=int(version))
    if alias is not None:
        return ModelRef(name, alias=check_alias(alias))
    return ModelRef(name)


__all__ = ["ModelRef", "check_alias", "check_name", "parse_ref"]
