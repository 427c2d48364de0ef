"""Unpacking an uploaded MLflow model folder (.zip, .tar, .tar.gz) safely: no member outside the
folder, no links out of it, and a cap on the unpacked size checked before anything is written."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import RequestTooLarge, ValidationFailed

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
MAX_MEMBERS = 10_000
_MLMODEL = "MLmodel"


def is_archive(filename: str) -> bool:
    return filename.lower().endswith(ARCHIVE_SUFFIXES)


def _too_large(total: int, limit: int) -> RequestTooLarge:
    return RequestTooLarge(total, limit, "the unpacked archive is too large; upload a smaller model folder.")


def _check_member(name: str, field: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in name:
        raise ValidationFailed([(field, f"archive member {name!r} points outside the archive")])


def _unpack_zip(archive: Path, folder: Path, max_bytes: int, field: str) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValidationFailed([(field, f"the archive has more than {MAX_MEMBERS:,} members")])
        total = sum(m.file_size for m in members)
        if total > max_bytes:
            raise _too_large(total, max_bytes)
        for member in members:
            _check_member(member.filename, field)
        zf.extractall(folder)


def _unpack_tar(archive: Path, folder: Path, max_bytes: int, field: str) -> None:
    with tarfile.open(archive) as tar:
        total, members = 0, []
        for member in tar:  # stops at the cap, before decompressing the rest of a crafted archive
            members.append(member)
            total += member.size
            if total > max_bytes:
                raise _too_large(total, max_bytes)
            if len(members) > MAX_MEMBERS:
                raise ValidationFailed([(field, f"the archive has more than {MAX_MEMBERS:,} members")])
        # The "data" filter refuses absolute names, '..', links leaving the folder and device files.
        tar.extractall(folder, members=members, filter="data")


def unpack_mlflow_archive(archive: Path, folder: Path, *, max_bytes: int, field: str = "file") -> Path:
    """Unpack `archive` into `folder` and return the MLflow model folder in it (MLmodel at its top,
    or in its only top-level folder)."""
    try:
        if archive.name.lower().endswith(".zip"):
            _unpack_zip(archive, folder, max_bytes, field)
        else:
            _unpack_tar(archive, folder, max_bytes, field)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ValidationFailed([(field, f"cannot unpack the archive ({type(exc).__name__}: {exc})")]) from exc
    if (folder / _MLMODEL).is_file():
        return folder
    tops = list(folder.iterdir())
    if len(tops) == 1 and (tops[0] / _MLMODEL).is_file():
        return tops[0]
    raise ValidationFailed(
        [(field, "the archive holds no MLflow model: put its MLmodel file at the top or in its only folder")]
    )


__all__ = ["ARCHIVE_SUFFIXES", "is_archive", "unpack_mlflow_archive"]
