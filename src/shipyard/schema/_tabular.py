"""Reading training data (a DataFrame, dict, array or list of rows) as named columns.

The naming rule is shared by signatures, profiles and fingerprints: a DataFrame's own column
names; "x0".."x{n-1}" for the columns of a 2-D array (or a DataFrame with unnamed columns);
"input" for the one tensor of a 1-D or N-D array.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from ..errors import ValidationFailed
from ._values import Array

Column: TypeAlias = "pd.Series[Any] | Array"


@dataclass(frozen=True)
class Table:
    layout: Literal["columns", "array", "tensor"]
    columns: list[tuple[str, Column]]
    rows: int


def as_table(data: object) -> Table:
    """`data` as named columns; raises `ValidationFailed` (field "data") for anything else."""
    if isinstance(data, pd.DataFrame):
        return _from_frame(data)
    if isinstance(data, Mapping):
        try:
            return _from_frame(pd.DataFrame(dict(data)))
        except (ValueError, TypeError) as exc:
            raise ValidationFailed([("data", f"cannot read the dict as columns: {exc}")]) from exc
    if isinstance(data, np.ndarray):
        return _from_ndarray(data)
    if isinstance(data, list | tuple):
        return _from_list(data)
    raise ValidationFailed(
        [("data", f"expected a DataFrame, a dict of columns, an array or a list of rows; got {type(data).__name__}")]
    )


def _from_frame(frame: pd.DataFrame) -> Table:
    labels = list(frame.columns)
    if frame.columns.has_duplicates:
        dupes = sorted({str(label) for label, count in Counter(labels).items() if count > 1})
        raise ValidationFailed([(dupe, "column appears more than once") for dupe in dupes])
    named = all(isinstance(label, str) for label in labels)
    columns: list[tuple[str, Column]] = [
        (label if named else f"x{i}", frame.iloc[:, i]) for i, label in enumerate(labels)
    ]
    return Table("columns" if named else "array", columns, len(frame))


def _from_ndarray(array: Array) -> Table:
    if array.dtype.names:
        return _from_frame(pd.DataFrame(array))
    if array.ndim == 0:
        raise ValidationFailed([("data", "expected an array of rows; got a scalar")])
    if array.ndim == 2:
        return Table("array", [(f"x{i}", array[:, i]) for i in range(array.shape[1])], array.shape[0])
    return Table("tensor", [("input", array)], array.shape[0])


def _from_list(rows: list[Any] | tuple[Any, ...]) -> Table:
    if not rows:
        raise ValidationFailed([("data", "no rows")])
    first = rows[0]
    if isinstance(first, Mapping):
        return _from_frame(pd.DataFrame.from_records(list(rows)))
    if isinstance(first, list | tuple) and not any(isinstance(v, list | tuple | np.ndarray) for v in first):
        return _from_frame(pd.DataFrame(list(rows)))
    try:
        return _from_ndarray(np.asarray(rows))
    except ValueError as exc:
        raise ValidationFailed([("data", f"cannot read the nested lists as an array: {exc}")]) from exc


__all__ = ["Column", "Table", "as_table"]
