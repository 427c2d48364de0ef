"""Checking a chunk's rows against the model's input signature, column by column, with whole-array operations.

Serving rejects a whole request when one value is wrong (`serving/tabular.py`); a batch job rejects
only the rows with a wrong value and scores the rest. So every check here produces a mask of bad
rows and a reason for each, and the model gets the good rows in the dtypes it was trained on:

- numbers: a value that does not parse ("abc" in a CSV), a fraction in an integer input, NaN or
  Inf in a float input whose training data had none, a value out of the dtype's range;
- any input: a missing value (null) where the training data had none;
- text, category, datetime and bytes inputs take what converts (an unseen category is not an error,
  as in serving: drift reports it).

Reasons are built only for the bad rows, so a clean chunk costs a few passes over its arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ValidationFailed, closest
from ..schema import FieldSpec, Signature
from ..schema.dtypes import is_float, is_integer

Array = np.ndarray[Any, Any]
Mask = np.ndarray[Any, np.dtype[np.bool_]]
ModelInput = pd.DataFrame | Array
_INTEGERS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_TRUE = {"true", "1", "t", "yes"}
_FALSE = {"false", "0", "f", "no"}


@dataclass
class RowProblems:
    """Bad rows of one chunk and, for each, why (several reasons when several inputs are wrong)."""

    rows: int
    bad: Mask | None = None
    reasons: dict[int, list[str]] = field(default_factory=dict)

    def add(self, mask: Mask | None, describe: Callable[[int], str]) -> None:
        if mask is None or not mask.any():
            return
        self.bad = mask.copy() if self.bad is None else self.bad | mask
        for row in np.flatnonzero(mask).tolist():
            self.reasons.setdefault(row, []).append(describe(row))


@dataclass(frozen=True)
class CheckedRows:
    """A chunk after its check: the model's input for the good rows, and the bad rows with reasons."""

    data: ModelInput | None
    """None when no row is good."""
    kept: Array | None
    """Positions of the good rows in the chunk; None when every row is good."""
    rejected: Array
    reasons: list[str]


def check_columns(where: str, present: Sequence[str], needed: Sequence[str], model: str) -> None:
    """Raise `ValidationFailed` naming each column `model` needs that the file lacks (the whole job stops)."""
    have = set(present)
    missing = [name for name in needed if name not in have]
    if not missing:
        return
    shown = ", ".join(present[:8]) + (", …" if len(present) > 8 else "")
    spare = [p for p in present if p not in needed]
    problems = []
    for name in missing:
        hint = [p for p in spare if p.casefold() == name.casefold()] or closest(name, spare, n=1)
        problems.append((where, f"missing column {name!r} that {model} needs{_did_you_mean(hint)}"))
    problems.append((where, f"the file has {len(present)} columns: {shown}"))
    raise ValidationFailed(problems)


def _did_you_mean(hint: list[str]) -> str:
    return f" (did you mean {hint[0]!r}?)" if hint else ""


class RowChecker:
    """Checks chunks against one signature and builds the model's input (plan made once per job)."""

    def __init__(self, signature: Signature) -> None:
        if signature.layout == "tensor" or any(spec.shape is not None for spec in signature.inputs):
            raise ValidationFailed(
                [("signature", "batch scoring reads tables: this model takes tensors or array-valued columns")]
            )
        self.signature = signature
        self.names = signature.input_names
        dtypes = {spec.dtype for spec in signature.inputs}
        # One float dtype for every input: the rows go into one Fortran-ordered block, one column copy
        # each, which a DataFrame wraps without copying and scikit-learn reads without copying again.
        self.block_dtype = next(iter(dtypes)) if len(dtypes) == 1 and is_float(next(iter(dtypes))) else None
        self.all_finite = self.block_dtype is not None and not any(spec.allow_nan for spec in signature.inputs)
        """Every row the model gets was checked here to hold no NaN or Inf."""
        # Object labels, not pandas' Arrow-backed strings: scikit-learn reads the column names back on every
        # call to check them, and iterating an Arrow-backed index costs more than the check itself.
        self._labels = pd.Index(list(self.names), dtype=object)

    def __repr__(self) -> str:
        return f"RowChecker(inputs={len(self.names)}, block={self.block_dtype})"

    def text_columns(self) -> list[str]:
        """Inputs to read from CSV as text: every one, so that a bad value rejects its row, not the file."""
        return list(self.names)

    def check(self, batch: pa.RecordBatch) -> CheckedRows:
        rows = batch.num_rows
        problems = RowProblems(rows)
        if self.block_dtype is not None:
            block = _float_block(rows, len(self.names), self.block_dtype)
            for i, spec in enumerate(self.signature.inputs):
                block[:, i] = _floats(batch.column(spec.name), spec, problems)
            return self._finish(block, problems, lambda b, keep: np.asarray(b[keep]))
        columns = {spec.name: convert_column(batch.column(spec.name), spec, problems) for spec in self.signature.inputs}
        return self._finish(columns, problems, lambda c, keep: {k: v[keep] for k, v in c.items()})

    def _finish(self, values: Any, problems: RowProblems, take: Callable[[Any, Array], Any]) -> CheckedRows:
        if problems.bad is None:
            return CheckedRows(self._model_input(values), None, np.empty(0, dtype=np.int64), [])
        kept = np.flatnonzero(~problems.bad)
        rejected = np.flatnonzero(problems.bad)
        reasons = ["; ".join(problems.reasons[row]) for row in rejected.tolist()]
        data = self._model_input(take(values, kept)) if kept.size else None
        return CheckedRows(data, kept, rejected, reasons)

    def _model_input(self, values: Array | dict[str, Any]) -> ModelInput:
        if isinstance(values, dict):
            if self.signature.layout == "columns":
                return pd.DataFrame(values, columns=self._labels, copy=False)
            return np.column_stack(
                [np.asarray(v, dtype=np.float64) if _is_extension(v) else v for v in values.values()]
            )
        if self.signature.layout == "columns":
            return pd.DataFrame(values, columns=self._labels, copy=False)
        return values


def _float_block(rows: int, columns: int, dtype: str) -> Array:
    """An uninitialised Fortran-ordered `(rows, columns)` array, in Arrow's memory pool.

    A chunk's block is tens of MB: numpy gets each one fresh from the kernel, and filling it costs a
    page fault per 4 KiB, chunk after chunk (as much as the copy itself). Arrow's pool (mimalloc or
    jemalloc) keeps the memory of the blocks already freed and hands it out again.
    """
    kind = np.dtype(dtype)
    buffer = pa.allocate_buffer(rows * columns * kind.itemsize)
    return np.frombuffer(buffer, dtype=kind, count=rows * columns).reshape((columns, rows)).T


def convert_column(column: pa.Array, spec: FieldSpec, problems: RowProblems) -> Any:
    """`column` in the dtype `spec` names, its bad rows added to `problems`."""
    if is_float(spec.dtype):
        return _floats(column, spec, problems)
    if is_integer(spec.dtype):
        return _integers(column, spec, problems)
    if spec.dtype == "bool":
        return _bools(column, spec, problems)
    if spec.dtype == "datetime":
        return _datetimes(column, spec, problems)
    return _texts(column, spec, problems)


def _null_mask(column: pa.Array) -> Mask | None:
    return column.is_null().to_numpy(zero_copy_only=False) if column.null_count else None


def _show(column: pa.Array, row: int) -> str:
    text = repr(column[row].as_py())
    return text if len(text) <= 40 else text[:37] + "…"


def _wrong(spec: FieldSpec, column: pa.Array, extra: str = "") -> Callable[[int], str]:
    return lambda row: f"{spec.name}: expected {spec.dtype}, got {_show(column, row)}{extra}"


def _missing(spec: FieldSpec, null: Mask | None, problems: RowProblems) -> None:
    if null is not None and not spec.nullable:
        problems.add(null, lambda _row: f"{spec.name}: missing value (the training data had none)")


def _numbers(column: pa.Array, spec: FieldSpec, problems: RowProblems) -> tuple[Array, Mask | None]:
    """float64 values (NaN where null or unreadable) and the mask of unreadable ones (reported)."""
    kind = column.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        values = column.to_numpy(zero_copy_only=False)
        return (values if values.dtype.kind == "f" else values.astype(np.float64)), None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
            parsed = pd.to_numeric(text.str.strip(), errors="coerce")
            bad = np.asarray(parsed.isna() & text.notna())
            problems.add(bad, _wrong(spec, column))
            return np.asarray(parsed, dtype=np.float64), bad
    if pa.types.is_boolean(kind) and spec.dtype in ("bool", *_INTEGERS):
        return column.fill_null(False).to_numpy(zero_copy_only=False).astype(np.float64), None
    null = _null_mask(column)
    bad = ~null if null is not None else np.ones(len(column), dtype=bool)
    problems.add(bad, _wrong(spec, column))
    return np.full(len(column), np.nan), bad


def _floats(column: pa.Array, spec: FieldSpec, problems: RowProblems) -> Array:
    values, unreadable = _numbers(column, spec, problems)
    null = _null_mask(column)
    _missing(spec, null, problems)
    # The sum of finite values is finite (bar an overflow, which the exact check below then sorts out):
    # one pass with no temporary array settles the common all-finite case.
    if not spec.allow_nan and not np.isfinite(np.add.reduce(values)):
        bad = ~np.isfinite(values)
        for skip in (null, unreadable):
            if skip is not None:
                bad &= ~skip
        problems.add(
            bad, lambda row: f"{spec.name}: {values[row]} is not allowed (the training data had no NaN or Inf)"
        )
    return values if values.dtype == np.dtype(spec.dtype) else values.astype(spec.dtype)


def _integers(column: pa.Array, spec: FieldSpec, problems: RowProblems) -> Any:
    null = _null_mask(column)
    if pa.types.is_integer(column.type):
        values = (column.fill_null(0) if null is not None else column).to_numpy(zero_copy_only=False)
    else:
        floats, unreadable = _numbers(column, spec, problems)
        nan = np.isnan(floats)
        null = nan if null is None else null | nan
        if unreadable is not None:
            null = null & ~unreadable  # not in place: `null` may be `nan` itself
        finite = np.isfinite(floats)
        fractional = finite & (floats != np.trunc(floats))
        problems.add(fractional | (~finite & ~nan), _wrong(spec, column, " (only whole numbers fit)"))
        values = np.where(finite & ~fractional, floats, 0)
    info = np.iinfo(spec.dtype)
    if values.size and (values.min() < info.min or values.max() > info.max):
        out = (values < info.min) | (values > info.max)
        problems.add(out, lambda row: f"{spec.name}: {_show(column, row)} is out of range for {spec.dtype}")
        values = np.where(out, 0, values)
    _missing(spec, null, problems)
    typed = values.astype(spec.dtype)
    if null is not None and null.any() and spec.nullable:
        return pd.arrays.IntegerArray(typed, null)
    return typed


def _bools(column: pa.Array, spec: FieldSpec, problems: RowProblems) -> Any:
    null = _null_mask(column)
    if pa.types.is_boolean(column.type):
        values = column.fill_null(False).to_numpy(zero_copy_only=False)
    elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(column))
        true = pc.is_in(lowered, pa.array(sorted(_TRUE))).to_numpy(zero_copy_only=False)
        false = pc.is_in(lowered, pa.array(sorted(_FALSE))).to_numpy(zero_copy_only=False)
        present = ~null if null is not None else np.ones(len(column), dtype=bool)
        problems.add(present & ~true & ~false, _wrong(spec, column, " (true/false or 1/0)"))
        values = true
    else:
        floats, _unreadable = _numbers(column, spec, problems)
        nan = np.isnan(floats)
        problems.add(~nan & (floats != 0) & (floats != 1), _wrong(spec, column, " (true/false or 1/0)"))
        null = nan if null is None else null | nan
        values = floats == 1
    _missing(spec, null, problems)
    if null is not None and null.any() and spec.nullable:
        return pd.arrays.BooleanArray(values.astype(bool), null)
    return values.astype(bool)


def _datetimes(column: pa.Array, spec: FieldSpec, problems: RowProblems) -> Any:
    null = _null_mask(column)
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        values = pd.to_datetime(pd.Series(column.to_pandas()))
    else:
        text = pd.Series(column.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)
        values = pd.to_datetime(text, errors="coerce", format="ISO8601")
        problems.add(np.asarray(values.isna() & text.notna()), _wrong(spec, column, " (an ISO 8601 date or time)"))
    _missing(spec, null, problems)
    return values.array


def _texts(column: pa.Array, spec: FieldSpec, problems: RowProblems) -> Any:
    null = _null_mask(column)
    _missing(spec, null, problems)
    if spec.dtype == "bytes":
        return column.to_numpy(zero_copy_only=False)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    values = column.to_numpy(zero_copy_only=False)
    if spec.dtype != "category":
        return values
    known = list(spec.categories or ())
    unseen = sorted(set(pc.unique(column.drop_null()).to_pylist()) - set(known))
    # Unseen values after the training categories, so that the training codes stay the same.
    return pd.Categorical(values, categories=known + unseen)


def _is_extension(values: Any) -> bool:
    return isinstance(values, pd.api.extensions.ExtensionArray)


__all__ = ["CheckedRows", "ModelInput", "RowChecker", "RowProblems", "check_columns", "convert_column"]
