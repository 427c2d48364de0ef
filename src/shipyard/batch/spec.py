"""What a batch job is asked to do, checked before anything is read or recorded."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, get_args

from ..errors import ValidationFailed

Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = get_args(Engine)
DEFAULT_BATCH_ROWS = 100_000
MAX_BATCH_ROWS = 10_000_000


@dataclass(frozen=True)
class BatchSpec:
    """A batch scoring request: model, input and output, and how to run it.

    `batch_rows`, `id_column` and `outputs` left as None take the defaults on a new job, and the
    job's own values on `resume` (a resumed job must cut its input as it did before).
    """

    model_uri: str
    input: str
    output: str
    engine: Engine = "local"
    batch_rows: int | None = None
    id_column: str | None = None
    outputs: tuple[str, ...] | None = None
    rejects: str | None = None
    resume: bool = False
    ray_address: str | None = None
    ray_cpus: int | None = None

    def validated(self) -> BatchSpec:
        """This spec with its locations made absolute; `ValidationFailed` naming every bad field."""
        problems: list[tuple[str, str]] = []
        for field, value in (("model_uri", self.model_uri), ("input", self.input), ("output", self.output)):
            if not isinstance(value, str) or not value.strip():
                problems.append((field, f"must be a non-empty string, got {value!r}"))
        if self.engine not in ENGINES:
            problems.append(("engine", f"{self.engine!r} is not an engine; use one of {', '.join(ENGINES)}"))
        rows = self.batch_rows
        if rows is not None and (
            isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= MAX_BATCH_ROWS
        ):
            problems.append(("batch_rows", f"{rows!r} is not a number of rows between 1 and {MAX_BATCH_ROWS:,}"))
        if self.ray_cpus is not None and (not isinstance(self.ray_cpus, int) or self.ray_cpus < 1):
            problems.append(("ray_cpus", f"{self.ray_cpus!r} is not a positive number of CPUs"))
        if self.id_column is not None and not (isinstance(self.id_column, str) and self.id_column):
            problems.append(("id_column", f"{self.id_column!r} is not a column name"))
        if self.engine != "ray" and (self.ray_address or self.ray_cpus):
            problems.append(("ray_address", "only the ray engine takes a Ray address or CPU count; add --engine ray"))
        if problems:
            raise ValidationFailed(problems)
        source, output = normalize_location(self.input), normalize_location(self.output)
        if source == output or output.startswith(source + "/"):
            # Inside the input, the parts would be read as input by the next run (and change its fingerprint).
            raise ValidationFailed([("output", "must be outside the input; write the predictions to another folder")])
        rejects = normalize_location(self.rejects) if self.rejects else f"{output}/_rejects"
        return replace(self, input=source, output=output, rejects=rejects)


def normalize_location(location: str) -> str:
    """A URL as given (without a trailing slash), or a local path made absolute: what jobs are matched on."""
    if "://" in location:
        return location.rstrip("/")
    return str(Path(location).expanduser().resolve())


__all__ = ["DEFAULT_BATCH_ROWS", "ENGINES", "MAX_BATCH_ROWS", "BatchSpec", "Engine", "normalize_location"]
