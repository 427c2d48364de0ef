"""Running a batch job from start to finish: resolve, record, plan, score on an engine, record the end.

    spec → discover inputs → new job (or take over the interrupted one with --resume)
         → load the model once, check every file has the columns it needs
         → plan chunks, skip those whose parts exist → engine → figures in the job record

Everything the caller could get wrong (an unknown model, a missing input, a bad batch size) is
checked before the job is recorded; what goes wrong after (a missing column, a model that raises)
is recorded on the job as its error, and the job can be resumed once the cause is fixed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..artifacts import s3_storage_options
from ..config import Settings
from ..errors import Conflict, ValidationFailed, VersionArchived
from ..registry import ModelVersion, Registry
from .jobs import BatchJob, BatchJobStore
from .local import LocalEngine
from .parts import PartFolder
from .ray_engine import RayEngine, import_ray
from .reader import FileLayout, read_layout
from .rows import check_columns
from .scoring import Scorer
from .sources import InputSet, discover_inputs
from .spec import DEFAULT_BATCH_ROWS, BatchSpec
from .tasks import Task, pending_tasks, plan_tasks
from .worker import JobContext, PartResult

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0


@dataclass(frozen=True)
class BatchProgress:
    """Where a running job stands; handed to the progress callback after every part."""

    job_id: int
    rows_done: int
    rows_total: int | None
    rows_rejected: int
    parts: int


ProgressCallback = Callable[[BatchProgress], None]


class Engine(Protocol):
    name: str

    def run(
        self,
        context: JobContext,
        scorer: Scorer,
        tasks: list[Task],
        done: set[str],
        on_part: Callable[[PartResult], None],
    ) -> None: ...


class _Figures:
    """The job's running totals, updated by the engine's writer and read by the heartbeat."""

    def __init__(self, job: BatchJob, progress: ProgressCallback | None) -> None:
        self.job = job
        self.progress = progress
        self.rows_total = job.rows_total
        self.rows_in = self.rows_out = self.rows_rejected = self.parts = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()

    def set_base(self, rows_in: int, rows_out: int, rows_rejected: int, parts: int) -> None:
        with self._lock:
            self.rows_in, self.rows_out, self.rows_rejected, self.parts = rows_in, rows_out, rows_rejected, parts

    def add(self, part: PartResult) -> None:
        with self._lock:
            self.rows_in += part.rows_in
            self.rows_out += part.rows_out
            self.rows_rejected += part.rows_rejected
            self.parts += 1
            done = BatchProgress(self.job.id, self.rows_in, self.rows_total, self.rows_rejected, self.parts)
        if self.progress is not None:
            self.progress(done)

    def values(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rows_in": self.rows_in,
                "rows_out": self.rows_out,
                "rows_rejected": self.rows_rejected,
                "parts": self.parts,
                "rows_total": self.rows_total,
                "duration_seconds": self.job.duration_seconds + (time.monotonic() - self.started),
            }


class _Heartbeat:
    """Renews the job's heartbeat and stores its figures every `HEARTBEAT_SECONDS`, on a thread."""

    def __init__(self, jobs: BatchJobStore, job_id: int, figures: _Figures) -> None:
        self._jobs, self._job_id, self._figures = jobs, job_id, figures
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="batch-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self._jobs.beat(self._job_id, self._figures.values())
            except Exception as exc:  # a database blip must not stop the scoring; the next beat retries
                logger.warning("batch job %s: heartbeat failed: %s", self._job_id, exc)


def run_batch(
    registry: Registry, settings: Settings, spec: BatchSpec, *, progress: ProgressCallback | None = None
) -> BatchJob:
    """Run (or, with `spec.resume`, continue) a batch job and return its record when it ends."""
    spec = spec.validated()
    if spec.engine == "ray":
        import_ray()  # a missing extra is the caller's to fix: say so before a job is recorded
    options = s3_storage_options(settings.s3)
    inputs = discover_inputs(spec.input, options)
    jobs = BatchJobStore(registry.db)
    output = PartFolder(spec.output, options)
    previous = jobs.latest_for(spec.input, spec.output) if spec.resume else None
    if previous is not None and previous.status == "succeeded":
        return previous  # nothing left to do: resuming a finished job is a no-op
    if previous is None:
        version, job = _new_job(registry, jobs, spec, inputs, output)
    else:
        version, job = _resumed_job(registry, jobs, spec, inputs, previous)
    engine: Engine = RayEngine(spec.ray_address, spec.ray_cpus) if spec.engine == "ray" else LocalEngine()
    figures = _Figures(job, progress)
    with _Heartbeat(jobs, job.id, figures):
        try:
            _score(registry, settings, job, version, inputs, engine, figures, jobs)
        except BaseException as exc:
            jobs.finish(job.id, "failed", figures.values(), error=_one_line(exc))
            raise
    return jobs.finish(job.id, "succeeded", figures.values())


def _new_job(
    registry: Registry, jobs: BatchJobStore, spec: BatchSpec, inputs: InputSet, output: PartFolder
) -> tuple[ModelVersion, BatchJob]:
    existing = output.names()
    if existing:
        owner = jobs.latest_writing_to(spec.output)
        by = f" (written by batch job {owner.id})" if owner is not None else ""
        raise Conflict(
            f"{spec.output} already holds {len(existing)} part files{by}. Add --resume to continue that job, "
            "or write to an empty folder."
        )
    version = _servable(registry.resolve(spec.model_uri))
    known = [field.get("name") for field in (version.signature or {}).get("outputs") or []]
    has = ", ".join(map(str, known))
    unknown = [
        (name, f"not an output of {version.uri}; it has {has}") for name in spec.outputs or () if name not in known
    ]
    if unknown:
        raise ValidationFailed(unknown)
    job = jobs.create(
        model_uri=spec.model_uri,
        model_name=version.name,
        model_version=version.version,
        input_uri=spec.input,
        output_uri=spec.output,
        rejects_uri=spec.rejects,
        input_fingerprint=inputs.fingerprint(),
        input_files=len(inputs.files),
        input_bytes=inputs.total_bytes,
        engine=spec.engine,
        batch_rows=spec.batch_rows or DEFAULT_BATCH_ROWS,
        id_column=spec.id_column,
        outputs=list(spec.outputs or ()),
        created_by=registry.actor,
    )
    return version, job


def _resumed_job(
    registry: Registry, jobs: BatchJobStore, spec: BatchSpec, inputs: InputSet, job: BatchJob
) -> tuple[ModelVersion, BatchJob]:
    problems = [
        (field, f"{given!r} differs from {kept!r}, which batch job {job.id} used; leave it out to resume")
        for field, given, kept in (
            ("batch_rows", spec.batch_rows, job.batch_rows),
            ("id_column", spec.id_column, job.id_column),
            ("outputs", list(spec.outputs) if spec.outputs else None, job.outputs),
            ("rejects", spec.rejects, job.rejects_uri),
        )
        if given is not None and given != kept
    ]
    if spec.model_uri != job.model_uri:
        problems.append(("model_uri", f"batch job {job.id} scores with {job.model_uri!r}, not {spec.model_uri!r}"))
    if problems:
        raise ValidationFailed(problems)
    if inputs.fingerprint() != job.input_fingerprint:
        raise Conflict(
            f"The input of batch job {job.id} changed since it started (files, sizes or modification times); "
            "its output cannot be continued. Write to an empty folder to score the new input."
        )
    # The version the job started with, even if the alias has moved since: one job, one model.
    version = _servable(registry.get_version(job.model_name, job.model_version))
    return version, jobs.take_over(job, spec.engine)


def _servable(version: ModelVersion) -> ModelVersion:
    if version.archived:
        raise VersionArchived(version.name, version.version)
    if not version.signature:
        raise ValidationFailed(
            [
                (
                    "model_uri",
                    f"{version.uri} has no signature (registered without data); batch scoring checks rows against one",
                )
            ]
        )
    return version


def _score(
    registry: Registry,
    settings: Settings,
    job: BatchJob,
    version: ModelVersion,
    inputs: InputSet,
    engine: Engine,
    figures: _Figures,
    jobs: BatchJobStore,
) -> None:
    options = s3_storage_options(settings.s3)
    context = JobContext(
        job_id=job.id,
        settings=settings,
        version=version,
        input_uri=inputs.uri,
        storage_options=options,
        files=inputs.files,
        layouts=(),
        local_input=inputs.local,
        output=PartFolder(job.output_uri, options),
        rejects=PartFolder(job.rejects_uri, options),
        batch_rows=job.batch_rows,
        id_column=job.id_column,
        outputs=tuple(job.outputs) or None,
    )
    scorer = context.scorer_for(registry.load(version))
    layouts = _layouts(inputs, scorer, version)
    context = replace(context, layouts=layouts)
    figures.rows_total = sum(layout.estimated_rows or 0 for layout in layouts) or None
    jobs.beat(job.id, {"outputs": list(scorer.outputs), "rows_total": figures.rows_total})
    context.output.make()
    context.output.remove_temporaries()
    context.rejects.remove_temporaries()
    done = context.output.names()
    before = context.output.figures(done)
    figures.set_base(before.rows_in, before.rows_out, before.rows_rejected, len(done))
    tasks = pending_tasks(plan_tasks(layouts, job.batch_rows, split=engine.name == "ray"), done)
    engine.run(context, scorer, tasks, done, figures.add)


def _layouts(inputs: InputSet, scorer: Scorer, version: ModelVersion) -> tuple[FileLayout, ...]:
    """Every file's layout, each checked for the columns the job needs before any is scored."""
    layouts = tuple(read_layout(inputs.fs, file, inputs.local) for file in inputs.files)
    for file, layout in zip(inputs.files, layouts, strict=True):
        check_columns(file.name, layout.columns, scorer.needed_columns, version.uri)
    return layouts


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C); continue it with --resume"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


__all__ = ["BatchProgress", "Engine", "ProgressCallback", "run_batch"]
