"""Which files a batch job reads: one Parquet or CSV file, a folder of them, or the same on S3 (fsspec).

The input fingerprint is cheap on purpose: it hashes each file's path (relative to the input),
size and modification stamp (the mtime of a local file, the ETag or last-modified time of an
object store's), never the data. It tells `--resume` whether the input is still the one the job
started on; a file rewritten in place with the same size and stamp is not noticed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ValidationFailed

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

FileFormat = Literal["parquet", "csv"]
_SUFFIXES: tuple[tuple[str, FileFormat], ...] = (
    (".parquet", "parquet"),
    (".pq", "parquet"),
    (".csv", "csv"),
    (".csv.gz", "csv"),
)


def file_format(name: str) -> FileFormat | None:
    """The format a file name says it has, or None for anything else."""
    lowered = name.lower()
    return next((fmt for suffix, fmt in _SUFFIXES if lowered.endswith(suffix)), None)


@dataclass(frozen=True)
class InputFile:
    """One file of the input, as the filesystem described it when the job was planned."""

    path: str
    """The path inside its filesystem (`bucket/key` for S3)."""
    name: str
    """The path relative to the input root: what rejects and the fingerprint name it by."""
    format: FileFormat
    size: int
    stamp: str
    """Modification stamp: mtime, ETag or last-modified time, whichever the filesystem gives."""

    @property
    def compression(self) -> str | None:
        return "gzip" if self.path.lower().endswith(".gz") else None


@dataclass(frozen=True)
class InputSet:
    """The files of one input URI, in a stable (sorted) order that part names are numbered by."""

    uri: str
    fs: AbstractFileSystem
    files: tuple[InputFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def local(self) -> bool:
        return "file" in _protocols(self.fs)

    def fingerprint(self) -> str:
        """sha256 of every file's relative path, size and stamp (see the module docstring)."""
        digest = hashlib.sha256()
        for f in self.files:
            digest.update(f"{f.name}\t{f.size}\t{f.stamp}\n".encode())
        return "sha256:" + digest.hexdigest()

    def __repr__(self) -> str:
        return f"InputSet(uri={self.uri!r}, files={len(self.files)}, bytes={self.total_bytes})"


def open_filesystem(uri: str, storage_options: Mapping[str, Any] | None = None) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem of `uri` and the path inside it; a local path gives the local filesystem."""
    from fsspec.core import url_to_fs

    options = dict(storage_options or {}) if _scheme(uri) in ("s3", "s3a") else {}
    try:
        fs, path = url_to_fs(uri, **options)
    except (ImportError, ValueError) as exc:
        raise ValidationFailed([("input", f"cannot open {uri!r}: {exc}")]) from exc
    return fs, str(path)


def discover_inputs(uri: str, storage_options: Mapping[str, Any] | None = None) -> InputSet:
    """The Parquet and CSV files at `uri` (a file or a folder, searched recursively).

    Names starting with "." or "_" are skipped at any depth (Spark's `_SUCCESS`, our `_rejects`);
    other files without a known suffix are ignored. Raises `ValidationFailed` naming the input
    when it does not exist or holds nothing to read.
    """
    fs, root = open_filesystem(uri, storage_options)
    try:
        info = fs.info(root)
    except FileNotFoundError as exc:
        raise ValidationFailed([("input", f"{uri} does not exist")]) from exc
    except OSError as exc:  # permissions, network: say what failed, one line
        raise ValidationFailed([("input", f"cannot read {uri}: {exc}")]) from exc
    if info.get("type") == "directory":
        found = fs.find(root, detail=True)
        entries = [
            (path, entry) for path, entry in sorted(found.items()) if not _hidden(_relative(path, root)) and entry
        ]
        files = tuple(_input_file(path, entry, _relative(path, root)) for path, entry in entries if _known(path))
        if not files:
            raise ValidationFailed([("input", f"{uri} holds no Parquet or CSV files (.parquet, .pq, .csv, .csv.gz)")])
    else:
        if not _known(root):
            raise ValidationFailed(
                [("input", f"{uri} is neither Parquet nor CSV; name it .parquet, .pq, .csv or .csv.gz")]
            )
        files = (_input_file(root, info, root.rsplit("/", 1)[-1]),)
    return InputSet(uri, fs, files)


def _input_file(path: str, info: Mapping[str, Any], name: str) -> InputFile:
    fmt = file_format(path)
    assert fmt is not None  # callers filtered on _known
    stamp = info.get("ETag") or info.get("mtime") or info.get("LastModified") or info.get("last_modified") or ""
    return InputFile(path=path, name=name, format=fmt, size=int(info.get("size") or 0), stamp=str(stamp))


def _known(path: str) -> bool:
    return file_format(path) is not None


def _hidden(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def _relative(path: str, root: str) -> str:
    return path[len(root) :].lstrip("/") if path.startswith(root) else path


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else "file"


def _protocols(fs: AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


__all__ = ["FileFormat", "InputFile", "InputSet", "discover_inputs", "file_format", "open_filesystem"]
