"""Reading what a user registers from files: a saved model file and its training data table.

`shipyard models register PATH` and the management API's upload route both read files this way,
then call `Registry.register` with the objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ValidationFailed
from ..flavors import flavor_for, flavor_for_file, flavor_names, get_flavor

TABLE_SUFFIXES = (".csv", ".txt", ".parquet", ".pq")


def read_model_file(path: Path, flavor: str | None = None, *, field: str = "flavor") -> tuple[object, str]:
    """The model saved at `path` and the name of the flavor that will store it.

    Files may be pickles (.pkl/.joblib): reading them runs code from the file, which only an
    authenticated registration by a role allowed to register may do (DESIGN rule 2).
    """
    if flavor is not None and flavor not in flavor_names():
        raise ValidationFailed([(field, f"{flavor!r} is not a flavor; known: {', '.join(flavor_names())}")])
    reader = get_flavor(flavor) if flavor else flavor_for_file(path)
    model = reader.read_file(path)
    # A .pkl can hold any kind of model, so the file's reader does not decide how the model is stored.
    chosen = reader if flavor else flavor_for(model)
    return model, chosen.name


def read_table(path: Path, field: str = "data") -> Any:
    """A CSV or Parquet file as a DataFrame; `ValidationFailed` on `field` when it is not one."""
    import pandas as pd

    if not path.exists():
        raise ValidationFailed([(field, f"{path} does not exist")])
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValidationFailed([(field, f"{path.name} is neither .csv nor .parquet")])
    try:
        return pd.read_parquet(path) if suffix in (".parquet", ".pq") else pd.read_csv(path)
    except (ValueError, OSError) as exc:  # parser, encoding and Arrow errors all derive from these
        raise ValidationFailed(
            [(field, f"{path.name} cannot be read as a table ({type(exc).__name__}: {exc})")]
        ) from exc


def split_target(frame: Any, target: str | None, field: str = "target") -> tuple[Any, Any]:
    """(features, labels): `target` is dropped from the frame and returned apart; (frame, None) without one."""
    if target is None:
        return frame, None
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:20]))
        raise ValidationFailed([(field, f"{target!r} is not a column of the data; its columns: {columns}")])
    return frame.drop(columns=[target]), frame[target]


__all__ = ["TABLE_SUFFIXES", "read_model_file", "read_table", "split_target"]
