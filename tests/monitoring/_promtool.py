"""`promtool` (Debian package `prometheus`, installed by `make system-deps`): the reference checker of
the Prometheus text format and of rule files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .._services import unavailable


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        unavailable("promtool is not installed (apt-get install prometheus, or `make system-deps`)")
        raise AssertionError("unreachable")
    return found


def check_metrics(text: str) -> subprocess.CompletedProcess[str]:
    """`promtool check metrics` on `text`: exit 0 and no lint output when the exposition is clean."""
    return subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)


def check_rules(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
