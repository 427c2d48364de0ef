"""Metrics shared by the worker processes of one server: prometheus_client's multiprocess mode.

Each worker writes its counters, histograms and gauges into memory-mapped files of its own in one
folder (`PROMETHEUS_MULTIPROC_DIR`); a scrape, answered by whichever worker gets it, reads and merges
all of them. `run_server` gives each run a fresh folder (`<home>/run/metrics/run-<pid>`), removing
the folders of runs whose process is gone, and sets the variable before any worker starts:
prometheus_client decides between in-process and file-backed values when it is first imported.

A worker that dies leaves its files behind. Its counts stay (a counter must not go backwards), but its
live gauges (in-flight requests, loaded models, ...) must not, so the files of dead processes are
marked dead (`mark_process_dead`) when a worker starts and before every scrape.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"
_RUN = re.compile(r"^run-(\d+)$")
_FILE = re.compile(r"_(\d+)\.db$")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def prepare_run_dir(base: Path) -> Path:
    """A fresh, empty folder for this run's metric files under `base`, with stale runs removed.

    A run folder is named after the process that serves (`run-<pid>`); one whose process is gone, or
    whose pid is ours again (a container restarted), is left over and removed.
    """
    base.mkdir(parents=True, exist_ok=True)
    me = os.getpid()
    for entry in base.iterdir():
        match = _RUN.match(entry.name)
        if match and entry.is_dir() and (int(match[1]) == me or not pid_alive(int(match[1]))):
            shutil.rmtree(entry, ignore_errors=True)
    run = base / f"run-{me}"
    run.mkdir()
    return run


def use_run_dir(base: Path) -> Path:
    """Prepare this run's folder and point prometheus_client (in this process and its workers) at it."""
    run = prepare_run_dir(base)
    os.environ[ENV] = str(run)
    return run


def configured_dir() -> Path | None:
    """The multiprocess folder when this process writes its metrics to files, else None.

    Both the variable and prometheus_client's choice at import must agree: if the library was imported
    before the variable was set, values stay in process and the files would miss them.
    """
    path = os.environ.get(ENV)
    if not path or not Path(path).is_dir():
        return None
    from prometheus_client import values

    if not getattr(values.ValueClass, "_multiprocess", False):
        logger.warning("%s is set but prometheus_client was imported before it: metrics stay per worker", ENV)
        return None
    return Path(path)


def mark_dead_workers(path: Path) -> list[int]:
    """Drop the live gauges of processes that wrote into `path` and are gone; the pids handled."""
    from prometheus_client import multiprocess

    dead = set()
    for file in path.glob("gauge_live*.db"):
        match = _FILE.search(file.name)
        if match and not pid_alive(int(match[1])):
            dead.add(int(match[1]))
    for pid in dead:
        with contextlib.suppress(OSError):
            multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]  # untyped upstream
    return sorted(dead)


def mark_self_dead(path: Path) -> None:
    """At a worker's shutdown: its live gauges stop counting at once."""
    from prometheus_client import multiprocess

    with contextlib.suppress(OSError):
        multiprocess.mark_process_dead(os.getpid(), str(path))  # type: ignore[no-untyped-call]  # untyped upstream


__all__ = [
    "ENV",
    "configured_dir",
    "mark_dead_workers",
    "mark_self_dead",
    "pid_alive",
    "prepare_run_dir",
    "use_run_dir",
]
