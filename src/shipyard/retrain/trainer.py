"""Running the user's training code in a child process, with files in and out, a timeout and its log.

The run folder (`$SHIPYARD_RETRAIN_DIR`, private to the run, deleted afterwards) holds:

    train.parquet   in   the training part of the window: feature columns and the label column
    params.json     in   the params of the version being retrained (the champion)
    context.json    in   model, parent version, run id, trigger, label and feature names
    model.<ext>     out  (shell command) the trained model, in a format Shipyard reads without pickle:
                         .skops (scikit-learn), .ubj (XGBoost), .txt (LightGBM), .onnx, .pt/.pt2 (torch)
    metrics.json    out  optional: {"name": number, ...} recorded with the new version

A Python entry point runs in a child process (`shipyard/retrain/child.py`), which writes those outputs for it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from ..errors import RetrainFailed, ShipyardError
from ..flavors import flavor_for_file
from . import child
from .child import ERROR_FILE, MODEL_FILE
from .policy import Trainer, duration_seconds

_RUN_CHILD = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".cloudpickle")
_KILL_GRACE_SECONDS = 5.0
_KEPT_ENV_PREFIXES = ("SHIPYARD_RETRAIN_",)


@dataclass(frozen=True)
class TrainedModel:
    model: object
    metrics: dict[str, float]


class RunLog:
    """The run's log: lines kept up to `max_bytes` (the end of it), each also handed to `on_line`."""

    def __init__(self, max_bytes: int, on_line: Callable[[str], None] | None = None) -> None:
        self.max_bytes = max_bytes
        self.on_line = on_line
        self._lines: deque[str] = deque()
        self._size = 0
        self._dropped = 0
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        line = line.rstrip("\n").replace("\x00", "")
        with self._lock:
            self._lines.append(line)
            self._size += len(line) + 1
            while self._size > self.max_bytes and len(self._lines) > 1:
                self._size -= len(self._lines.popleft()) + 1
                self._dropped += 1
        if self.on_line is not None:
            self.on_line(line)

    def text(self) -> str:
        with self._lock:
            head = [f"[… {self._dropped} earlier lines dropped]"] if self._dropped else []
            return "\n".join([*head, *self._lines])


def run_trainer(
    trainer: Trainer,
    train: pd.DataFrame,
    params: Mapping[str, Any],
    context: Mapping[str, Any],
    log: RunLog,
    *,
    work_dir: Path | None = None,
) -> TrainedModel:
    """Train in a child process on `train`; the model it wrote and its metrics. RetrainFailed on any failure."""
    folder = Path(tempfile.mkdtemp(prefix=f"shipyard-retrain-{context.get('run', 'run')}-", dir=work_dir))
    try:
        train.to_parquet(folder / "train.parquet", index=False)
        (folder / "params.json").write_text(json.dumps(dict(params), default=str))
        (folder / "context.json").write_text(json.dumps(dict(context), default=str))
        _run(trainer, folder, context, log)
        model = _read_model(trainer, folder)
        return TrainedModel(model, _read_metrics(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _argv(trainer: Trainer) -> list[str]:
    if trainer.entry_point is not None:
        # child.py runs by its path, not as `-m shipyard.retrain.child`: importing the shipyard package
        # first would double the child's start-up time for nothing (it needs only pandas and cloudpickle).
        return [sys.executable, "-c", _RUN_CHILD, child.__file__, trainer.entry_point]
    assert trainer.command is not None  # the policy holds exactly one of the two
    return ["/bin/sh", "-c", trainer.command]


def _environment(folder: Path, context: Mapping[str, Any]) -> dict[str, str]:
    # The trainer gets the process's environment minus Shipyard's own settings: database URLs, the
    # artifact key and S3 secrets are the server's, not the training code's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_") or k.startswith(_KEPT_ENV_PREFIXES)}
    env.update(
        SHIPYARD_RETRAIN_DIR=str(folder),
        SHIPYARD_RETRAIN_MODEL=str(context.get("model", "")),
        SHIPYARD_RETRAIN_RUN=str(context.get("run", "")),
        SHIPYARD_RETRAIN_PARENT_VERSION=str(context.get("parent_version", "")),
    )
    # An entry point imports what this process can import, from wherever it was started.
    env["PYTHONPATH"] = os.pathsep.join(p for p in [*sys.path, env.get("PYTHONPATH", "")] if p)
    return env


def _run(trainer: Trainer, folder: Path, context: Mapping[str, Any], log: RunLog) -> None:
    timeout = duration_seconds(trainer.timeout)
    try:
        proc = subprocess.Popen(
            _argv(trainer),
            cwd=trainer.workdir or None,
            env=_environment(folder, context),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # its own process group: a timeout stops the command and its children
        )
    except OSError as exc:
        raise RetrainFailed("trainer", f"cannot start it: {exc}") from exc
    assert proc.stdout is not None
    last: deque[str] = deque(maxlen=5)  # the trainer's own last lines, for the one-line reason
    reader = threading.Thread(target=_pump, args=(proc.stdout, log, last), daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        reader.join(timeout=_KILL_GRACE_SECONDS)
        raise RetrainFailed("trainer", f"timed out after {_seconds(timeout)} and was stopped") from None
    reader.join(timeout=_KILL_GRACE_SECONDS)
    if code != 0:
        error = folder / ERROR_FILE
        reason = error.read_text().strip() if error.exists() else f"its last lines: {' | '.join(last) or '(none)'}"
        raise RetrainFailed("trainer", f"exited with status {code}: {reason}")


def _pump(stream: IO[str], log: RunLog, last: deque[str]) -> None:
    for line in stream:
        log.write(line)
        last.append(line.rstrip("\n"))


def _stop(proc: subprocess.Popen[str]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=_KILL_GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


def _seconds(value: float) -> str:
    return f"{value:g} s" if value < 120 else f"{value / 60:g} min"


def _read_model(trainer: Trainer, folder: Path) -> object:
    if trainer.entry_point is not None:
        import cloudpickle

        # Written moments ago by the child this process started, in a folder only this user can read,
        # from the code the policy names: exactly what calling the entry point in-process would return.
        with (folder / MODEL_FILE).open("rb") as handle:
            return cloudpickle.load(handle)
    found = sorted(p for p in folder.iterdir() if p.name.startswith("model.") and p.name != "model.")
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise RetrainFailed(
            "trainer", f"the command must write exactly one model.<ext> file in the folder, found {names}"
        )
    path = found[0]
    if path.suffix.lower() in _PICKLE_SUFFIXES:
        raise RetrainFailed(
            "trainer",
            f"{path.name} is a pickle, which Shipyard does not load from a command; "
            "save scikit-learn models with skops (skops.io.dump(model, 'model.skops'))",
        )
    try:
        return flavor_for_file(path).read_file(path)
    except ShipyardError as exc:
        raise RetrainFailed("trainer", f"cannot read {path.name}: {exc}") from exc


def _read_metrics(folder: Path) -> dict[str, float]:
    path = folder / "metrics.json"
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text())
    except ValueError as exc:
        raise RetrainFailed("trainer", f"metrics.json is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise RetrainFailed("trainer", "metrics.json must hold an object of name: number")
    metrics: dict[str, float] = {}
    for key, value in document.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise RetrainFailed("trainer", f"metrics.json: {key!r} is {value!r}, not a finite number")
        metrics[str(key)] = float(value)
    return metrics


__all__ = ["RunLog", "TrainedModel", "run_trainer"]
