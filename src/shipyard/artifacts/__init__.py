"""Content-addressed artifact storage: local folders, S3 (and other fsspec URLs), memory for tests.

store = open_artifact_store(settings)
digest = store.put_file(Path("model.tar"))      # "sha256:…"
path = store.fetch(digest)                      # a verified local file

With `SHIPYARD_ARTIFACTS_KEY` (or `_KEY_FILE`) set, the store is an `EncryptedArtifactStore`:
AES-256-GCM at rest, same digests and the same verification on every read.
"""

from __future__ import annotations

from .base import ArtifactStore, ArtifactStoreWithRefs, digest_of_bytes, digest_of_file, parse_digest
from .encrypted import EncryptedArtifactStore
from .factory import open_artifact_store, s3_storage_options
from .fsspec_store import FsspecArtifactStore
from .keys import ArtifactKey, load_artifact_key
from .local import LocalArtifactStore
from .memory import MemoryArtifactStore

__all__ = [
    "ArtifactKey",
    "ArtifactStore",
    "ArtifactStoreWithRefs",
    "EncryptedArtifactStore",
    "FsspecArtifactStore",
    "LocalArtifactStore",
    "MemoryArtifactStore",
    "digest_of_bytes",
    "digest_of_file",
    "load_artifact_key",
    "open_artifact_store",
    "parse_digest",
    "s3_storage_options",
]
