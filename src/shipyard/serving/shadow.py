"""Shadow traffic: copies of answered requests, answered in the background by a deployment's shadow arms.

After the primary arm has answered, the data plane hands a copy to `ShadowRunner.submit`, which
only enqueues it (never waits): when the bounded queue is full, or the shadow version has not
loaded on this worker yet, the copy is dropped and counted. A few consumer tasks answer the copies
through the shadow version's own batcher (so a slow shadow never holds up the primary's batches),
tell the observers (`shadow=True`, arm `shadow:v<N>`: the prediction log stores them beside the
primary's answers) and compare each answer with the primary's (`deployments.comparison`). The
responses go nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..deployments.comparison import compare_outputs
from ..deployments.spec import Arm
from .arm_figures import ArmFiguresRecorder
from .events import CallContext, InferenceRecord, now
from .protocol import InferRequest

if TYPE_CHECKING:
    from .dataplane import DataPlane

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShadowCopy:
    deployment: str
    model: str
    arm: Arm
    request: InferRequest
    call: CallContext
    primary_outputs: Mapping[str, Any]


class ShadowRunner:
    """A bounded queue of shadow copies and `concurrency` consumers (started by `run`, an app task)."""

    def __init__(
        self,
        plane: DataPlane,
        recorder: ArmFiguresRecorder | None = None,
        *,
        queue_size: int = 1000,
        concurrency: int = 2,
    ) -> None:
        self._plane = plane
        self._recorder = recorder
        self.concurrency = concurrency
        self._queue: asyncio.Queue[ShadowCopy] = asyncio.Queue(queue_size)
        self.submitted = 0
        self.dropped = 0
        self.answered = 0

    def submit(self, copy: ShadowCopy) -> None:
        """Enqueue `copy`, or drop (and count) it when the queue is full or the shadow is still loading."""
        key = (copy.model, copy.arm.version)
        self.submitted += 1
        if self._plane.pool.get_loaded(key) is None:
            self._plane.pool.start_loading(key)
            self._drop(copy)
            return
        try:
            self._queue.put_nowait(copy)
        except asyncio.QueueFull:
            self._drop(copy)

    def _drop(self, copy: ShadowCopy) -> None:
        self.dropped += 1
        if self._recorder is not None:
            self._recorder.dropped(copy.deployment, copy.arm.label, copy.arm.version)

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    async def run(self, _app: object = None) -> None:
        """Answer copies until cancelled (an app task)."""
        consumers = [asyncio.create_task(self._consume(), name=f"shadow-{i}") for i in range(self.concurrency)]
        try:
            await asyncio.gather(*consumers)
        finally:
            for consumer in consumers:
                consumer.cancel()
            await asyncio.gather(*consumers, return_exceptions=True)

    async def _consume(self) -> None:
        while True:
            copy = await self._queue.get()
            try:
                await self.answer(copy)
            except Exception:  # a shadow's failure is its own: log it and go on with the next copy
                logger.exception("shadow copy for %s (%s) failed", copy.deployment, copy.arm.label)

    async def answer(self, copy: ShadowCopy) -> InferenceRecord:
        """Answer one copy with the shadow version; observers hear of it, the recorder compares it."""
        plane, arm = self._plane, copy.arm
        record = InferenceRecord(
            copy.request.id or "", copy.deployment, copy.model, arm.version, arm.label, now(), 0.0, 0, "ok", copy.call
        )
        record.shadow = True
        start = time.perf_counter()
        try:
            served = await plane.pool.get((copy.model, arm.version))
            outputs = await plane.compute_outputs(copy.deployment, served, copy.request, record)
        except Exception as exc:
            record.status, outputs = type(exc).__name__, None
        record.latency_seconds = time.perf_counter() - start
        waits = plane.notify(record)
        if waits:
            await asyncio.gather(*waits, return_exceptions=True)
        self.answered += 1
        if outputs is not None and self._recorder is not None:
            wanted = {name: outputs[name] for name in copy.primary_outputs if name in outputs}
            self._recorder.compared(
                copy.deployment, arm.label, arm.version, compare_outputs(copy.primary_outputs, wanted)
            )
        return record

    def __repr__(self) -> str:
        return f"ShadowRunner(concurrency={self.concurrency}, waiting={self.waiting}, dropped={self.dropped})"


__all__ = ["ShadowCopy", "ShadowRunner"]
