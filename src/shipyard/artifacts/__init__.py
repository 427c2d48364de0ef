"""Content-addressed artifact storage: local folders, S3 (and other fsspec URLs), memory for tests.

store = open_artifact_store(settings)
digest = store.put_file(Path("model.tar"))      # "sha256:…"
path = store.fetch(digest)                      # a verified local file
"""

from __future__ import annotations

from .base import ArtifactStore, digest_of_bytes, digest_of_file, parse_digest
from .factory import open_artifact_store, s3_storage_options
from .fsspec_store import FsspecArtifactStore
from .local import LocalArtifactStore
from .memory import MemoryArtifactStore

__all__ = [
    "ArtifactStore",
    "FsspecArtifactStore",
    "LocalArtifactStore",
    "MemoryArtifactStore",
    "digest_of_bytes",
    "digest_of_file",
    "open_artifact_store",
    "parse_digest",
    "s3_storage_options",
]
