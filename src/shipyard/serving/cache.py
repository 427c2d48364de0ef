"""An optional response cache per model version, keyed on the exact input: in process or in Redis.

A hit skips validation's downstream work and the model entirely. The key is a sha256 of the model
version, the requested outputs and the input rows (names, dtypes, shapes and raw bytes), so only a
byte-identical request hits. Values in Redis are encoded without pickle: a JSON header plus raw
tensor bytes (the V2 binary format), so a cache shared by replicas can never execute code.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Collection
from typing import Any, Protocol

import numpy as np
import orjson

from .codec_binary import decode_binary_tensor, encode_binary_tensor
from .datatypes import v2_datatype
from .protocol import InferTensor
from .tabular import Rows

logger = logging.getLogger(__name__)

Outputs = dict[str, np.ndarray[Any, Any]]


def cache_key(name: str, version: int, outputs: Collection[str], rows: Rows) -> str:
    digest = hashlib.sha256(f"{name}\0{version}\0{','.join(outputs)}".encode())
    parts = sorted(rows.items()) if isinstance(rows, dict) else [("", rows)]
    for column, values in parts:
        array = np.ascontiguousarray(values)
        digest.update(f"\0{column}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes() if array.dtype != object else repr(array.tolist()).encode())
    return digest.hexdigest()


class ResponseCache(Protocol):
    hits: int
    misses: int

    async def get(self, key: str) -> Outputs | None: ...

    async def put(self, key: str, outputs: Outputs) -> None: ...


class MemoryResponseCache:
    """Least-recently-used, `max_entries` per worker."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Outputs] = OrderedDict()
        self.hits = self.misses = 0

    async def get(self, key: str) -> Outputs | None:
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found

    async def put(self, key: str, outputs: Outputs) -> None:
        self._entries[key] = outputs
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __repr__(self) -> str:
        return f"MemoryResponseCache(entries={len(self._entries)}/{self.max_entries})"


def encode_outputs(outputs: Outputs) -> bytes:
    tensors = [InferTensor(n, v2_datatype(a.dtype), tuple(a.shape), a) for n, a in outputs.items()]
    raws = [encode_binary_tensor(t) for t in tensors]
    header = orjson.dumps([[t.name, t.datatype, list(t.shape), len(r)] for t, r in zip(tensors, raws, strict=True)])
    return len(header).to_bytes(4, "little") + header + b"".join(raws)


def decode_outputs(blob: bytes) -> Outputs:
    size = int.from_bytes(blob[:4], "little")
    offset, outputs = 4 + size, {}
    for name, datatype, shape, length in orjson.loads(blob[4 : 4 + size]):
        outputs[name] = decode_binary_tensor(blob[offset : offset + length], datatype, tuple(shape))
        offset += length
    return outputs


class RedisResponseCache:
    """Shared by every worker and replica that points at the same Redis; entries expire after `ttl_seconds`."""

    def __init__(self, url: str, *, ttl_seconds: int = 3600, prefix: str = "shipyard:cache:") -> None:
        import redis.asyncio

        self._redis = redis.asyncio.Redis.from_url(url)
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix
        self.hits = self.misses = 0

    async def get(self, key: str) -> Outputs | None:
        try:
            blob = await self._redis.get(self.prefix + key)
        except Exception:
            logger.warning("response cache unreachable; computing instead", exc_info=True)
            blob = None
        if blob is None:
            self.misses += 1
            return None
        self.hits += 1
        return decode_outputs(blob if isinstance(blob, bytes) else blob.encode())

    async def put(self, key: str, outputs: Outputs) -> None:
        try:
            await self._redis.set(self.prefix + key, encode_outputs(outputs), ex=self.ttl_seconds)
        except Exception:
            logger.warning("response cache unreachable; not storing", exc_info=True)

    def __repr__(self) -> str:
        return f"RedisResponseCache(prefix={self.prefix!r})"


class CachePolicy:
    """Which versions get a cache, and which kind: `serving={"cache": True}` at registration, or on for all."""

    def __init__(self, *, enabled: bool, max_entries: int, redis_url: str | None) -> None:
        self.enabled = enabled
        self.max_entries = max_entries
        self.redis_url = redis_url
        self._shared: RedisResponseCache | None = None
        self._memory: dict[tuple[str, int], MemoryResponseCache] = {}

    def for_version(self, name: str, version: int, serving: dict[str, Any]) -> ResponseCache | None:
        if not serving.get("cache", self.enabled):
            return None
        if self.redis_url:
            if self._shared is None:
                self._shared = RedisResponseCache(self.redis_url)
            return self._shared
        return self._memory.setdefault((name, version), MemoryResponseCache(self.max_entries))


__all__ = [
    "CachePolicy",
    "MemoryResponseCache",
    "RedisResponseCache",
    "ResponseCache",
    "cache_key",
    "decode_outputs",
    "encode_outputs",
]
