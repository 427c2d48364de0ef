"""Checks of one input's values, including array-valued cells (a per-row shape) and tensors."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ._scalars import check_scalars
from ._values import ARRAY, Array, Rows, as_column, missing_mask, null_problem, type_codes, wrong_type
from .field import FieldSpec


def check_column(spec: FieldSpec, values: Array) -> list[str]:
    """Every problem of one input's values (first axis = rows) against `spec`, as messages."""
    if spec.shape is not None:
        return _check_cells(spec, values)
    if values.ndim != 1:
        return [f"expected one value per row, got an array of shape {values.shape}"]
    return check_scalars(spec, values, Rows())


def check_tensor(spec: FieldSpec, values: Array) -> list[str]:
    """Problems of a whole tensor (first axis = rows) against a tensor field, whose shape counts the rows."""
    assert spec.shape is not None, "a tensor field has a shape"
    if not shape_fits(spec.shape, values.shape):
        return [f"expected shape {format_shape(spec.shape)}, got {format_shape(values.shape)}"]
    row_size = math.prod(values.shape[1:])
    # Unlike a cell of a column, a tensor element may be null if the training tensor had nulls.
    element = dataclasses.replace(spec, shape=None)
    return check_scalars(element, values.reshape(-1), Rows(row_size=max(row_size, 1)))


def shape_fits(expected: tuple[int, ...], actual: tuple[int, ...]) -> bool:
    return len(expected) == len(actual) and all(e in (-1, a) for e, a in zip(expected, actual, strict=True))


def format_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(dim) for dim in shape) + ("," if len(shape) == 1 else "") + ")"


def _element(spec: FieldSpec) -> FieldSpec:
    return dataclasses.replace(spec, shape=None, nullable=False)


def _check_cells(spec: FieldSpec, values: Array) -> list[str]:
    assert spec.shape is not None, "only array-valued fields have cells"
    if values.dtype.kind != "O":
        # A typed (rows, *shape) array: every row is a cell of the same shape.
        if not shape_fits(spec.shape, values.shape[1:]):
            expected, got = format_shape(spec.shape), format_shape(values.shape[1:])
            return [f"expected each row to be an array of shape {expected}, got {got}"]
        return check_scalars(_element(spec), values.reshape(-1), Rows(row_size=max(math.prod(values.shape[1:]), 1)))
    codes = type_codes(values)
    null = missing_mask(values, codes)
    bad = ~null & (codes != ARRAY)
    problems = (
        [wrong_type(f"an array of shape {format_shape(spec.shape)}", values, bad, rows=Rows())] if bad.any() else []
    )
    cells, starts, shape_problems = _cells(spec.shape, values, codes == ARRAY)
    problems += shape_problems
    if cells:
        flat = _concatenate(cells)
        problems += check_scalars(_element(spec), flat, Rows(starts=starts))
    return problems + null_problem(spec.nullable, null, Rows())


def _cells(expected: tuple[int, ...], values: Array, arrays: Array) -> tuple[list[Array], Array, list[str]]:
    """The well-shaped cells, each row's start in their concatenation, and the shape problems."""
    cells: list[Array] = []
    sizes = np.zeros(len(values), dtype=np.intp)
    wrong: dict[int, str] = {}
    for row in np.flatnonzero(arrays).tolist():
        try:
            cell = _cell(values[row])
        except ValueError:
            wrong[row] = "a ragged nested list"
            continue
        if not shape_fits(expected, cell.shape):
            wrong[row] = f"shape {format_shape(cell.shape)}"
            continue
        cells.append(cell.reshape(-1))
        sizes[row] = cell.size
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    problems = []
    if wrong:
        first = next(iter(wrong))
        mask = np.zeros(len(values), dtype=bool)
        mask[list(wrong)] = True
        problems.append(
            f"expected each row to be an array of shape {format_shape(expected)}, got {wrong[first]} " + Rows().at(mask)
        )
    return cells, starts, problems


def _cell(value: list[Any] | tuple[Any, ...] | Array) -> Array:
    if isinstance(value, list | tuple) and not any(isinstance(item, list | tuple | np.ndarray) for item in value):
        column = as_column(value)  # a flat list keeps its Python types: [1, "a"] is not two strings
        assert column is not None, "a list is always a column"
        return column
    return np.asarray(value)


def _concatenate(cells: list[Array]) -> Array:
    # Cells of different dtypes (e.g. one holds a string) are compared value by value as objects.
    if len({cell.dtype for cell in cells}) > 1:
        cells = [cell.astype(object) for cell in cells]
    return np.concatenate(cells)


__all__ = ["check_column", "check_tensor", "format_shape", "shape_fits"]
