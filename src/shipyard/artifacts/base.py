"""The artifact store protocol and the digest helpers every store shares.

An artifact is an immutable blob addressed by the sha256 of its bytes ("sha256:<64 hex>").
Stores verify the hash on every read, so a tampered or half-written blob is never handed out.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from ..errors import ArtifactIntegrityError, ValidationFailed
from ..types import Digest

CHUNK_SIZE = 1 << 20
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")


@runtime_checkable
class ArtifactStore(Protocol):
    """Content-addressed blob storage: put bytes in, get a digest back, read them by digest.

    Reads raise `ArtifactNotFound` for an unknown digest and `ArtifactIntegrityError` when the
    stored bytes no longer hash to their digest.
    """

    @property
    def url(self) -> str:
        """Where the store lives, for messages."""
        ...

    def put_file(self, path: Path) -> Digest:
        """Store the file's bytes (streamed, hashed while read); return their digest."""
        ...

    def put_bytes(self, data: bytes) -> Digest:
        """Store `data`; return its digest."""
        ...

    def get_bytes(self, digest: Digest) -> bytes:
        """The artifact's bytes, verified against `digest`."""
        ...

    def fetch(self, digest: Digest) -> Path:
        """A local file holding the artifact, verified against `digest`. Treat it as read-only."""
        ...

    def exists(self, digest: Digest) -> bool:
        """Whether the store holds `digest` (without verifying its bytes)."""
        ...


@runtime_checkable
class ArtifactStoreWithRefs(ArtifactStore, Protocol):
    """An artifact store that also keeps refs: small records filed under an artifact's digest.

    A ref is not content-addressed and the store does not verify it; whoever reads one verifies
    what it points to. `EncryptedArtifactStore` keeps one per artifact, naming the blob that holds
    the artifact's ciphertext. Every built-in store is one of these.
    """

    def put_ref(self, digest: Digest, data: bytes) -> None:
        """File `data` under `digest`, replacing any ref there, atomically."""
        ...

    def get_ref(self, digest: Digest) -> bytes | None:
        """The ref filed under `digest`, or None."""
        ...


def parse_digest(text: str) -> Digest:
    """Check that `text` is "sha256:" followed by 64 lowercase hex digits and return it as a `Digest`.

    Every store calls this before building a path or key from a digest, so a crafted value such as
    "sha256:../../etc/passwd" never reaches the filesystem. Raises `ValidationFailed` (a `ValueError`).
    """
    if not isinstance(text, str) or not _DIGEST_RE.fullmatch(text):
        raise ValidationFailed(
            [("digest", f"{text!r} is not an artifact digest; expected 'sha256:' followed by 64 lowercase hex digits")]
        )
    return Digest(text)


def digest_of_bytes(data: bytes) -> Digest:
    """The digest of `data`, e.g. `digest_of_bytes(b"")` → "sha256:e3b0c442…"."""
    return Digest("sha256:" + hashlib.sha256(data).hexdigest())


def digest_of_file(path: Path) -> Digest:
    """The digest of the file at `path`, read in chunks so large files need little memory."""
    with open(path, "rb") as f:
        return Digest("sha256:" + hashlib.file_digest(f, "sha256").hexdigest())


def copy_and_hash(src: BinaryIO, dst: BinaryIO) -> Digest:
    """Copy `src` to `dst` in chunks and return the digest of what was copied."""
    sha = hashlib.sha256()
    while chunk := src.read(CHUNK_SIZE):
        sha.update(chunk)
        dst.write(chunk)
    return Digest("sha256:" + sha.hexdigest())


def check_digest(expected: Digest, actual: Digest, where: str) -> None:
    """Raise `ArtifactIntegrityError` unless the bytes found at `where` hash to `expected`."""
    if actual != expected:
        raise ArtifactIntegrityError(expected, actual, where)


__all__ = ["ArtifactStore", "ArtifactStoreWithRefs", "digest_of_bytes", "digest_of_file", "parse_digest"]
