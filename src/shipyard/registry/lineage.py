"""What a version records about where it came from: code, environment, caller."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

from ..flavors.base import package_versions
from ..types import JSONObject

_ENV_PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "shipyard")


def git_state(cwd: Path | None = None) -> JSONObject | None:
    """The commit and dirty flag of the git repository around `cwd`, or None outside one."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip()), "repository": top}


def environment(requirements: dict[str, str]) -> JSONObject:
    packages: dict[str, str] = package_versions(*_ENV_PACKAGES)
    packages.update(requirements)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": sys.platform,
        "machine": platform.machine(),
        "packages": dict(sorted(packages.items())),
    }


__all__ = ["environment", "git_state"]
