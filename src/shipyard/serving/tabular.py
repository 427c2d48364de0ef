"""V2 input tensors → a block of rows the model takes, checked against the signature, fast.

This is the serving hot path, so it works on whole numpy arrays: a request is a handful of
vectorised checks (names, dtype kinds, shapes, NaN/Inf) and one stack, not a per-value walk.
`shipyard.schema` stays the full, value-by-value validator for everything else.

A tabular model (layout "columns" or "array") accepts either one tensor per input column, named
as in the signature (what MLServer's pandas codec sends), each of shape [n] or [n, 1], or one 2-D
tensor [n, k] with the columns in signature order. A "tensor" model takes its one input as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ValidationFailed, closest
from ..schema import FieldSpec, Signature
from .protocol import InferTensor

Array = np.ndarray[Any, Any]
_NUMERIC_KINDS = {"b": "bool", "i": "int", "u": "int", "f": "float"}
# Which incoming numpy kinds each signature dtype family accepts. Ints are fine for float columns;
# bools only for bool columns; bools are accepted as 0/1 for int columns (a common encoding).
_ACCEPTS = {"float": {"f", "i", "u"}, "int": {"i", "u", "b"}, "bool": {"b", "i", "u"}}


def _family(dtype: str) -> str | None:
    if dtype.startswith("float"):
        return "float"
    if dtype.startswith(("int", "uint")):
        return "int"
    if dtype == "bool":
        return "bool"
    return None


@dataclass(frozen=True)
class InputPlan:
    """What the signature needs, precomputed once per model version."""

    signature: Signature
    names: tuple[str, ...]
    families: tuple[str | None, ...]
    allow_nan: Array  # bool per column
    numeric: bool  # every column numeric: rows travel as one float block

    @classmethod
    def from_signature(cls, signature: Signature) -> InputPlan:
        families = tuple(_family(spec.dtype) for spec in signature.inputs)
        return cls(
            signature=signature,
            names=signature.input_names,
            families=families,
            allow_nan=np.array([spec.allow_nan for spec in signature.inputs], dtype=bool),
            numeric=all(f is not None for f in families) and signature.layout != "tensor",
        )


Rows = Array | dict[str, Array]
"""A request's rows: one 2-D block (numeric tabular or tensor models) or named 1-D columns."""


def _check_kind(tensor: InferTensor, family: str | None, field: str) -> None:
    kind = tensor.data.dtype.kind
    if family is None:
        return
    if kind not in _ACCEPTS[family]:
        raise ValidationFailed([(field, f"datatype {tensor.datatype} does not fit this {family} input")])
    if family == "int" and kind == "f":  # pragma: no cover - excluded by _ACCEPTS, kept for clarity
        raise ValidationFailed([(field, "expects integers")])


def _check_finite(block: Array, plan: InputPlan, names: tuple[str, ...]) -> None:
    if block.dtype.kind != "f":
        return
    bad = ~np.isfinite(block)
    if not bad.any():
        return
    columns = np.flatnonzero(bad.any(axis=0) & ~plan.allow_nan[: block.shape[1]])
    if columns.size:
        raise ValidationFailed([(names[c], "NaN or Inf is not allowed for this input") for c in columns])


def _single_block(tensor: InferTensor, plan: InputPlan) -> Array:
    data = tensor.data
    if data.ndim != 2 or data.shape[1] != len(plan.names):
        raise ValidationFailed(
            [
                (
                    tensor.name,
                    f"shape {list(tensor.shape)} does not fit: expected [rows, {len(plan.names)}] "
                    f"(the columns {', '.join(plan.names[:3])}{', …' if len(plan.names) > 3 else ''})",
                )
            ]
        )
    for family in set(plan.families):
        _check_kind(tensor, family, tensor.name)
    block = data.astype(np.float64, copy=False)
    _check_finite(block, plan, plan.names)
    return block


def _column(tensor: InferTensor) -> Array:
    data = tensor.data
    if data.ndim == 2 and data.shape[1] == 1:
        return data[:, 0]
    if data.ndim != 1:
        raise ValidationFailed(
            [(tensor.name, f"shape {list(tensor.shape)} is not one column: use [rows] or [rows, 1]")]
        )
    return data


def _columns(tensors: list[InferTensor], plan: InputPlan) -> dict[str, Array]:
    by_name = {t.name: t for t in tensors}
    problems = [(name, "missing input") for name in plan.names if name not in by_name]
    for name in by_name.keys() - set(plan.names):
        hint = closest(name, plan.names, n=1)
        problems.append((name, "unknown input" + (f"; did you mean {hint[0]!r}?" if hint else "")))
    if problems:
        raise ValidationFailed(problems)
    columns = {name: _column(by_name[name]) for name in plan.names}
    lengths = {len(c) for c in columns.values()}
    if len(lengths) > 1:
        raise ValidationFailed(
            [
                (name, f"has {len(c)} rows; the inputs disagree ({sorted(lengths)})")
                for name, c in columns.items()
                if len(c) != max(lengths)
            ][:5]
        )
    for name, family in zip(plan.names, plan.families, strict=True):
        _check_kind(by_name[name], family, name)
    return columns


def decode_rows(tensors: list[InferTensor], plan: InputPlan) -> tuple[Rows, int]:
    """The request's rows for the model, and how many; `ValidationFailed` naming each bad input."""
    if not tensors:
        raise ValidationFailed([("inputs", "no inputs")])
    if plan.signature.layout == "tensor":
        return _tensor_rows(tensors, plan.signature.inputs[0])
    if _is_single_block(tensors, plan):
        block = _single_block(tensors[0], plan)
        return block, block.shape[0]
    columns = _columns(tensors, plan)
    rows = len(next(iter(columns.values())))
    if plan.numeric:
        block = np.empty((rows, len(plan.names)), dtype=np.float64)
        for i, column in enumerate(columns.values()):
            block[:, i] = column
        _check_finite(block, plan, plan.names)
        return block, rows
    # Text, category or datetime columns: the full value-by-value check of the schema package.
    plan.signature.check({name: list(_decoded(column)) for name, column in columns.items()})
    return columns, rows


def _is_single_block(tensors: list[InferTensor], plan: InputPlan) -> bool:
    if len(tensors) != 1:
        return False
    tensor = tensors[0]
    if tensor.name not in plan.names:
        return True
    return len(plan.names) > 1 and tensor.data.ndim == 2 and tensor.data.shape[1] == len(plan.names)


def _tensor_rows(tensors: list[InferTensor], spec: FieldSpec) -> tuple[Rows, int]:
    if len(tensors) != 1:
        raise ValidationFailed([("inputs", f"this model takes one tensor ({spec.name!r}), got {len(tensors)}")])
    data = tensors[0].data
    expected = spec.shape or ()
    if data.ndim != len(expected) or any(e not in (-1, d) for e, d in zip(expected[1:], data.shape[1:], strict=False)):
        raise ValidationFailed([(tensors[0].name, f"shape {list(data.shape)} does not fit {list(expected)}")])
    return data, int(data.shape[0]) if data.ndim else 1


def merge_rows(parts: list[Rows]) -> Rows:
    """Stack the rows of several requests into one batch (same kind of parts, in order)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if isinstance(first, dict):
        return {name: np.concatenate([p[name] for p in parts if isinstance(p, dict)]) for name in first}
    return np.concatenate([p for p in parts if not isinstance(p, dict)])


def model_input(rows: Rows, plan: InputPlan) -> pd.DataFrame | Array:
    """What the model's `predict` takes: a DataFrame with the training columns, or the array itself."""
    layout = plan.signature.layout
    if layout == "columns":
        if isinstance(rows, dict):
            return pd.DataFrame({spec.name: _as_dtype(rows[spec.name], spec) for spec in plan.signature.inputs})
        return pd.DataFrame(rows, columns=list(plan.names), copy=False)
    if isinstance(rows, dict):
        return np.column_stack([rows[name] for name in plan.names])
    return rows


def _decoded(values: Array) -> Array:
    """BYTES tensors carry `bytes`; text columns want `str`."""
    if values.dtype != object:
        return values
    return np.array([v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values], dtype=object)


def _as_dtype(values: Array, spec: FieldSpec) -> Any:
    if spec.dtype in ("string", "category"):
        return _decoded(values)
    if spec.dtype == "datetime":
        return pd.to_datetime(_decoded(values))
    return values


__all__ = ["InputPlan", "Rows", "decode_rows", "merge_rows", "model_input"]
