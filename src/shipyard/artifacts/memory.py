"""An in-memory artifact store for tests: same contract as the real ones, verification included."""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from pathlib import Path

from ..types import Digest
from ._atomic import AtomicFile
from ._refs import missing_artifact
from .base import check_digest, digest_of_bytes, parse_digest


class MemoryArtifactStore:
    """Blobs in a dict. `fetch` writes them to a temporary folder the store owns and removes
    when it is garbage-collected. `corrupt` lets a test simulate tampering.

        store = MemoryArtifactStore()
        digest = store.put_bytes(b"model")
        store.corrupt(digest, b"evil")      # get_bytes / fetch now raise ArtifactIntegrityError
    """

    def __init__(self) -> None:
        self._blobs: dict[Digest, bytes] = {}
        self._refs: dict[Digest, bytes] = {}
        self._lock = threading.Lock()
        self._fetch_dir: Path | None = None

    def __repr__(self) -> str:
        return f"MemoryArtifactStore(blobs={len(self._blobs)})"

    @property
    def url(self) -> str:
        return f"memory://{id(self):x}"

    def put_file(self, path: Path) -> Digest:
        return self.put_bytes(path.read_bytes())

    def put_bytes(self, data: bytes) -> Digest:
        digest = digest_of_bytes(data)
        with self._lock:
            self._blobs[digest] = bytes(data)
        return digest

    def get_bytes(self, digest: Digest) -> bytes:
        digest = parse_digest(digest)
        with self._lock:
            data = self._blobs.get(digest)
        if data is None:
            raise missing_artifact(self, digest)
        check_digest(digest, digest_of_bytes(data), f"{self.url}/{digest}")
        return data

    def fetch(self, digest: Digest) -> Path:
        data = self.get_bytes(digest)
        folder = self._folder()
        with AtomicFile(folder) as tmp:
            tmp.file.write(data)
            tmp.publish(folder / digest.removeprefix("sha256:"))
        return folder / digest.removeprefix("sha256:")

    def exists(self, digest: Digest) -> bool:
        digest = parse_digest(digest)
        with self._lock:
            return digest in self._blobs

    def put_ref(self, digest: Digest, data: bytes) -> None:
        with self._lock:
            self._refs[parse_digest(digest)] = bytes(data)

    def get_ref(self, digest: Digest) -> bytes | None:
        digest = parse_digest(digest)
        with self._lock:
            return self._refs.get(digest)

    def corrupt(self, digest: Digest, data: bytes) -> None:
        """Replace the bytes stored under `digest` with `data`, as an attacker or a bad disk would."""
        with self._lock:
            self._blobs[parse_digest(digest)] = bytes(data)

    def _folder(self) -> Path:
        with self._lock:
            if self._fetch_dir is None:
                self._fetch_dir = Path(tempfile.mkdtemp(prefix="shipyard-memory-artifacts-"))
                weakref.finalize(self, shutil.rmtree, self._fetch_dir, ignore_errors=True)
            return self._fetch_dir


__all__ = ["MemoryArtifactStore"]
