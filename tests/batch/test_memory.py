"""The reader's memory follows `batch_rows`, not the Parquet row group: a file written as one row group is
streamed, never held whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from shipyard.batch.reader import read_chunks, read_layout
from shipyard.batch.sources import InputFile

ROWS = 400_000
COLUMNS = [f"x{i:02d}" for i in range(30)]
BATCH_ROWS = 10_000


def one_row_group_file(path: Path) -> InputFile:
    values = np.random.default_rng(0).standard_normal((ROWS, len(COLUMNS)))
    values[:, 0] = np.arange(ROWS)
    table = pa.table({name: values[:, i] for i, name in enumerate(COLUMNS)})
    # No dictionary encoding: pyarrow would hold each column chunk's dictionary page (up to 1 MiB of it)
    # while it reads the chunk, whatever the batch size; a constant that would only blur what is measured.
    pq.write_table(table, path, row_group_size=ROWS, use_dictionary=False)
    return InputFile(str(path), path.name, "parquet", path.stat().st_size, "0")


def test_one_huge_row_group_is_read_in_batch_sized_pieces(tmp_path: Path) -> None:
    file = one_row_group_file(tmp_path / "one-group.parquet")
    fs = LocalFileSystem()
    layout = read_layout(fs, file, local=True)
    assert layout.group_rows == (ROWS,)

    def read(first_chunk: int = 0) -> tuple[list[tuple[int, int, float]], int]:
        baseline = peak = pa.total_allocated_bytes()
        seen = []
        chunks = read_chunks(fs, file, layout, local=True, columns=COLUMNS, text_columns=[], batch_rows=BATCH_ROWS,
                             first_chunk=first_chunk)  # fmt: skip
        for chunk, first_row, batch in chunks:
            peak = max(peak, pa.total_allocated_bytes())
            assert batch.num_rows == BATCH_ROWS
            seen.append((chunk, first_row, batch.column(0)[0].as_py()))
            del batch
        return seen, peak - baseline

    seen, peak = read()
    assert [c for c, _, _ in seen] == list(range(ROWS // BATCH_ROWS))
    assert all(first_row == value == chunk * BATCH_ROWS for chunk, first_row, value in seen)
    # The whole file decoded is 96 MB; a chunk is 2.4 MB. Holding the row group would cost the file.
    assert peak < file.size / 4, f"peak {peak / 1e6:.0f} MB of Arrow memory for a {file.size / 1e6:.0f} MB file"

    resumed, peak = read(first_chunk=35)  # entering the row group mid-way, as --resume and Ray tasks do
    assert resumed == [(c, c * BATCH_ROWS, float(c * BATCH_ROWS)) for c in range(35, 40)]
    assert peak < file.size / 4
