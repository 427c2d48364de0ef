"""The filter language of `search_versions`, as MLflow users know it.

    metrics.accuracy > 0.9 and tags.team = 'risk' and params.max_depth <= 6

Clauses are joined by `and`; the left side is `metrics.`, `params.`, `tags.` or `lineage.` then a key;
operators are = != < <= > >=; the right side is a number or a quoted or bare string.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationFailed
from .model_version import ModelVersion

_CLAUSE = re.compile(r"^\s*(metrics|params|tags|lineage)\.([\w.-]+)\s*(<=|>=|!=|=|<|>)\s*([^<>=!\s].*?)\s*$")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Clause:
    section: str
    key: str
    op: str
    value: float | str

    def matches(self, version: ModelVersion) -> bool:
        actual = getattr(version, self.section).get(self.key)
        if actual is None:
            return False
        if isinstance(self.value, float):
            try:
                return _OPS[self.op](float(actual), self.value)
            except (TypeError, ValueError):
                return False
        return _OPS[self.op](str(actual), self.value)


def _literal(text: str) -> float | str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return float(text)
    except ValueError:
        return text


def parse_filter(expression: str) -> list[Clause]:
    clauses = []
    for part in _AND.split(expression.strip()) if expression.strip() else []:
        match = _CLAUSE.match(part)
        if match is None:
            raise ValidationFailed(
                [("filter", f"cannot read {part.strip()!r}; write e.g. \"metrics.accuracy > 0.9 and tags.team = 'x'\"")]
            )
        section, key, op, value = match.groups()
        clauses.append(Clause(section, key, op, _literal(value)))
    return clauses


def parse_order(order_by: str) -> tuple[str, str, bool]:
    """`"metrics.accuracy DESC"` → ("metrics", "accuracy", descending=True)."""
    match = re.match(r"^\s*(metrics|params|tags|version|created_at)(?:\.([\w.-]+))?\s*(asc|desc)?\s*$", order_by, re.I)
    if match is None or (match[1] in ("metrics", "params", "tags") and not match[2]):
        raise ValidationFailed([("order_by", f"cannot read {order_by!r}; write e.g. 'metrics.accuracy desc'")])
    return match[1], match[2] or "", (match[3] or "asc").lower() == "desc"


def sort_versions(versions: list[ModelVersion], order_by: str) -> list[ModelVersion]:
    section, key, descending = parse_order(order_by)

    def sort_key(v: ModelVersion) -> tuple[int, Any]:
        if section in ("version", "created_at"):
            return (0, getattr(v, section))
        value = getattr(v, section).get(key)
        if value is None:
            return (1, 0)  # versions without the key go last either way
        return (0, value if isinstance(value, int | float) else str(value))

    present = [v for v in versions if sort_key(v)[0] == 0]
    missing = [v for v in versions if sort_key(v)[0] == 1]
    return sorted(present, key=sort_key, reverse=descending) + missing


__all__ = ["Clause", "parse_filter", "parse_order", "sort_versions"]
