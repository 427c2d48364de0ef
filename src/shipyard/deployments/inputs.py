"""Checking and parsing what callers give a deployment: names, splits, steps, intervals, sticky keys, guards.

Every problem raises `ValidationFailed` naming the field, before anything stored is touched. The
CLI's text forms (`3=50,4=50`, `5,25,50,100`, `10m`, `header:x-user-id`) parse into the same values
the Python and HTTP interfaces take directly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationFailed
from ..registry.uri import NAME_PATTERN
from .routing import UNITS_PER_PERCENT
from .spec import RolloutPolicy, StickySpec

MAX_VERSION = 2**31 - 1
MAX_INTERVAL_SECONDS = 30 * 86_400.0
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h|d)?$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, None: 1.0}


def check_deployment_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValidationFailed(
            [
                (
                    "name",
                    f"{name!r} is not a valid deployment name: 1-128 letters, digits, '_', '-' or '.', starting alnum",
                )
            ]
        )
    return name


def check_version(version: Any, field: str = "version") -> int:
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise ValidationFailed([(field, f"{version!r} is not a version number (a positive integer)")])
    return version


def check_percent(value: Any, field: str, *, allow_zero: bool = True) -> float:
    """A percentage in [0, 100] (or (0, 100]) with at most the routing space's resolution."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed([(field, f"{value!r} is not a number")])
    number = float(value)
    if not math.isfinite(number):
        raise ValidationFailed([(field, f"{value!r} is not a finite number")])
    if number < 0 or number > 100 or (number == 0 and not allow_zero):
        bounds = "between 0 and 100" if allow_zero else "above 0 and at most 100"
        raise ValidationFailed([(field, f"{value!r} must be {bounds} (percent)")])
    if abs(number * UNITS_PER_PERCENT - round(number * UNITS_PER_PERCENT)) > 1e-6:
        raise ValidationFailed([(field, f"{value!r} has more than 4 decimal places")])
    return number


def check_split(split: Mapping[Any, Any], field: str = "split") -> dict[int, float]:
    """{version: percent}: at least one version, weights that are numbers in [0, 100] summing to 100."""
    if not isinstance(split, Mapping) or not split:
        raise ValidationFailed([(field, "give at least one VERSION=PERCENT, e.g. 3=50,4=50")])
    weights: dict[int, float] = {}
    for raw_version, raw_weight in split.items():
        version = _version_key(raw_version, field)
        if version in weights:
            raise ValidationFailed([(field, f"version {version} appears twice")])
        weights[version] = check_percent(raw_weight, f"{field}.{version}")
    total = sum(weights.values())
    if abs(total - 100.0) > 1e-6:
        raise ValidationFailed([(field, f"weights must sum to 100, not {total:g}")])
    return weights


def _version_key(raw: Any, field: str) -> int:
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    return check_version(raw, f"{field}.version")


def parse_split(text: str) -> dict[int, float]:
    """`"3=50,4=50"` → {3: 50.0, 4: 50.0} (checked: see `check_split`)."""
    split: dict[Any, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        version, sep, weight = part.partition("=")
        if not sep or not version.strip():
            raise ValidationFailed([("split", f"{part!r} is not VERSION=PERCENT (e.g. 3=50)")])
        if version.strip() in split:
            raise ValidationFailed([("split", f"version {version.strip()} appears twice")])
        split[version.strip()] = _number(weight, f"split.{version.strip()}")
    return check_split(split)


def _number(text: str, field: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed([(field, f"{text.strip()!r} is not a number")]) from None


def check_steps(steps: Any) -> tuple[float, ...]:
    """Canary weights per step: increasing percentages above 0, the last one 100."""
    if isinstance(steps, str | bytes) or not hasattr(steps, "__iter__"):
        raise ValidationFailed([("steps", f"{steps!r} is not a list of percentages")])
    values = tuple(check_percent(s, f"steps[{i}]", allow_zero=False) for i, s in enumerate(steps))
    if not values:
        raise ValidationFailed([("steps", "give at least one step, e.g. 5,25,50,100")])
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ValidationFailed([("steps", f"{list(values)} must increase step after step")])
    if values[-1] != 100:
        raise ValidationFailed(
            [("steps", f"the last step must be 100 (the canary takes all traffic), not {values[-1]:g}")]
        )
    if len(values) > 100:
        raise ValidationFailed([("steps", "at most 100 steps")])
    return values


def parse_steps(text: str) -> tuple[float, ...]:
    """`"5,25,50,100"` → (5.0, 25.0, 50.0, 100.0)."""
    return check_steps([_number(p, f"steps[{i}]") for i, p in enumerate(text.split(","))])


def check_interval(seconds: Any, field: str = "interval") -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise ValidationFailed([(field, f"{seconds!r} is not a number of seconds")])
    if not 0 < seconds <= MAX_INTERVAL_SECONDS:
        raise ValidationFailed([(field, f"{seconds!r} s must be above 0 and at most 30 days")])
    return float(seconds)


def parse_interval(text: str, field: str = "interval") -> float:
    """`"10m"` → 600.0; units ms, s, m, h, d (seconds without one)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValidationFailed([(field, f"{text!r} is not a duration such as 30s, 10m, 2h or 1d")])
    return check_interval(float(match["n"]) * _SECONDS[match["unit"]], field)


def parse_sticky(text: str | None) -> StickySpec | None:
    """`"header:x-user-id"` or `"param:user"` → StickySpec; `"none"` or empty → None (random routing)."""
    if text is None or text.strip().lower() in ("", "none"):
        return None
    source, sep, key = text.strip().partition(":")
    if not sep or source not in ("header", "param"):
        raise ValidationFailed(
            [("sticky", f"{text!r} is not header:NAME or param:NAME (e.g. header:x-user-id, param:user)")]
        )
    return check_sticky(source, key)


def check_sticky(source: Any, key: Any) -> StickySpec:
    if source not in ("header", "param"):
        raise ValidationFailed([("sticky.source", f"{source!r} must be header or param")])
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValidationFailed(
            [("sticky.key", f"{key!r} is not a header or parameter name: letters, digits, '_', '-', '.'")]
        )
    # HTTP/2 and gRPC carry header names in lower case; parameters keep theirs.
    return StickySpec(source, key.lower() if source == "header" else key)


def _optional_limit(value: Any, field: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationFailed([(field, f"{value!r} is not a finite number")])
    if not low <= value <= high:
        raise ValidationFailed([(field, f"{value!r} must be between {low:g} and {high:g}")])
    return float(value)


def check_policy(policy: RolloutPolicy) -> RolloutPolicy:
    """The policy with every field checked (steps, interval, guards, minimum requests)."""
    if isinstance(policy.min_requests, bool) or not isinstance(policy.min_requests, int):
        raise ValidationFailed([("min_requests", f"{policy.min_requests!r} is not an integer")])
    if not 1 <= policy.min_requests <= 10**9:
        raise ValidationFailed([("min_requests", f"{policy.min_requests} must be between 1 and 1e9")])
    return RolloutPolicy(
        steps=check_steps(policy.steps),
        interval_seconds=check_interval(policy.interval_seconds),
        max_error_rate=_optional_limit(policy.max_error_rate, "max_error_rate", 0.0, 1.0),
        max_p99_ratio=_optional_limit(policy.max_p99_ratio, "max_p99_ratio", 1.0, 1e6),
        max_quality_drop=_optional_limit(policy.max_quality_drop, "max_quality_drop", 0.0, 1e12),
        min_requests=policy.min_requests,
        min_p99_delta_ms=_optional_limit(policy.min_p99_delta_ms, "min_p99_delta_ms", 0.0, 1e7) or 0.0,
    )


__all__ = [
    "check_deployment_name",
    "check_interval",
    "check_percent",
    "check_policy",
    "check_split",
    "check_steps",
    "check_sticky",
    "check_version",
    "parse_interval",
    "parse_split",
    "parse_steps",
    "parse_sticky",
]
