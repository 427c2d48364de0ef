"""Checking a request payload against a signature, reporting every problem with the field it concerns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import closest
from ._cells import check_column, check_tensor
from ._payload import Columns, tabulate, tensor_value
from .field import FieldSpec, Problem

if TYPE_CHECKING:
    from .signature import Signature

_HINTS = 5


def validate_payload(signature: Signature, payload: object, max_rows: int | None = None) -> list[Problem]:
    """Every problem of `payload` against `signature` as (field, message); empty when it fits.

    Problems about the payload as a whole (not a table, no rows, wrong column count) have the
    field "".
    """
    if signature.layout == "tensor":
        return _validate_tensor(signature.inputs[0], payload, max_rows)
    columns, problems = tabulate(payload, signature.input_names)
    if not columns:
        return problems or [("", "no rows")]
    reported = {field for field, _ in problems}
    problems += _names(signature.inputs, columns, reported)
    problems += _lengths(columns, max_rows)
    for spec in signature.inputs:
        if spec.name in columns and spec.name not in reported:
            problems += [(spec.name, message) for message in check_column(spec, columns[spec.name])]
    return problems


def _validate_tensor(spec: FieldSpec, payload: object, max_rows: int | None) -> list[Problem]:
    values, problems = tensor_value(spec.name, payload)
    if values is None:
        return problems
    if values.ndim == 0:
        return [(spec.name, f"expected an array; got the scalar {values.item()!r}")]
    rows = _rows_problem(values.shape[0], max_rows)
    if rows:
        return [("", rows)]
    return [(spec.name, message) for message in check_tensor(spec, values)]


def _names(inputs: Sequence[FieldSpec], columns: Columns, reported: set[str]) -> list[Problem]:
    expected = {spec.name for spec in inputs}
    problems = [
        (spec.name, f"missing input ({spec.dtype})")
        for spec in inputs
        if spec.name not in columns and spec.name not in reported
    ]
    unknown = [name for name in columns if name not in expected]
    for index, name in enumerate(unknown):
        # Hints cost a fuzzy match against every input: a few are helpful, thousands are a denial of service.
        hint = closest(name, expected, n=1) if index < _HINTS else []
        problems.append((name, "unknown input" + (f"; did you mean {hint[0]!r}?" if hint else "")))
    return problems


def _lengths(columns: Columns, max_rows: int | None) -> list[Problem]:
    lengths = {name: len(column) for name, column in columns.items()}
    # The most common length is the payload's; the odd columns out are the ones to fix.
    rows = Counter(lengths.values()).most_common(1)[0][0]
    problems = [
        (name, f"has {length} values but the other inputs have {rows}")
        for name, length in lengths.items()
        if length != rows
    ]
    too_many_or_none = _rows_problem(rows, max_rows)
    return problems + ([("", too_many_or_none)] if too_many_or_none else [])


def _rows_problem(rows: int, max_rows: int | None) -> str | None:
    if rows == 0:
        return "no rows"
    if max_rows is not None and rows > max_rows:
        return f"{rows} rows is more than the limit of {max_rows}; split the request"
    return None


__all__ = ["validate_payload"]
