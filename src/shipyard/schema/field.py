"""One named input or output of a model: its dtype, nullability and shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationFailed, closest
from ..types import JSONObject
from .dtypes import DTYPES, is_float, is_numeric

Problem = tuple[str, str]


@dataclass(frozen=True)
class FieldSpec:
    """What a model expects of one input (or produces as one output).

    `shape` is None for a scalar per row; otherwise it uses -1 for a variable dimension: the
    per-row shape of an array-valued column (e.g. `(-1,)`), or `(-1, 3, 224, 224)` for a tensor
    whose first dimension is the batch. `categories` are the values seen in training for a
    "category" field. `allow_nan` says whether NaN and ±Inf are acceptable in a numeric field.

        >>> FieldSpec("age", "float64", nullable=True, allow_nan=True)
        FieldSpec(name='age', dtype='float64', nullable=True, shape=None, categories=None, allow_nan=True)
    """

    name: str
    dtype: str
    nullable: bool = False
    shape: tuple[int, ...] | None = None
    categories: tuple[str, ...] | None = None
    allow_nan: bool = False

    def __post_init__(self) -> None:
        # Lists sneak in from JSON and from callers; tuples keep the spec hashable.
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(self.shape))
        if self.categories is not None:
            object.__setattr__(self, "categories", tuple(self.categories))
        problems = _problems(self)
        if problems:
            owner = self.name if isinstance(self.name, str) and self.name else "field"
            raise ValidationFailed([(f"{owner}.{attr}", msg) for attr, msg in problems])

    @property
    def is_numeric(self) -> bool:
        return is_numeric(self.dtype)

    def to_dict(self) -> JSONObject:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "nullable": self.nullable,
            "shape": None if self.shape is None else list(self.shape),
            "categories": None if self.categories is None else list(self.categories),
            "allow_nan": self.allow_nan,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "field") -> FieldSpec:
        """Read what `to_dict` wrote; `where` prefixes the field names in problems."""
        if not isinstance(data, Mapping):
            raise ValidationFailed([(where, f"expected an object, got {type(data).__name__}")])
        missing = [key for key in ("name", "dtype") if key not in data]
        if missing:
            raise ValidationFailed([(f"{where}.{key}", "missing") for key in missing])
        shape, categories = data.get("shape"), data.get("categories")
        if shape is not None and not isinstance(shape, list | tuple):
            raise ValidationFailed([(f"{where}.shape", f"expected a list of ints, got {shape!r}")])
        if categories is not None and not isinstance(categories, list | tuple):
            raise ValidationFailed([(f"{where}.categories", f"expected a list of strings, got {categories!r}")])
        try:
            return cls(
                name=data["name"],
                dtype=data["dtype"],
                nullable=bool(data.get("nullable", False)),
                shape=None if shape is None else tuple(shape),
                categories=None if categories is None else tuple(categories),
                allow_nan=bool(data.get("allow_nan", False)),
            )
        except ValidationFailed as exc:
            # Re-root "<name>.<attr>" at `where`, which says where in a document the field sits.
            raise ValidationFailed([(f"{where}.{f.rpartition('.')[2]}", msg) for f, msg in exc.problems]) from exc


def _problems(spec: FieldSpec) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(spec.name, str) or not spec.name:
        problems.append(("name", f"must be a non-empty string, got {spec.name!r}"))
    if spec.dtype not in DTYPES:
        hint = closest(str(spec.dtype), DTYPES)
        suffix = f" Did you mean {hint[0]!r}?" if hint else ""
        problems.append(("dtype", f"unknown dtype {spec.dtype!r}; expected one of {', '.join(DTYPES)}.{suffix}"))
    if spec.shape is not None and not all(type(dim) is int and (dim > 0 or dim == -1) for dim in spec.shape):
        problems.append(("shape", f"dimensions must be positive ints or -1 (variable), got {spec.shape!r}"))
    if spec.categories is not None:
        if spec.dtype != "category":
            problems.append(("categories", f"only a 'category' field has categories, not {spec.dtype!r}"))
        elif not all(isinstance(value, str) for value in spec.categories):
            problems.append(("categories", "categories must be strings"))
    if spec.allow_nan and spec.dtype in DTYPES and not is_float(spec.dtype):
        problems.append(("allow_nan", f"only float fields can hold NaN, not {spec.dtype!r}"))
    return problems


__all__ = ["FieldSpec", "Problem"]
