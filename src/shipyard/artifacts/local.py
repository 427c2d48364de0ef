"""Artifacts as files in a local folder: `<root>/sha256/<first two hex>/<hex>` (refs under `<root>/refs/`)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from ..types import Digest
from ._atomic import AtomicFile
from ._refs import missing_artifact
from .base import check_digest, copy_and_hash, digest_of_bytes, digest_of_file, parse_digest


class LocalArtifactStore:
    """A content-addressed store in the folder `root`, safe for many threads and processes at once.

    Writes stream into `<root>/tmp` and are renamed into place only when complete, so a blob is
    never visible half-written; two writers of the same content both succeed. Every read
    re-hashes the file.

        store = LocalArtifactStore(Path(".shipyard/artifacts"))
        digest = store.put_bytes(b"weights")
        assert store.get_bytes(digest) == b"weights"
    """

    def __init__(self, root: Path) -> None:
        self._root = root

    def __repr__(self) -> str:
        return f"LocalArtifactStore(root={str(self._root)!r})"

    @property
    def url(self) -> str:
        return str(self._root)

    def path_for(self, digest: Digest) -> Path:
        """Where the blob for `digest` lives (or would live); the file is not checked."""
        hex_ = parse_digest(digest).removeprefix("sha256:")
        return self._root / "sha256" / hex_[:2] / hex_

    def ref_path_for(self, digest: Digest) -> Path:
        """Where the ref filed under `digest` lives (or would live)."""
        hex_ = parse_digest(digest).removeprefix("sha256:")
        return self._root / "refs" / "sha256" / hex_[:2] / hex_

    def put_file(self, path: Path) -> Digest:
        with open(path, "rb") as src:
            return self.put_stream(src)

    def put_bytes(self, data: bytes) -> Digest:
        return self.put_stream(io.BytesIO(data))

    def put_stream(self, src: BinaryIO, expected: Digest | None = None, where: str | None = None) -> Digest:
        """Store what `src` yields and return its digest, hashing while copying.

        With `expected`, bytes that hash differently are not stored and raise
        `ArtifactIntegrityError` naming `where` (the stream's origin) — how remote blobs enter a cache.
        """
        if expected is not None:
            expected = parse_digest(expected)
        # The digest, hence the final name, is known only after reading everything, so the
        # bytes are staged in <root>/tmp: the same filesystem, which keeps the rename atomic.
        with AtomicFile(self._root / "tmp") as tmp:
            digest = copy_and_hash(src, tmp.file)
            if expected is not None:
                check_digest(expected, digest, where or "a stream")
            tmp.publish(self.path_for(digest))
        return digest

    def get_bytes(self, digest: Digest) -> bytes:
        path = self.path_for(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise missing_artifact(self, digest) from exc
        check_digest(digest, digest_of_bytes(data), str(path))
        return data

    def fetch(self, digest: Digest) -> Path:
        path = self.path_for(digest)
        try:
            actual = digest_of_file(path)
        except FileNotFoundError as exc:
            raise missing_artifact(self, digest) from exc
        check_digest(digest, actual, str(path))
        return path

    def exists(self, digest: Digest) -> bool:
        return self.path_for(digest).is_file()

    def put_ref(self, digest: Digest, data: bytes) -> None:
        with AtomicFile(self._root / "tmp") as tmp:
            tmp.file.write(data)
            tmp.publish(self.ref_path_for(digest))

    def get_ref(self, digest: Digest) -> bytes | None:
        try:
            return self.ref_path_for(digest).read_bytes()
        except FileNotFoundError:
            return None


__all__ = ["LocalArtifactStore"]
