"""Turning a request payload into named columns (or one tensor) before any value is checked.

Accepted tables: a pandas DataFrame; a dict of column name -> list/array (or of scalars: one
row); a list of row dicts; a 2-D array or list of lists whose columns are the inputs in order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._values import Array, as_column
from .field import Problem

_TABLE = "a DataFrame, a dict of columns, a list of row objects or a 2-D array"
_SEQUENCES = (list, tuple, np.ndarray, pd.Series, pd.Index, pd.api.extensions.ExtensionArray)

Columns = dict[str, Array]


def tabulate(payload: object, names: Sequence[str]) -> tuple[Columns, list[Problem]]:
    """The payload's columns by name; `names` (the signature's inputs) name positional columns."""
    if isinstance(payload, pd.DataFrame):
        return _from_frame(payload, names)
    if isinstance(payload, Mapping):
        return _from_mapping(payload)
    if isinstance(payload, np.ndarray):
        return _from_ndarray(payload, names)
    if isinstance(payload, list | tuple):
        return _from_rows(payload, names)
    return {}, [("", f"expected {_TABLE}; got {type(payload).__name__}")]


def tensor_value(name: str, payload: object) -> tuple[Array | None, list[Problem]]:
    """The one array of a tensor payload: an array, a nested list, or {name: either}."""
    if isinstance(payload, Mapping):
        unknown = [str(key) for key in payload if key != name]
        problems = [(key, f"unknown input; this model takes one input, {name!r}") for key in unknown]
        if name not in payload:
            problems.append((name, "missing input"))
        if problems:
            return None, problems
        payload = payload[name]
    if not isinstance(payload, list | tuple | np.ndarray):
        return None, [(name, f"expected an array or a nested list; got {type(payload).__name__}")]
    try:
        return np.asarray(payload), []
    except ValueError:
        return None, [(name, "ragged nested lists: the rows have different shapes")]


def _from_frame(frame: pd.DataFrame, names: Sequence[str]) -> tuple[Columns, list[Problem]]:
    labels = list(frame.columns)
    if frame.columns.has_duplicates:
        dupes = sorted({str(label) for label, count in Counter(labels).items() if count > 1})
        return {}, [(dupe, "column appears more than once") for dupe in dupes]
    if all(isinstance(label, str) for label in labels):
        return {label: _column(frame[label]) for label in labels}, []
    # Columns labelled 0..n-1 (a DataFrame made from an array) are the inputs in order.
    return _positional([_column(frame.iloc[:, i]) for i in range(frame.shape[1])], names)


def _from_mapping(payload: Mapping[Any, Any]) -> tuple[Columns, list[Problem]]:
    problems = [(str(key), "input names must be strings") for key in payload if not isinstance(key, str)]
    if payload and not any(isinstance(value, _SEQUENCES) for value in payload.values()):
        payload = {key: [value] for key, value in payload.items()}  # a dict of scalars is one row
    columns: Columns = {}
    for key, value in payload.items():
        column = as_column(value)
        if column is None:
            problems.append((str(key), f"expected a list of values (one per row); got {type(value).__name__}"))
        elif isinstance(key, str):
            columns[key] = column
    return columns, problems


def _from_ndarray(array: Array, names: Sequence[str]) -> tuple[Columns, list[Problem]]:
    if array.dtype.names:  # a structured array already names its columns
        return {name: array[name] for name in array.dtype.names}, []
    if array.ndim != 2:
        return {}, [("", f"expected a 2-D array of shape (rows, {len(names)}); got shape {array.shape}")]
    return _positional([array[:, i] for i in range(array.shape[1])], names)


def _from_rows(rows: list[Any] | tuple[Any, ...], names: Sequence[str]) -> tuple[Columns, list[Problem]]:
    if not rows:
        return {}, []
    if isinstance(rows[0], Mapping):
        return _from_records(rows, names)
    if isinstance(rows[0], list | tuple | np.ndarray):
        return _from_lists(rows, names)
    return {}, [("", f"expected {_TABLE}; got a flat list of values (wrap a single row in a list: [[...]])")]


def _from_records(rows: Sequence[Any], names: Sequence[str]) -> tuple[Columns, list[Problem]]:
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            return {}, [("", f"row {index}: expected an object of input values like row 0; got {type(row).__name__}")]
    keys = list(dict.fromkeys(key for row in rows for key in row))
    problems = [(str(key), "input names must be strings") for key in keys if not isinstance(key, str)]
    columns: Columns = {}
    known = set(names)
    for key in keys:
        absent = [index for index, row in enumerate(rows) if key not in row]
        if absent and key in known:
            problems.append((str(key), f"missing at row {absent[0]} ({len(absent)} of {len(rows)} rows lack it)"))
        elif isinstance(key, str):
            # An unknown key needs no values: it is reported as unknown whatever they are.
            column = as_column([row.get(key) for row in rows])
            assert column is not None, "a list is always a column"
            columns[key] = column
    return columns, problems


def _from_lists(rows: Sequence[Any], names: Sequence[str]) -> tuple[Columns, list[Problem]]:
    for index, row in enumerate(rows):
        if not isinstance(row, list | tuple | np.ndarray) or len(row) != len(names):
            got = f"{len(row)} values" if isinstance(row, _SEQUENCES) else type(row).__name__
            return {}, [("", f"row {index}: expected {len(names)} values ({_preview(names)}); got {got}")]
    columns = [as_column(list(values)) for values in zip(*rows, strict=True)]
    return _positional([column for column in columns if column is not None], names)


def _positional(columns: list[Array], names: Sequence[str]) -> tuple[Columns, list[Problem]]:
    if len(columns) != len(names):
        return {}, [("", f"expected {len(names)} columns ({_preview(names)}); got {len(columns)}")]
    return dict(zip(names, columns, strict=True)), []


def _column(series: pd.Series[Any]) -> Array:
    column = as_column(series)
    assert column is not None, "a Series is always a column"
    return column


def _preview(names: Sequence[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f", … {len(names) - 5} more" if len(names) > 5 else "")


__all__ = ["Columns", "tabulate", "tensor_value"]
