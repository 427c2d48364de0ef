"""The write-ahead file: `LogBatch`es appended as checksummed frames, read back up to a torn tail.

    frame   = u32 payload length | u32 crc32(payload) | payload
    payload = u32 header length | header (JSON) | raw array buffers, in header order

The header holds the batch's model, metadata lists and, per array, its group, name, dtype and
shape; object arrays (text) travel in the header as JSON lists. Arrays are raw numpy bytes, so
writing a frame copies memory and nothing else. A frame cut short by a crash (or with a wrong
checksum) ends the file: everything before it is intact, the rest is reported as torn.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .entries import Array, LogBatch

logger = logging.getLogger(__name__)

_FRAME = struct.Struct("<II")
_HEADER = struct.Struct("<I")
SUFFIX = ".wal"


def encode_batch(batch: LogBatch) -> bytes:
    """One frame holding `batch`."""
    arrays: list[list[Any]] = []
    objects: dict[str, list[Any]] = {}
    buffers: list[bytes] = []
    for group, columns in (("inputs", batch.inputs), ("outputs", batch.outputs)):
        for name, values in columns.items():
            if values.dtype.kind == "O":
                arrays.append([group, name, "O", list(values.shape)])
                objects[f"{group}/{name}"] = _plain(values.ravel().tolist())
            else:
                data = np.ascontiguousarray(values)
                arrays.append([group, name, data.dtype.str, list(data.shape)])
                buffers.append(data.tobytes())
    header = orjson.dumps(
        {"model": batch.model, "meta": batch.meta, "arrays": arrays, "objects": objects, "block": batch.block},
        option=orjson.OPT_SERIALIZE_NUMPY,
        default=str,
    )
    payload = b"".join([_HEADER.pack(len(header)), header, *buffers])
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _plain(values: list[Any]) -> list[Any]:
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values]


def decode_payload(payload: bytes) -> LogBatch:
    (size,) = _HEADER.unpack_from(payload)
    header = orjson.loads(payload[_HEADER.size : _HEADER.size + size])
    offset = _HEADER.size + size
    groups: dict[str, dict[str, Array]] = {"inputs": {}, "outputs": {}}
    for group, name, dtype, shape in header["arrays"]:
        if dtype == "O":
            values = np.empty(len(header["objects"][f"{group}/{name}"]), dtype=object)
            values[:] = header["objects"][f"{group}/{name}"]
            groups[group][name] = values.reshape(shape)
            continue
        kind = np.dtype(dtype)
        count = math.prod(shape)
        groups[group][name] = np.frombuffer(payload, dtype=kind, count=count, offset=offset).reshape(shape)
        offset += count * kind.itemsize
    return LogBatch(header["model"], header["meta"], groups["inputs"], groups["outputs"], tuple(header["block"]))


@dataclass
class WalContents:
    batches: list[LogBatch]
    torn_bytes: int
    """Bytes after the last intact frame (a write cut short by a crash), 0 for a clean file."""

    @property
    def records(self) -> int:
        return sum(b.records for b in self.batches)

    @property
    def last_seq(self) -> int:
        return max((max(b.meta["seq"]) for b in self.batches if b.records), default=0)


def read_wal(path: Path) -> WalContents:
    data = path.read_bytes()
    batches, offset = [], 0
    for payload, end in _frames(data):
        batches.append(decode_payload(payload))
        offset = end
    return WalContents(batches, len(data) - offset)


def _frames(data: bytes) -> Iterator[tuple[bytes, int]]:
    offset = 0
    while offset + _FRAME.size <= len(data):
        size, crc = _FRAME.unpack_from(data, offset)
        start, end = offset + _FRAME.size, offset + _FRAME.size + size
        if end > len(data):
            return
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            return
        yield payload, end
        offset = end


class WalFile:
    """An append-only file written with `os.write` (no user-space buffer: what `append` returned is in
    the kernel and survives the process being killed) and `fdatasync` on `sync` (survives the machine)."""

    def __init__(self, path: Path, first_seq: int = 0) -> None:
        self.path = path
        self.first_seq = first_seq
        self.records = 0
        self.bytes = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        _sync_dir(path.parent)  # the new name itself must survive a crash

    def append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.bytes += len(data)

    def sync(self) -> None:
        os.fdatasync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    def __repr__(self) -> str:
        return f"WalFile(path={str(self.path)!r}, records={self.records})"


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def wal_path(folder: Path, first_seq: int) -> Path:
    return folder / f"{first_seq:012d}{SUFFIX}"


def wal_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob(f"*{SUFFIX}") if p.is_file())


__all__ = ["SUFFIX", "WalContents", "WalFile", "decode_payload", "encode_batch", "read_wal", "wal_files", "wal_path"]
