"""The local engine: one process, three threads overlapping read, predict and write.

    reader thread:  read chunk → check rows, build the model's input   ┐ bounded queues:
    this thread:    model.predict                                      │ at most `depth` chunks
    writer thread:  build the output table → write rejects, then part  ┘ wait between two steps

Parquet decoding, numpy conversion and Parquet encoding release the GIL, and so does the model's
numeric core (BLAS, OpenMP), so on a machine with a core per step the job runs about as fast as its
slowest step instead of the sum of the three. Memory stays bounded by the chunks in flight (about
`2 * depth + 3` of them), never by the file.

While the job runs, BLAS (OpenBLAS, MKL) gets the cores the reader and the writer leave: its idle
threads spin for a while after each call, and on a small machine that spinning takes the reader's
core. A linear model's `predict` is one matrix-vector product, which gains nothing from more threads
anyway. OpenMP (tree ensembles, boosting libraries) is left as it is: those models are the slow step.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .scoring import PreparedChunk, Scorer
from .tasks import Task
from .worker import JobContext, PartResult, predict_chunk, read_task, write_chunk

_END = object()
_POLL_SECONDS = 0.1


class _Pipeline:
    """Queues between the threads, and the first error, which stops every step."""

    def __init__(self, depth: int) -> None:
        self.prepared: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.predicted: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self.stop.set()

    def put(self, target: queue.Queue[Any], item: Any) -> bool:
        while not self.stop.is_set():
            try:
                target.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def items(self, source: queue.Queue[Any]) -> Iterator[Any]:
        while True:
            try:
                item = source.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if self.stop.is_set():
                    return
                continue
            if item is _END:
                return
            yield item


class LocalEngine:
    """Scores a job's tasks in this process."""

    name = "local"

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth

    def __repr__(self) -> str:
        return f"LocalEngine(depth={self.depth})"

    def run(
        self,
        context: JobContext,
        scorer: Scorer,
        tasks: Sequence[Task],
        done: set[str],
        on_part: Callable[[PartResult], None],
    ) -> None:
        pipeline = _Pipeline(self.depth)
        reader = threading.Thread(
            target=self._read, args=(pipeline, context, scorer, tasks, done), name="batch-reader", daemon=True
        )
        writer = threading.Thread(
            target=self._write, args=(pipeline, context, scorer, on_part), name="batch-writer", daemon=True
        )
        reader.start()
        writer.start()
        try:
            with _blas_threads(_cpus() - 2):
                for prepared in pipeline.items(pipeline.prepared):
                    outputs = predict_chunk(context, scorer, prepared)
                    if not pipeline.put(pipeline.predicted, (prepared, outputs)):
                        break
            pipeline.put(pipeline.predicted, _END)
        except BaseException as exc:  # KeyboardInterrupt included: stop the other threads too
            pipeline.fail(exc)
        writer.join()
        pipeline.stop.set()
        reader.join()
        if pipeline.error is not None:
            raise pipeline.error

    @staticmethod
    def _read(pipeline: _Pipeline, context: JobContext, scorer: Scorer, tasks: Sequence[Task], done: set[str]) -> None:
        try:
            fs = context.input_filesystem()
            for task in tasks:
                for chunk, batch in read_task(context, fs, scorer, task, done):
                    if not pipeline.put(pipeline.prepared, scorer.prepare(chunk, batch)):
                        return
            pipeline.put(pipeline.prepared, _END)
        except BaseException as exc:
            pipeline.fail(exc)

    @staticmethod
    def _write(pipeline: _Pipeline, context: JobContext, scorer: Scorer, on_part: Callable[[PartResult], None]) -> None:
        try:
            for item in pipeline.items(pipeline.predicted):
                prepared: PreparedChunk = item[0]
                on_part(write_chunk(context, scorer, prepared, item[1]))
        except BaseException as exc:
            pipeline.fail(exc)


def _cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _blas_threads(limit: int) -> contextlib.AbstractContextManager[Any]:
    """At most `limit` (at least 1) BLAS threads in this process until the block ends (see the module docstring).

    Only libraries set to more are lowered: one set to fewer (OPENBLAS_NUM_THREADS=1, say) keeps its setting.
    """
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]  # scikit-learn's; no py.typed
    except ImportError:  # pragma: no cover - installed with scikit-learn, a dependency
        return contextlib.nullcontext()
    limit = max(1, limit)
    blas = ThreadpoolController().select(user_api="blas")
    over = [lib.filepath for lib in blas.lib_controllers if lib.num_threads > limit]
    if not over:
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[Any] = blas.select(filepath=over).limit(limits=limit)
    return limits


__all__ = ["LocalEngine"]
