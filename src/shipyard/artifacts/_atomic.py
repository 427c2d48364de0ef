"""Files that appear under their final name only when complete."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

_READ_ONLY = 0o444


class AtomicFile:
    """A temporary file in `directory` that `publish` moves, whole and durable, to its final name.

    Readers of the final name see either nothing or the complete file: the bytes are fsynced
    before `os.replace`, which is atomic within one filesystem. If the block exits without
    `publish` (an error, a failed check), the temporary file is removed. A process killed
    mid-write leaves only a `.partial-*` file in `directory`, never a file under a final name.
    The published file has `mode` (default read-only for everyone; the temporary file is 0600).

        with AtomicFile(root / "tmp") as tmp:
            tmp.file.write(data)
            tmp.publish(root / "blob")
    """

    def __init__(self, directory: Path, mode: int = _READ_ONLY) -> None:
        self._directory = directory
        self._mode = mode
        self._path: Path | None = None
        self._file: BinaryIO | None = None

    def __enter__(self) -> AtomicFile:
        self._directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self._directory, prefix=".partial-")
        self._path, self._file = Path(name), os.fdopen(fd, "wb")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._file is not None:
            self._file.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    @property
    def file(self) -> BinaryIO:
        if self._file is None:
            raise RuntimeError("AtomicFile is used outside its `with` block, or after publish()")
        return self._file

    def publish(self, final: Path) -> None:
        """Make the written bytes appear at `final` (replacing any file there) and forget the temp file."""
        f, path = self.file, self._path
        assert path is not None  # set together with the file in __enter__
        f.flush()
        os.fsync(f.fileno())
        f.close()
        self._file = None
        # Blobs are immutable; read-only files make accidental in-place edits fail loudly.
        os.chmod(path, self._mode)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, final)
        self._path = None
        _fsync_directory(final.parent)


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk too.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
