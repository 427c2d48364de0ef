"""The process a Python entry point trains in: `python child.py package.module:function` (run by path).

It reads the run folder (`$SHIPYARD_RETRAIN_DIR`: `train.parquet`, `params.json`), calls
`function(frame, params)` and writes what it returned: the model (`model.cloudpickle`, read back only
by the process that started this one, then deleted with the folder) and `metrics.json`. On an error
it prints the traceback (the run's log keeps it) and writes the one-line reason to `error.txt`.

Training runs in its own process so that a timeout can stop it, its memory is returned when it ends,
and nothing it does can take the server down. This file imports nothing of Shipyard: the child starts
without loading the package.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

MODEL_FILE = "model.cloudpickle"
ERROR_FILE = "error.txt"


def load_entry_point(entry_point: str) -> Callable[..., Any]:
    module_name, _, attribute = entry_point.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LookupError(f"entry point {entry_point}: cannot import {module_name!r} ({exc})") from exc
    function = getattr(module, attribute, None)
    if not callable(function):
        raise LookupError(f"entry point {entry_point}: {module_name} has no function {attribute!r}")
    return function  # type: ignore[no-any-return]  # checked callable just above


def split_result(result: Any) -> tuple[Any, dict[str, float]]:
    """`model` or `(model, metrics)` → (model, metrics as finite floats)."""
    if isinstance(result, tuple):
        if len(result) != 2 or not isinstance(result[1], Mapping | type(None)):
            raise TypeError("the entry point must return a model, or a (model, metrics dict) pair")
        model, metrics = result
    else:
        model, metrics = result, None
    if model is None:
        raise TypeError("the entry point returned no model (None)")
    cleaned: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"metric {key!r} is {value!r}, not a finite number")
        cleaned[str(key)] = number
    return model, cleaned


def main(argv: list[str]) -> int:
    folder = Path(os.environ["SHIPYARD_RETRAIN_DIR"])
    try:
        import cloudpickle
        import pandas as pd

        function = load_entry_point(argv[1])
        frame = pd.read_parquet(folder / "train.parquet")
        params = json.loads((folder / "params.json").read_text())
        model, metrics = split_result(function(frame, params))
        with (folder / MODEL_FILE).open("wb") as out:
            cloudpickle.dump(model, out)
        (folder / "metrics.json").write_text(json.dumps(metrics))
    except BaseException as exc:  # noqa: B036  # SystemExit/KeyboardInterrupt in user code is a failed run too
        traceback.print_exc()
        (folder / ERROR_FILE).write_text(f"{type(exc).__name__}: {exc}"[:2000])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
