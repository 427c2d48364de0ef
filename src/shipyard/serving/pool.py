"""The models a worker holds in memory, loaded on first use (or at start), within a memory budget.

Loading happens in a thread (it reads and verifies the artifact, then unpickles or parses it), and
concurrent requests for a model being loaded wait on the same load. When the estimated memory of
the loaded models passes the budget, the least recently used ones are dropped; a request already
holding one finishes on it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
import warnings
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio.to_thread
import numpy as np
import pandas as pd

from ..errors import ArtifactNotFound, NotReady
from ..flavors.base import LoadedModel
from ..registry import ModelVersion, Registry
from ..schema import Signature
from .batcher import Batcher, BatchHook
from .cache import CachePolicy, ResponseCache
from .outputs import available_outputs, run_outputs
from .tabular import InputPlan, Rows, model_input

logger = logging.getLogger(__name__)

Key = tuple[str, int]


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # not Linux: fall back to the artifact size alone
        return 0


@dataclass
class ServedModel:
    """A loaded version with what serving it needs: its input plan, outputs and batcher."""

    version: ModelVersion
    model: LoadedModel
    plan: InputPlan | None
    outputs: tuple[str, ...]
    batcher: Batcher
    memory_bytes: int
    load_seconds: float
    last_used: float = field(default_factory=time.monotonic)
    cache: ResponseCache | None = None
    array_ok: bool | None = None
    """Whether a numeric DataFrame model gives identical answers for a plain array (decided on first use)."""

    @property
    def key(self) -> Key:
        return (self.version.name, self.version.version)

    def predict(self, rows: Rows, outputs: Collection[str]) -> dict[str, Any]:
        if self.plan is None:  # no signature: named columns become a DataFrame, a single tensor goes as it is
            return run_outputs(self.model, pd.DataFrame(rows) if isinstance(rows, dict) else rows, outputs)
        if self.array_ok and not isinstance(rows, dict):
            return run_outputs(self.model, rows, outputs)
        data = model_input(rows, self.plan)
        if self.array_ok is None and isinstance(data, pd.DataFrame) and not isinstance(rows, dict):
            return self._choose_input_kind(rows, data, outputs)
        return run_outputs(self.model, data, outputs)

    def _choose_input_kind(self, rows: Any, frame: pd.DataFrame, outputs: Collection[str]) -> dict[str, Any]:
        """Decide once, on the first batch, whether the model gives the same answers for a plain array.

        A model trained on a numeric DataFrame spends most of a one-row call checking column names
        (about 0.7 ms of 1 ms for a scikit-learn pipeline); the names were already checked against
        the signature, so when both inputs give identical outputs the array is used from then on.
        """
        expected = run_outputs(self.model, frame, outputs)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = run_outputs(self.model, rows, outputs)
            same = all(np.array_equal(expected[k], got[k]) for k in expected)
        except Exception:
            same = False
        self.array_ok = same
        logger.info("%s v%s takes %s", self.version.name, self.version.version, "arrays" if same else "DataFrames")
        return expected

    def __repr__(self) -> str:
        return f"ServedModel(name={self.version.name!r}, version={self.version.version})"


class PoolEvents(Protocol):
    """Told about loads and model calls (the metrics); set as `ModelPool.events`. Must not block."""

    def model_loaded(self, name: str, version: int, seconds: float, cached: bool) -> None: ...

    def model_load_failed(self, name: str, version: int) -> None: ...

    def batch_hook(self, name: str, version: int) -> BatchHook | None: ...


@dataclass(frozen=True)
class BatchingDefaults:
    max_batch_size: int = 256
    max_latency_ms: float = 0.0


class ModelPool:
    def __init__(
        self,
        registry: Registry,
        *,
        memory_budget_bytes: int,
        batching: BatchingDefaults,
        cache_policy: CachePolicy | None = None,
    ) -> None:
        self._registry = registry
        self._cache_policy = cache_policy
        self.memory_budget_bytes = memory_budget_bytes
        self._batching = batching
        self._models: OrderedDict[Key, ServedModel] = OrderedDict()
        self._loading: dict[Key, asyncio.Task[ServedModel]] = {}
        self.load_failures = 0
        self.events: PoolEvents | None = None

    def get_loaded(self, key: Key) -> ServedModel | None:
        served = self._models.get(key)
        if served is not None:
            self._models.move_to_end(key)
            served.last_used = time.monotonic()
        return served

    def is_loading(self, key: Key) -> bool:
        return key in self._loading

    async def get(self, key: Key) -> ServedModel:
        """The loaded model for `key`, loading it first (once, however many callers ask)."""
        served = self.get_loaded(key)
        if served is not None:
            return served
        task = self._loading.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(key))
            self._loading[key] = task
            task.add_done_callback(lambda _t: self._loading.pop(key, None))
        return await asyncio.shield(task)

    def start_loading(self, key: Key) -> None:
        """Load `key` in the background (for hot-swap: the old version keeps serving meanwhile)."""
        if key not in self._models and key not in self._loading:
            task = asyncio.get_running_loop().create_task(self._load(key))
            self._loading[key] = task
            task.add_done_callback(self._forget_background_load(key))

    def _forget_background_load(self, key: Key) -> Any:
        def done(task: asyncio.Task[ServedModel]) -> None:
            self._loading.pop(key, None)
            if not task.cancelled() and task.exception() is not None:
                logger.error("background load of %s v%s failed: %s", key[0], key[1], task.exception())

        return done

    async def _load(self, key: Key) -> ServedModel:
        started = time.monotonic()
        try:
            served = await anyio.to_thread.run_sync(self._load_sync, key)
        except (ArtifactNotFound, OSError) as exc:
            # The artifact store is unreachable (a missing folder or bucket, a network error): models
            # already loaded keep serving; this one cannot load now, and the caller may retry. The
            # details (paths, bucket URLs) go to the log, not to the client.
            self._load_failed(key)
            logger.error("cannot load %s v%s: %s", key[0], key[1], exc)
            raise NotReady(key[0], "its artifact could not be read from the artifact store") from exc
        except Exception:
            self._load_failed(key)
            raise
        served.load_seconds = time.monotonic() - started
        if self.events is not None:
            self.events.model_loaded(key[0], key[1], served.load_seconds, served.cache is not None)
        self._models[key] = served
        self._evict(keep=key)
        gc.freeze()  # the model's objects live until it is unloaded: spare the GC from rescanning them
        logger.info(
            "loaded %s v%s in %.2f s (~%d MB)", key[0], key[1], served.load_seconds, served.memory_bytes // 2**20
        )
        return served

    def _load_failed(self, key: Key) -> None:
        self.load_failures += 1
        if self.events is not None:
            self.events.model_load_failed(*key)

    def _load_sync(self, key: Key) -> ServedModel:
        version = self._registry.get_version(*key)
        before = _rss_bytes()
        model = self._registry.load(version)
        memory = max(_rss_bytes() - before, version.size)
        plan = InputPlan.from_signature(Signature.from_dict(version.signature)) if version.signature else None
        batcher = Batcher(
            lambda rows, outs: served.predict(rows, outs),
            max_batch_size=int(version.serving.get("max_batch_size", self._batching.max_batch_size)),
            max_latency_ms=float(version.serving.get("max_latency_ms", self._batching.max_latency_ms)),
            on_batch=self.events.batch_hook(*key) if self.events is not None else None,
        )
        served = ServedModel(version, model, plan, available_outputs(model), batcher, memory, 0.0)
        if self._cache_policy is not None:
            served.cache = self._cache_policy.for_version(version.name, version.version, version.serving)
        return served

    def _evict(self, keep: Key) -> None:
        while self.memory_bytes() > self.memory_budget_bytes and len(self._models) > 1:
            oldest = next(k for k in self._models if k != keep)
            dropped = self._models.pop(oldest)
            logger.info("unloaded %s v%s (memory budget)", *dropped.key)

    def unload(self, key: Key) -> None:
        self._models.pop(key, None)

    def memory_bytes(self) -> int:
        return sum(m.memory_bytes for m in self._models.values())

    def loaded(self) -> list[ServedModel]:
        return list(self._models.values())


__all__ = ["BatchingDefaults", "ModelPool", "PoolEvents", "ServedModel"]
