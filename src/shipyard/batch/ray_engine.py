"""The Ray engine: the same tasks on Ray Data, the model loaded once per worker.

The job's tasks (runs of chunks, see `tasks.py`) become a Ray dataset; `map_batches` hands them to
a pool of `_TaskScorer` actors, each of which loads the model once in its constructor and then
reads, scores and writes its tasks with the very functions the local engine uses. The output is
therefore the same part files, byte for byte in content, and `--resume` works across engines.
Only small figures travel back to the driver, which keeps the job record and the progress bar.

On a cluster (`--ray-address`), every worker must reach the input, the output folder, the
metadata database and the artifact store: use S3 (or a shared filesystem) and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import BatchFailed, MissingDependency, ShipyardError
from .scoring import Scorer
from .tasks import Task
from .worker import JobContext, PartResult, score_tasks


def import_ray() -> ModuleType:
    try:
        import ray
        import ray.data  # the extra brings both; fail here, with the hint, if only ray is there
    except ImportError as exc:
        raise MissingDependency(feature="ray batch engine", extra="ray", package="ray[data]") from exc
    return ray


class _TaskScorer:
    """A Ray actor: loads the model once, then scores the tasks it is handed."""

    def __init__(self, context: JobContext, done: set[str]) -> None:
        self.context = context
        self.done = done
        self.scorer = context.scorer()

    def __call__(self, batch: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
        tasks = [
            Task(int(f), int(first), None if int(stop) < 0 else int(stop))
            for f, first, stop in zip(batch["file_index"], batch["first_chunk"], batch["stop_chunk"], strict=True)
        ]
        results: list[PartResult] = []
        error = ""
        try:
            results.extend(score_tasks(self.context, self.scorer, tasks, self.done))
        except ShipyardError as exc:
            # Sent back as data: Ray Data re-raises a worker's exception as its own UserCodeException
            # and drops the original, whose message (which rows, which model) the user needs.
            error = exc.reason if isinstance(exc, BatchFailed) else str(exc)
        return {
            "name": np.array([r.name for r in results] + ([""] if error else []), dtype=object),
            "rows_in": np.array([r.rows_in for r in results] + ([0] if error else []), dtype=np.int64),
            "rows_out": np.array([r.rows_out for r in results] + ([0] if error else []), dtype=np.int64),
            "rows_rejected": np.array([r.rows_rejected for r in results] + ([0] if error else []), dtype=np.int64),
            "error": np.array([""] * len(results) + ([error] if error else []), dtype=object),
        }


class RayEngine:
    """Scores a job's tasks on Ray: a local Ray by default, a cluster with `address`."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus

    def __repr__(self) -> str:
        return f"RayEngine(address={self.address!r}, num_cpus={self.num_cpus})"

    def run(
        self,
        context: JobContext,
        scorer: Scorer,
        tasks: Sequence[Task],
        done: set[str],
        on_part: Callable[[PartResult], None],
    ) -> None:
        del scorer  # each worker builds its own, from the context
        if not tasks:
            return
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(
                address=self.address,
                num_cpus=None if self.address else self.num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        try:
            self._run(ray, context, tasks, done, on_part)
        finally:
            if started_here:
                ray.shutdown()

    def _run(
        self,
        ray: ModuleType,
        context: JobContext,
        tasks: Sequence[Task],
        done: set[str],
        on_part: Callable[[PartResult], None],
    ) -> None:
        items = [
            {
                "file_index": t.file_index,
                "first_chunk": t.first_chunk,
                "stop_chunk": -1 if t.stop_chunk is None else t.stop_chunk,
            }
            for t in tasks
        ]
        cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = max(1, min(len(items), cpus))
        data_context = ray.data.DataContext.get_current()
        # The CLI draws its own progress bar; Ray Data's bars and banners would interleave with it.
        data_context.enable_progress_bars = False
        data_context.print_on_execution_start = False
        dataset = ray.data.from_items(items, override_num_blocks=len(items))
        results = dataset.map_batches(
            _TaskScorer,
            fn_constructor_kwargs={"context": context, "done": done},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
        )
        try:
            for row in results.iter_rows():
                if row["error"]:
                    raise BatchFailed(context.job_id, str(row["error"]))
                on_part(
                    PartResult(str(row["name"]), int(row["rows_in"]), int(row["rows_out"]), int(row["rows_rejected"]))
                )
        except ShipyardError:
            raise
        except Exception as exc:  # a worker died or failed outside the scoring (a bug, a full disk)
            text = str(exc).strip().splitlines()
            raise BatchFailed(
                context.job_id, f"a Ray worker failed: {text[0] if text else type(exc).__name__}"
            ) from exc


__all__ = ["RayEngine", "import_ray"]
