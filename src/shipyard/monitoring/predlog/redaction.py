"""Sensitive inputs: per model, fields dropped or replaced by a salted sha256 before anything is logged.

Applied in the writer, before the write-ahead file: a dropped field never touches the disk. A hash
keeps a field joinable and countable (drift on a hashed category still works) without keeping its
value; the salt (`monitoring.hash_salt`) stops dictionary attacks on small value sets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .entries import Array, LogBatch


@dataclass(frozen=True)
class Redaction:
    """What to do with a model's named input fields before they are logged."""

    drop: frozenset[str] = frozenset()
    hash: frozenset[str] = frozenset()

    @classmethod
    def of(cls, drop: Iterable[str] = (), hash: Iterable[str] = ()) -> Redaction:
        return cls(frozenset(drop), frozenset(hash))

    def __bool__(self) -> bool:
        return bool(self.drop or self.hash)

    def to_dict(self) -> dict[str, list[str]]:
        return {"drop": sorted(self.drop), "hash": sorted(self.hash)}


def hash_values(values: Array, salt: bytes) -> Array:
    """`sha256(salt + value)` in hex for each value (text as UTF-8, bytes as they are, others as str)."""
    flat = values.reshape(len(values), -1) if values.ndim > 1 else values
    out = np.empty(len(flat), dtype=object)
    for i, value in enumerate(flat.tolist()):
        if value is None:
            out[i] = None
            continue
        data = value if isinstance(value, bytes) else str(value).encode("utf-8")
        out[i] = hashlib.sha256(salt + data).hexdigest()
    return out


def redact(batch: LogBatch, rule: Redaction, salt: bytes) -> LogBatch:
    """`batch` with `rule` applied to its inputs (outputs are never redacted: they are the model's)."""
    if not rule:
        return batch
    inputs = {}
    for name, values in batch.input_columns().items():
        if name in rule.drop:
            continue
        inputs[name] = hash_values(values, salt) if name in rule.hash else values
    return LogBatch(batch.model, batch.meta, inputs, batch.outputs)


__all__ = ["Redaction", "hash_values", "redact"]
