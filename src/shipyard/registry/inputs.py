"""Checks on what callers attach to a version: params, metrics, tags and serving options."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationFailed
from ..types import JSON, JSONObject

_SERVING_KEYS = {"max_batch_size": (1, 100_000), "max_latency_ms": (0, 60_000)}


def _scalar(value: Any) -> JSON:
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        value = item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return [_scalar(v) for v in value]
    return str(value)


def clean_params(params: Mapping[str, Any] | None) -> JSONObject:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise ValidationFailed([("params", f"must be a mapping of name to value, not {type(params).__name__}")])
    return {str(k): _scalar(v) for k, v in params.items()}


def clean_metrics(metrics: Mapping[str, Any] | None) -> JSONObject:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise ValidationFailed([("metrics", f"must be a mapping of name to number, not {type(metrics).__name__}")])
    cleaned: JSONObject = {}
    problems = []
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            problems.append((f"metrics.{key}", f"{value!r} is not a number"))
            continue
        if not math.isfinite(number):
            problems.append((f"metrics.{key}", f"{value!r} is not finite"))
        cleaned[str(key)] = number
    if problems:
        raise ValidationFailed(problems)
    return cleaned


def clean_tags(tags: Mapping[str, Any] | None) -> JSONObject:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise ValidationFailed([("tags", f"must be a mapping of name to text, not {type(tags).__name__}")])
    return {str(k): str(v) for k, v in tags.items()}


def clean_text(text: str | None, field: str) -> str | None:
    """Free text stored as it is (a description, an approval comment); PostgreSQL cannot store NUL."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValidationFailed([(field, f"must be text, not {type(text).__name__}")])
    if "\x00" in text:
        raise ValidationFailed([(field, "must not contain NUL (\\x00) characters")])
    return text


def clean_serving(serving: Mapping[str, Any] | None) -> JSONObject:
    if serving is None:
        return {}
    if not isinstance(serving, Mapping):
        raise ValidationFailed([("serving", f"must be a mapping, not {type(serving).__name__}")])
    problems: list[tuple[str, str]] = []
    cleaned: dict[str, int | bool] = {}
    for key, value in serving.items():
        if key == "cache":
            if not isinstance(value, bool):
                problems.append(("serving.cache", f"{value!r} is not true or false"))
            else:
                cleaned[key] = value
            continue
        if key not in _SERVING_KEYS:
            problems.append(
                (f"serving.{key}", f"unknown option; known: {', '.join(sorted([*_SERVING_KEYS, 'cache']))}")
            )
            continue
        low, high = _SERVING_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append((f"serving.{key}", f"{value!r} is not an integer from {low} to {high}"))
            continue
        cleaned[key] = value
    if problems:
        raise ValidationFailed(problems)
    return dict(cleaned)


__all__ = ["clean_metrics", "clean_params", "clean_serving", "clean_tags", "clean_text"]
