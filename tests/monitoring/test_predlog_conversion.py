"""Records → batches → write-ahead frames → Arrow rows: every kind of input, byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from shipyard.monitoring.predlog.entries import batches_from_records, merge_batches
from shipyard.monitoring.predlog.redaction import Redaction, redact
from shipyard.monitoring.predlog.schema import batch_table
from shipyard.monitoring.predlog.segments import SegmentStore, convert_wal
from shipyard.monitoring.predlog.wal import WalFile, encode_batch, read_wal

from ._records import columns, tabular, tensor


def _roundtrip(tmp_path: Path, records: list[object]) -> pa.Table:
    batches = batches_from_records(enumerate(records, start=1))  # type: ignore[arg-type]
    wal = WalFile(tmp_path / "000000000001.wal")
    for batch in batches:
        wal.append(encode_batch(batch))
    wal.close()
    contents = read_wal(wal.path)
    assert contents.torn_bytes == 0 and contents.records == len(records)
    return pa.concat_tables([batch_table(b) for b in contents.batches], promote_options="permissive")


def test_tabular_block_becomes_one_row_per_input_row(tmp_path: Path) -> None:
    table = _roundtrip(tmp_path, [tabular("a", [[20.0, 1.5], [70.0, 2.5]]), tabular("b", [[30.0, 3.5]])])
    assert table.column("request_id").to_pylist() == ["a", "a", "b"]
    assert table.column("row").to_pylist() == [0, 1, 0]
    assert table.schema.field("row").type == pa.int32() and table.schema.field("version").type == pa.int32()
    assert table.schema.field("time").type == pa.timestamp("us", "UTC")
    assert table.column("inputs").to_pylist() == [
        {"age": 20.0, "income": 1.5},
        {"age": 70.0, "income": 2.5},
        {"age": 30.0, "income": 3.5},
    ]
    outputs = table.column("outputs").to_pylist()
    assert [o["predict"] for o in outputs] == [0, 1, 0]
    assert outputs[1]["predict_proba"] == [0.30000000000000004, 0.7]
    assert table.schema.field("outputs").type.field("predict_proba").type == pa.list_(pa.float64())
    assert table.column("caller").to_pylist() == ["key:abc"] * 3
    assert table.column("protocol").to_pylist() == ["v2"] * 3


def test_text_columns_and_bytes_stay_text(tmp_path: Path) -> None:
    table = _roundtrip(tmp_path, [columns("c", ["paris", b"lyon"], [40, 20])])
    assert table.column("inputs").to_pylist() == [{"city": "paris", "age": 40}, {"city": "lyon", "age": 20}]
    assert table.column("outputs").to_pylist() == [{"predict": "big"}, {"predict": "small"}]
    assert table.column("caller").to_pylist() == [None, None]


def test_tensor_rows_keep_their_values_as_lists(tmp_path: Path) -> None:
    table = _roundtrip(tmp_path, [tensor("t", 2)])
    assert table.column("inputs").to_pylist() == [{"image": [0.0, 1.0, 2.0, 3.0]}, {"image": [4.0, 5.0, 6.0, 7.0]}]
    assert table.column("version").to_pylist() == [2, 2]


def test_mixed_models_and_layouts_go_to_separate_batches() -> None:
    records = [tabular("a", [[1.0, 2.0]]), columns("b", ["x"], [1]), tabular("c", [[3.0, 4.0]]), tensor("d", 1)]
    batches = batches_from_records(enumerate(records, start=1))  # type: ignore[arg-type]
    assert sorted((b.model, b.meta["request_id"]) for b in batches) == [  # type: ignore[type-var]
        ("churn", ["a", "c"]),
        ("digits", ["d"]),
        ("towns", ["b"]),
    ]


def test_a_torn_tail_keeps_every_frame_before_it(tmp_path: Path) -> None:
    path = tmp_path / "000000000001.wal"
    wal = WalFile(path)
    for i in range(3):
        wal.append(encode_batch(batches_from_records([(i + 1, tabular(f"r{i}", [[1.0, 2.0]]))])[0]))
    wal.close()
    whole = path.read_bytes()
    path.write_bytes(whole[:-7])  # the last write cut short
    contents = read_wal(path)
    assert [b.meta["request_id"] for b in contents.batches] == [["r0"], ["r1"]]
    assert contents.torn_bytes > 0 and contents.last_seq == 2
    corrupt = bytearray(whole)
    corrupt[len(whole) // 2] ^= 0xFF  # a flipped bit in the middle frame: its checksum fails, nothing after is trusted
    path.write_bytes(bytes(corrupt))
    assert read_wal(path).records < 3


def test_redaction_drops_and_hashes_with_the_salt() -> None:
    batch = batches_from_records([(1, columns("c", ["paris", "lyon"], [40, 20]))])[0]
    hashed = redact(batch, Redaction.of(drop=["age"], hash=["city"]), b"salt")
    assert set(hashed.inputs) == {"city"}
    import hashlib

    assert hashed.inputs["city"][0] == hashlib.sha256(b"saltparis").hexdigest()
    other_salt = redact(batch, Redaction.of(hash=["city"]), b"pepper")
    assert other_salt.inputs["city"][0] != hashed.inputs["city"][0]
    assert np.array_equal(other_salt.inputs["age"], [40, 20])
    assert redact(batch, Redaction(), b"salt") is batch


def test_small_batches_of_one_layout_merge_into_one_table_with_the_same_rows(tmp_path: Path) -> None:
    """Group commits leave a batch per handful of records; conversion concatenates consecutive batches of
    one layout (and only those) before building the segment's table: the rows are the same, in order."""
    records = [tabular(f"r{i}", [[float(i), 1.0]] * (1 + i % 3)) for i in range(12)]
    odd = tabular("odd", [[1.0, 2.0]])
    odd.inputs = np.asarray(odd.inputs, dtype=np.float32)  # another layout (a dtype) breaks the run
    records.insert(6, odd)
    batches = [b for i in range(len(records)) for b in batches_from_records([(i + 1, records[i])])]
    merged = merge_batches(batches)
    assert [b.records for b in merged] == [6, 1, 6]
    one_by_one = pa.concat_tables([batch_table(b) for b in batches], promote_options="permissive")
    together = pa.concat_tables([batch_table(b) for b in merged], promote_options="permissive")
    assert together.equals(one_by_one)
    assert merge_batches([]) == []


def test_converting_from_memory_writes_the_same_segments_as_from_the_file(tmp_path: Path) -> None:
    """The writer hands the converter the batches it wrote; a restart's recovery reads the file instead.
    Both must store byte-identical segments under the same names, or a re-conversion would log twice."""
    records = [tabular(f"r{i}", [[float(i), 0.5]]) for i in range(20)] + [columns("c", ["oslo", None], [3, 4])]
    batches = [b for i, r in enumerate(records) for b in batches_from_records([(i + 1, r)])]
    wal = WalFile(tmp_path / "000000000001.wal", 1)
    for batch in batches:
        wal.append(encode_batch(batch))
    wal.close()
    stored = {}
    for source, given in (("file", None), ("memory", batches)):
        store = SegmentStore(str(tmp_path / source))
        converted = convert_wal(wal.path, "w1", store, batches=given)
        assert converted.records == 21 and converted.last_seq == 21 and converted.segments == 2
        root = tmp_path / source
        stored[source] = {p.relative_to(root): p.read_bytes() for p in root.rglob("*.parquet")}
    assert stored["memory"] == stored["file"] and len(stored["file"]) == 2
