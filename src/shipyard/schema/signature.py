"""A model's signature: the inputs it takes, the outputs it gives, and how its input is laid out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ..errors import ValidationFailed
from ..types import JSONObject
from .field import FieldSpec, Problem
from .validation import validate_payload

Layout = Literal["columns", "array", "tensor"]
LAYOUTS: tuple[str, ...] = get_args(Layout)


@dataclass(frozen=True)
class Signature:
    """What a model takes and gives, inferred at registration and checked on every request.

    `layout` says what the model was trained on: "columns" (a DataFrame: each input is a
    column), "array" (a 2-D array: inputs "x0".."x{n-1}" are its columns, the model takes one
    array) or "tensor" (one N-D input named "input", shape `(-1, ...)`).

        >>> sig = Signature((FieldSpec("x", "float64"),), (FieldSpec("predict", "int64", shape=(-1,)),), "columns")
        >>> sig.validate({"x": [1.5, "a"]})
        [('x', "expected float64, got string 'a' at row 1")]
    """

    inputs: tuple[FieldSpec, ...]
    outputs: tuple[FieldSpec, ...] = ()
    layout: Layout = "columns"

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        problems = _problems(self)
        if problems:
            raise ValidationFailed(problems)

    def __repr__(self) -> str:
        outputs = [spec.name for spec in self.outputs]
        return f"Signature(layout={self.layout!r}, inputs={len(self.inputs)}, outputs={outputs!r})"

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    def validate(self, payload: object, *, max_rows: int | None = None) -> list[Problem]:
        """Every problem of `payload` as (field, message); empty when the model can take it.

        Field "" marks a problem of the payload as a whole ("no rows", not a table, wrong number
        of columns). A category value not seen in training is not a problem: drift reports it.
        """
        return validate_payload(self, payload, max_rows)

    def check(self, payload: object, *, max_rows: int | None = None) -> None:
        """Raise `ValidationFailed` listing every problem of `payload`, if it has any."""
        problems = self.validate(payload, max_rows=max_rows)
        if problems:
            raise ValidationFailed(problems)

    def to_dict(self) -> JSONObject:
        return {
            "layout": self.layout,
            "inputs": [spec.to_dict() for spec in self.inputs],
            "outputs": [spec.to_dict() for spec in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        """Read what `to_dict` wrote; problems name their place, e.g. "signature.inputs[2].dtype"."""
        if not isinstance(data, Mapping):
            raise ValidationFailed([("signature", f"expected an object, got {type(data).__name__}")])
        problems: list[Problem] = []
        specs: dict[str, list[FieldSpec]] = {"inputs": [], "outputs": []}
        for part, found in specs.items():
            items = data.get(part, [] if part == "outputs" else None)
            if not isinstance(items, list | tuple):
                problems.append((f"signature.{part}", f"expected a list of fields, got {items!r}"))
                continue
            for index, item in enumerate(items):
                try:
                    found.append(FieldSpec.from_dict(item, where=f"signature.{part}[{index}]"))
                except ValidationFailed as exc:
                    problems += exc.problems
        if problems:
            raise ValidationFailed(problems)
        try:
            return cls(tuple(specs["inputs"]), tuple(specs["outputs"]), data.get("layout", "columns"))
        except ValidationFailed as exc:
            raise ValidationFailed([(f"signature.{field}", msg) for field, msg in exc.problems]) from exc


def _problems(signature: Signature) -> list[Problem]:
    problems: list[Problem] = []
    if signature.layout not in LAYOUTS:
        problems.append(("layout", f"unknown layout {signature.layout!r}; expected one of {', '.join(LAYOUTS)}"))
    if not signature.inputs:
        problems.append(("inputs", "a signature needs at least one input"))
    for part in ("inputs", "outputs"):
        counts = Counter(spec.name for spec in getattr(signature, part))
        dupes = sorted(name for name, count in counts.items() if count > 1)
        problems += [(part, f"{name!r} appears more than once") for name in dupes]
    if signature.layout == "tensor" and (len(signature.inputs) != 1 or signature.inputs[0].shape is None):
        problems.append(("inputs", "a tensor signature has exactly one input, with a shape"))
    return problems


__all__ = ["LAYOUTS", "FieldSpec", "Layout", "Signature"]
