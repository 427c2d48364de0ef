"""The pure pieces: chunk cutting, task planning, part names, per-row conversion and checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.local import LocalFileSystem

from shipyard.batch.parts import parse_part_name, part_name
from shipyard.batch.reader import FileLayout, exact_chunks, read_chunks, read_layout
from shipyard.batch.rows import RowChecker, RowProblems, check_columns, convert_column
from shipyard.batch.sources import InputFile, discover_inputs
from shipyard.batch.tasks import Task, pending_tasks, plan_tasks
from shipyard.errors import ValidationFailed
from shipyard.schema import FieldSpec, Signature


def batches(*sizes: int) -> list[pa.RecordBatch]:
    start, out = 0, []
    for size in sizes:
        out.append(pa.record_batch({"x": pa.array(range(start, start + size))}))
        start += size
    return out


def test_exact_chunks_recut_any_stream() -> None:
    chunks = list(exact_chunks(iter(batches(3, 5, 1, 4)), rows=4))
    assert [c.num_rows for c in chunks] == [4, 4, 4, 1]
    assert [c.column(0).to_pylist() for c in chunks][1] == [4, 5, 6, 7]
    skipped = list(exact_chunks(iter(batches(3, 5, 1, 4)), rows=4, skip=6))
    assert [c.column(0).to_pylist() for c in skipped] == [[6, 7, 8, 9], [10, 11, 12]]
    assert list(exact_chunks(iter([]), rows=4)) == []


def test_parquet_chunks_start_mid_file_at_the_right_row(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": pa.array(range(1000))}), tmp_path / "f.parquet", row_group_size=300)
    fs = LocalFileSystem()
    file = InputFile(str(tmp_path / "f.parquet"), "f.parquet", "parquet", 1, "0")
    layout = read_layout(fs, file, local=True)
    assert layout.group_rows == (300, 300, 300, 100) and layout.columns == ("x",)

    def chunks(first: int, stop: int | None) -> list[tuple[int, int, int]]:
        read = read_chunks(fs, file, layout, local=True, columns=["x"], text_columns=[], batch_rows=250,
                           first_chunk=first, stop_chunk=stop)  # fmt: skip
        return [(c, row, b.column(0)[0].as_py()) for c, row, b in read]

    assert chunks(0, None) == [(0, 0, 0), (1, 250, 250), (2, 500, 500), (3, 750, 750)]
    assert chunks(2, 3) == [(2, 500, 500)]
    assert chunks(3, None) == [(3, 750, 750)]


def test_tasks_split_parquet_at_row_groups_and_skip_what_is_done() -> None:
    parquet = FileLayout(("x",), (300, 300, 300, 100), 1000)
    csv = FileLayout(("x",), None, 123)
    assert plan_tasks([parquet, csv], 250, split=False) == [Task(0, 0, 4), Task(1, 0, None)]
    split = plan_tasks([parquet, csv], 100, split=True)
    assert split == [Task(0, 0, 3), Task(0, 3, 6), Task(0, 6, 9), Task(0, 9, 10), Task(1, 0, None)]
    done = {part_name(0, c) for c in range(6)}
    assert pending_tasks(split, done) == split[2:]
    assert parse_part_name("part-00012-000034.parquet") == (12, 34)
    assert parse_part_name("part-1-2.parquet") is None and parse_part_name(".tmp-x-part-00000-000000.parquet") is None


def test_discovery_is_sorted_skips_hidden_and_fingerprints_cheaply(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.parquet").write_bytes(b"x")
    (tmp_path / "1.CSV").write_text("a\n1\n")
    (tmp_path / "_tmp").mkdir()
    (tmp_path / "_tmp" / "3.parquet").write_bytes(b"x")
    found = discover_inputs(str(tmp_path))
    assert [(f.name, f.format) for f in found.files] == [("1.CSV", "csv"), ("b/2.parquet", "parquet")]
    first = found.fingerprint()
    assert first == discover_inputs(str(tmp_path)).fingerprint()
    (tmp_path / "1.CSV").write_text("a\n1\n2\n")
    assert discover_inputs(str(tmp_path)).fingerprint() != first


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    file = InputFile(str(tmp_path / "bad.parquet"), "bad.parquet", "parquet", 18, "0")
    with pytest.raises(ValidationFailed, match="bad.parquet: cannot read it as PARQUET"):
        read_layout(LocalFileSystem(), file, local=True)


def convert(spec: FieldSpec, values: pa.Array) -> tuple[object, dict[int, list[str]]]:
    problems = RowProblems(len(values))
    converted = convert_column(values, spec, problems)
    return converted, problems.reasons


def test_conversions_per_dtype() -> None:
    ints, bad = convert(FieldSpec("n", "int8"), pa.array([1, 300, None, -2]))
    assert bad == {1: ["n: 300 is out of range for int8"], 2: ["n: missing value (the training data had none)"]}
    nullable, bad = convert(FieldSpec("n", "int64", nullable=True), pa.array([1.0, None, 3.0]))
    assert (
        bad == {} and isinstance(nullable, pd.arrays.IntegerArray) and nullable.isna().tolist() == [False, True, False]
    )
    flags, bad = convert(FieldSpec("f", "bool"), pa.array([" TRUE", "no", "0", "yes", "x"]))
    assert list(flags) == [True, False, False, True, False] and list(bad) == [4]  # type: ignore[call-overload]
    cats, bad = convert(FieldSpec("c", "category", categories=("a", "b")), pa.array(["b", "z", "a"]))
    assert bad == {} and list(cats.categories) == ["a", "b", "z"] and list(cats.codes) == [1, 2, 0]  # type: ignore[attr-defined]
    when, bad = convert(FieldSpec("t", "datetime"), pa.array(["2024-01-02", "soon", "2024-01-03T04:05:06"]))
    assert list(bad) == [1] and pd.Timestamp("2024-01-03 04:05:06") in list(when)  # type: ignore[call-overload]
    floats, bad = convert(FieldSpec("x", "float32", allow_nan=True, nullable=True), pa.array(["1.5", None, "nan"]))
    assert bad == {} and floats.dtype == np.float32  # type: ignore[attr-defined]
    texts, bad = convert(FieldSpec("s", "string"), pa.array([1, 2]))
    assert list(texts) == ["1", "2"] and bad == {}  # type: ignore[call-overload]
    wrong, bad = convert(FieldSpec("x", "float64"), pa.array([True, None]))
    assert bad == {0: ["x: expected float64, got True"], 1: ["x: missing value (the training data had none)"]}


def test_checker_builds_the_models_input_and_refuses_tensors() -> None:
    signature = Signature((FieldSpec("a", "float64"), FieldSpec("b", "float64")), (), "columns")
    checked = RowChecker(signature).check(pa.record_batch({"b": [1.0, 2.0, 3.0], "a": [4, 5, 6]}))
    assert isinstance(checked.data, pd.DataFrame) and checked.kept is None and checked.reasons == []
    assert checked.data.to_numpy().tolist() == [[4.0, 1.0], [5.0, 2.0], [6.0, 3.0]]
    array = Signature((FieldSpec("x0", "float64"), FieldSpec("x1", "int64")), (), "array")
    checked = RowChecker(array).check(pa.record_batch({"x0": [1.0, float("inf")], "x1": [1, 2]}))
    assert isinstance(checked.data, np.ndarray) and checked.data.tolist() == [[1.0, 1.0]]
    assert checked.kept.tolist() == [0] and checked.rejected.tolist() == [1]  # type: ignore[union-attr]
    tensor = Signature((FieldSpec("input", "float32", shape=(-1, 3)),), (), "tensor")
    with pytest.raises(ValidationFailed, match="batch scoring reads tables"):
        RowChecker(tensor)
    with pytest.raises(ValidationFailed, match="f.csv: missing column 'x1' that models:/m/1 needs"):
        check_columns("f.csv", ["x0", "y"], ["x0", "x1"], "models:/m/1")
