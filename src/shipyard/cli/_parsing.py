"""Parsing of CLI arguments that Typer leaves as text: `key=value` pairs and version references."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ValidationFailed
from ..registry.uri import parse_ref


def key_values(pairs: list[str] | None, option: str) -> dict[str, Any]:
    """`["lr=0.1", "team=risk"]` → `{"lr": 0.1, "team": "risk"}` (values parsed as JSON when they are JSON)."""
    parsed: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationFailed([(option, f"{pair!r} is not KEY=VALUE")])
        try:
            parsed[key.strip()] = json.loads(raw)
        except ValueError:
            parsed[key.strip()] = raw
    return parsed


def version_ref(ref: str) -> tuple[str, int]:
    """`churn/3` or `models:/churn/3` → ("churn", 3); anything else names the problem."""
    parsed = parse_ref(ref)
    if parsed.version is None:
        raise ValidationFailed([("ref", f"{ref!r} does not name a version; write NAME/VERSION, e.g. churn/3")])
    return parsed.name, parsed.version


__all__ = ["key_values", "version_ref"]
