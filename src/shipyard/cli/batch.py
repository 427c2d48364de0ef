"""`shipyard batch MODEL_URI INPUT -o OUTPUT …` and `shipyard batch list|show`.

`shipyard batch MODEL …` is short for `shipyard batch run MODEL …` (the group sends anything that
is not one of its sub-commands to `run`), so the issue's spelling and the sub-commands live side by side.
"""

from __future__ import annotations

import logging
from typing import Any

import typer
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text
from typer.core import TyperGroup

from ..config import load_settings
from ..registry import open_registry
from ._output import err_console, print_json, short_time, table


class _RunByDefault(TyperGroup):
    """A group whose first argument, when it is not a sub-command, starts `run`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Any: typer's vendored click Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RunByDefault,
    help="Score files with a registered model (`shipyard batch MODEL INPUT -o OUTPUT`), list and show jobs.",
    no_args_is_help=True,
)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


class _RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "… rows/s", style="progress.data.speed")


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.fields[total_text]}"),
        _RowsPerSecond(),
        TextColumn("{task.fields[rejected]:,} rejected"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,  # stdout stays clean for --json
        transient=False,
    )


@app.command("run")
def run(
    model_uri: str = typer.Argument(..., help="models:/churn/3, churn@production, churn/3 or churn."),
    input: str = typer.Argument(..., help="A Parquet or CSV file, a folder of them, or s3://bucket/prefix."),
    output: str = typer.Option(..., "--output", "-o", help="Folder (local or s3://) for the Parquet part files."),
    engine: str = typer.Option("local", "--engine", help="local (threads) or ray (Ray Data)."),
    batch_rows: int | None = typer.Option(None, "--batch-rows", help="Rows per chunk and part file [100,000]."),
    id_column: str | None = typer.Option(None, "--id-column", help="Input column copied to the output as the key."),
    outputs: list[str] | None = typer.Option(
        None, "--outputs", help="Model outputs to write, repeatable (default: all, e.g. predict and predict_proba)."
    ),
    rejects: str | None = typer.Option(None, "--rejects", help="Folder for rejected rows [OUTPUT/_rejects]."),
    resume: bool = typer.Option(False, "--resume", help="Continue the latest unfinished job for INPUT and OUTPUT."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="Ray cluster address (default: a local Ray)."),
    ray_cpus: int | None = typer.Option(None, "--ray-cpus", help="CPUs of the local Ray (default: all)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Score INPUT with MODEL_URI into the folder OUTPUT, streaming, with a progress bar."""
    from ..batch import BatchProgress, BatchSpec, run_batch  # pyarrow and the engines only when scoring

    spec = BatchSpec(
        model_uri=model_uri,
        input=input,
        output=output,
        engine=engine,  # type: ignore[arg-type]  # checked by BatchSpec.validated, naming the engines
        batch_rows=batch_rows,
        id_column=id_column,
        outputs=tuple(outputs) if outputs else None,
        rejects=rejects,
        resume=resume,
        ray_address=ray_address,
        ray_cpus=ray_cpus,
    )
    if engine == "ray":
        logging.getLogger("ray").setLevel(logging.ERROR)  # Ray's own progress lines would break the bar
    settings = load_settings()
    registry = open_registry(settings)
    with _progress_bar() as bar:
        tasks: list[Any] = []  # the bar's task, made on the first part: a job that fails early draws no bar

        def show(progress: BatchProgress) -> None:
            total = max(progress.rows_total, progress.rows_done) if progress.rows_total else None
            if not tasks:
                tasks.append(bar.add_task(f"job {progress.job_id}", total=total, total_text="?", rejected=0))
            bar.update(
                tasks[0],
                completed=progress.rows_done,
                total=total,
                total_text=f"{total:,}" if total else "?",
                rejected=progress.rows_rejected,
            )

        job = run_batch(registry, settings, spec, progress=show)
        if tasks:
            bar.update(tasks[0], completed=job.rows_in, total=job.rows_in or None, total_text=f"{job.rows_in:,}")
    if not tasks and job.status == "succeeded" and resume:
        err_console.print(f"batch job {job.id} had already finished: nothing to resume.")
    _print_job(job.to_dict(), as_json)


@app.command("list")
def list_jobs(
    status: str | None = typer.Option(None, "--status", help="running, interrupted, succeeded or failed."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    as_json: bool = JSON_OPTION,
) -> None:
    """Batch jobs, newest first."""
    from ..batch import BatchJobStore

    jobs = BatchJobStore(open_registry().db).list(limit=limit, status=status)
    if as_json:
        print_json([job.to_dict() for job in jobs])
        return
    table(
        "batch jobs",
        ["id", "status", "model", "input", "output", "rows in", "out", "rejected", "duration", "started"],
        [
            (
                job.id,
                job.status,
                f"{job.model_name}/{job.model_version}",
                job.input_uri,
                job.output_uri,
                f"{job.rows_in:,}",
                f"{job.rows_out:,}",
                f"{job.rows_rejected:,}",
                f"{job.duration_seconds:.1f} s",
                short_time(job.started_at),
            )
            for job in jobs
        ],
    )


@app.command("show")
def show_job(
    job_id: int = typer.Argument(..., help="The job's number (see `shipyard batch list`)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """One batch job: its model, input, output and figures."""
    from ..batch import BatchJobStore

    _print_job(BatchJobStore(open_registry().db).get(job_id).to_dict(), as_json)


def _print_job(job: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(job)
        return
    speed = job.get("rows_per_second")
    rows = [
        ("status", job["status"] + (f" ({job['error']})" if job.get("error") else "")),
        ("model", f"{job['model_uri']} → {job['model_version_uri']}"),
        ("input", f"{job['input_uri']} ({job['input_files']} files, {job['input_bytes']:,} bytes)"),
        ("input fingerprint", job["input_fingerprint"]),
        ("output", job["output_uri"]),
        ("rejects", job["rejects_uri"]),
        ("engine", f"{job['engine']}, {job['batch_rows']:,} rows per chunk"),
        ("id column", job["id_column"] or "-"),
        ("outputs", ", ".join(job["outputs"]) or "-"),
        ("rows", f"{job['rows_in']:,} in, {job['rows_out']:,} out, {job['rows_rejected']:,} rejected"),
        ("parts", job["parts"]),
        ("duration", f"{job['duration_seconds']:.2f} s" + (f" ({speed:,.0f} rows/s)" if speed else "")),
        ("attempts", job["attempts"]),
        ("started", f"{short_time(job['started_at'])} by {job['created_by']}"),
        ("finished", short_time(job["finished_at"]) or "-"),
    ]
    table(f"batch job {job['id']}", ["field", "value"], rows)


__all__ = ["app"]
