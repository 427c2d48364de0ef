"""A saved model folder ⇄ one tar artifact.

The tar is deterministic (sorted names, zeroed times and owners) so identical files give an
identical digest, and extraction uses tarfile's "data" filter so a crafted archive cannot write
outside its folder.
"""

from __future__ import annotations

import tarfile
from pathlib import Path


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def pack_folder(folder: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False, filter=_normalise)
    return archive


def unpack_archive(archive: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r") as tar:
        tar.extractall(folder, filter="data")
    return folder


__all__ = ["pack_folder", "unpack_archive"]
