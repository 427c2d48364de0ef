"""Small checks shared by the flavors' `read_file`: suffixes, sniffing, and the error for a bad file."""

from __future__ import annotations

from pathlib import Path

from ..errors import ValidationFailed


def has_suffix(path: Path, *suffixes: str) -> bool:
    """True for an existing file whose suffix (case-insensitive) is one of `suffixes`."""
    return path.is_file() and path.suffix.lower() in suffixes


def first_line(path: Path, limit: int = 256) -> str:
    """The first line of a (possibly binary) file, decoded leniently; "" when unreadable."""
    try:
        with path.open("rb") as file:
            head = file.read(limit)
    except OSError:
        return ""
    return head.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()


def bad_file(path: Path, problem: str) -> ValidationFailed:
    """The error for a file a user pointed at that is not what its name says (the CLI's PATH argument)."""
    return ValidationFailed([("path", f"{path}: {problem}")])


__all__ = ["bad_file", "first_line", "has_suffix"]
