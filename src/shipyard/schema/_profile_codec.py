"""The binary form of a profile: a JSON header, then every numeric sample as little-endian float64.

Layout: b"SHPYPROF", format version (u32), header length (u64), UTF-8 JSON header, then the
samples back to back. The header lists each sample's length, so nothing is pickled and the
same profile always encodes to the same bytes (the artifact store addresses blobs by sha256).
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ValidationFailed
from ..types import JSONObject

MAGIC = b"SHPYPROF"
VERSION = 1
_PREFIX = struct.Struct("<8sIQ")
_FLOAT = np.dtype("<f8")


def encode(doc: JSONObject, samples: list[npt.NDArray[np.float64]]) -> bytes:
    header = json.dumps({"doc": doc, "samples": [len(sample) for sample in samples]}, separators=(",", ":"))
    header_bytes = header.encode()
    body = b"".join(np.ascontiguousarray(sample, dtype=_FLOAT).tobytes() for sample in samples)
    return _PREFIX.pack(MAGIC, VERSION, len(header_bytes)) + header_bytes + body


def decode(blob: bytes) -> tuple[dict[str, Any], list[npt.NDArray[np.float64]]]:
    if len(blob) < _PREFIX.size:
        raise _invalid("too short")
    magic, version, header_size = _PREFIX.unpack_from(blob)
    if magic != MAGIC:
        raise _invalid("it does not start with the profile marker")
    if version != VERSION:
        raise _invalid(f"format version {version} is not {VERSION}; upgrade Shipyard")
    start = _PREFIX.size + header_size
    try:
        header = json.loads(blob[_PREFIX.size : start].decode())
        lengths = [int(length) for length in header["samples"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise _invalid(f"unreadable header ({exc})") from exc
    if len(blob) != start + 8 * sum(lengths):
        raise _invalid("its size does not match its header")
    floats = np.frombuffer(blob, dtype=_FLOAT, offset=start).astype(np.float64)
    bounds = np.cumsum([0, *lengths])
    return header["doc"], [floats[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def _invalid(why: str) -> ValidationFailed:
    return ValidationFailed([("profile", f"not a Shipyard profile: {why}")])


__all__ = ["decode", "encode"]
