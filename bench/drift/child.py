"""What every measured process shares: its clock starts after its imports, and it ends by printing
one JSON line (the parent reads it, and takes the process's peak RSS from `os.wait4`)."""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

STARTED = time.perf_counter()


def start() -> tuple[float, float]:
    """The clocks at the start of the measured work: wall and CPU (all threads of the process)."""
    return time.perf_counter(), time.process_time()


def finish(tool: str, started: tuple[float, float], flagged: list[str], **details: Any) -> None:
    """Print the result line: the measured work (reading the data included, imports not) in wall
    seconds and CPU seconds (CPU time is what other load on the machine disturbs least)."""
    seconds, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    line = {
        "tool": tool,
        "seconds": round(seconds, 4),
        "cpu_seconds": round(cpu, 4),
        "since_start_seconds": round(time.perf_counter() - STARTED, 4),
        "peak_rss_mb_self": round(peak, 1),
        "flagged": sorted(flagged),
        **details,
    }
    sys.stdout.write("RESULT " + json.dumps(line) + "\n")
