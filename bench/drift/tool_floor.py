"""The floor: read each column of the current file once (pyarrow, one thread) and sort it (numeric)
or count it (categorical, from its dictionary indices). No statistic at all.

    python tool_floor.py CURRENT.parquet
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow.parquet as pq
from child import finish, start


def main(current_path: str) -> None:
    started = start()
    names = pq.read_schema(current_path).names
    for name in names:
        if name.startswith("num_"):
            column = pq.read_table(current_path, columns=[name], use_threads=False).column(0)
            np.sort(column.to_numpy())
        else:
            table = pq.read_table(current_path, columns=[name], use_threads=False, read_dictionary=[name])
            for chunk in table.column(0).chunks:
                np.bincount(chunk.indices.to_numpy(zero_copy_only=False), minlength=len(chunk.dictionary))
    finish("floor", started, [])


if __name__ == "__main__":
    main(sys.argv[1])
