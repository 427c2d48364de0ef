"""Encryption at rest: `EncryptedArtifactStore` wraps any store and keeps only ciphertext in it.

Design, and why:

- **Addresses stay plaintext digests.** `put_*` returns the sha256 of the plaintext and reads take
  it, so the digest the registry records, and checks on every load, means what it always meant.
- **The inner store holds ciphertext as an ordinary blob**, addressed and verified (on every read,
  by the inner store) by the ciphertext's own sha256, plus a small ref filed under the plaintext
  digest that names that blob and the key id (`_refs.py`). The inner stores keep their single
  rule — a blob hashes to its address — and S3's read-through cache, atomic writes and self-healing
  work for ciphertext unchanged. The ciphertext is written before its ref, so a crash leaves at
  worst an unreferenced blob, never a ref to nothing.
- **Every read verifies three things**: the ciphertext's sha256 (inner store), every chunk's GCM
  tag, and the plaintext's sha256 against the digest asked for. Any failure raises
  `ArtifactIntegrityError` (`ArtifactDecryptionError` for the first two) naming the plaintext digest.
- **Format** (`_cipher.py`): "SHYENC1", key id, random base nonce, chunk size, then 4 MiB chunks
  each sealed with AES-256-GCM under a nonce derived from the base nonce and the chunk index; the
  AAD carries the header, the plaintext digest, the index and a final flag, so altered, truncated,
  reordered or transplanted chunks and blobs moved to another address all fail. Memory stays at
  about two chunks whatever the artifact's size.
- **Wrong key**: the key id is in the ref and in the header, so a wrong key fails before any
  decryption with a message naming both key ids.
- **`fetch` returns a local plaintext file** in a private folder (0700; files 0400): by default a
  temporary folder removed when the store is garbage-collected or the process exits. S3's
  read-through cache keeps ciphertext only, so nothing Shipyard keeps across restarts holds
  plaintext; each process decrypts a model once (AES-GCM runs at GB/s, far below unpickling).
  A repeated `fetch` re-hashes the decrypted file, as `LocalArtifactStore` re-hashes its files.
- **No mixing**: with encryption on, a digest stored unencrypted is refused with a message saying
  so (and a plain store finding an encrypted artifact says which key it needs). There is no
  automatic migration: a store holds encrypted artifacts or plaintext ones.
- **Storing the same plaintext again** is a no-op when its ciphertext, under the same key, is
  still there (as S3 skips an object of the right size); with another key it is encrypted anew.

    store = EncryptedArtifactStore(LocalArtifactStore(root), ArtifactKey.parse(text))
    digest = store.put_file(Path("model.tar"))     # sha256 of the plaintext
    path = store.fetch(digest)                      # decrypted and verified local file
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import BinaryIO

from ..errors import ArtifactDecryptionError, ArtifactIntegrityError, ArtifactNotFound, ShipyardError
from ..types import Digest
from ._atomic import AtomicFile
from ._cipher import CHUNK_SIZE, ArtifactCipher, wrong_key_problem
from ._refs import EncryptedRef
from .base import ArtifactStoreWithRefs, check_digest, digest_of_bytes, digest_of_file, parse_digest
from .keys import ArtifactKey

_log = logging.getLogger(__name__)
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o400


class EncryptedArtifactStore:
    """An `ArtifactStore` that encrypts with AES-256-GCM before `inner` sees a byte.

    `plaintext_dir` is where `fetch` decrypts to; the default is a private temporary folder that
    lives as long as this object. `chunk_size` is for tests; readers take it from each blob's header.
    """

    def __init__(
        self,
        inner: ArtifactStoreWithRefs,
        key: ArtifactKey,
        *,
        plaintext_dir: Path | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        if not isinstance(inner, ArtifactStoreWithRefs):
            raise TypeError(f"{inner!r} keeps no refs (put_ref/get_ref); it cannot hold encrypted artifacts")
        self._inner = inner
        self._cipher = ArtifactCipher(key, chunk_size)
        self._plaintext_dir = plaintext_dir
        self._ready_dir: Path | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EncryptedArtifactStore(inner={self._inner!r}, key_id={self.key_id!r})"

    @property
    def url(self) -> str:
        return self._inner.url

    @property
    def inner(self) -> ArtifactStoreWithRefs:
        """The store holding the ciphertext."""
        return self._inner

    @property
    def key_id(self) -> str:
        """The id of the key this store encrypts with (16 hex digits)."""
        return self._cipher.key_id

    def put_file(self, path: Path) -> Digest:
        # Hashed first, then encrypted in a second pass: every chunk's AAD carries the digest. The
        # second pass hashes too, so a file changing in between is caught rather than stored.
        digest = digest_of_file(path)
        if not self._holds(digest):
            with open(path, "rb") as src:
                self._seal(src, digest, str(path))
        return digest

    def put_bytes(self, data: bytes) -> Digest:
        digest = digest_of_bytes(data)
        if not self._holds(digest):
            self._seal(io.BytesIO(data), digest, "the bytes given")
        return digest

    def get_bytes(self, digest: Digest) -> bytes:
        buffer = io.BytesIO()
        self._unseal(parse_digest(digest), buffer)
        return buffer.getvalue()

    def fetch(self, digest: Digest) -> Path:
        digest = parse_digest(digest)
        folder = self._folder()
        target = folder / digest.removeprefix("sha256:")
        try:
            check_digest(digest, digest_of_file(target), str(target))
            return target
        except FileNotFoundError:
            pass
        except ArtifactIntegrityError as exc:
            _log.warning("Decrypted copy of an artifact is corrupt, decrypting it again: %s", exc)
        with AtomicFile(folder, mode=_PRIVATE_FILE) as tmp:
            self._unseal(digest, tmp.file)
            tmp.publish(target)
        return target

    def exists(self, digest: Digest) -> bool:
        return self._inner.get_ref(parse_digest(digest)) is not None

    def _holds(self, digest: Digest) -> bool:
        """Whether `digest` is already stored under this key, its ciphertext still present."""
        try:
            ref = self._ref(digest)
        except ArtifactDecryptionError:
            return False  # an unreadable ref: overwrite it
        return ref is not None and ref.key_id == self.key_id and self._inner.exists(ref.ciphertext)

    def _seal(self, src: BinaryIO, digest: Digest, where: str) -> None:
        with tempfile.TemporaryDirectory(prefix="shipyard-encrypt-") as tmp:
            sealed = Path(tmp) / "sealed"
            with open(sealed, "wb") as dst:
                actual = self._cipher.encrypt(src, dst, digest)
            check_digest(digest, actual, where)
            ciphertext = self._inner.put_file(sealed)
        self._inner.put_ref(digest, EncryptedRef(ciphertext, self.key_id).to_bytes())

    def _unseal(self, digest: Digest, dst: BinaryIO) -> None:
        ref = self._ref(digest)
        if ref is None:
            raise self._missing(digest)
        where = f"{self.url} (encrypted as {ref.ciphertext})"
        if ref.key_id != self.key_id:
            problem = wrong_key_problem(ref.key_id, self.key_id)
            raise ArtifactDecryptionError(
                digest, where, problem, stored_key_id=ref.key_id, configured_key_id=self.key_id
            )
        try:
            sealed = self._inner.fetch(ref.ciphertext)
        except ArtifactNotFound as exc:
            raise ArtifactNotFound(digest, where) from exc
        except ArtifactIntegrityError as exc:
            problem = (
                f"its encrypted blob was altered (at {exc.where} it hashes to {exc.actual}). "
                "Restore the artifact from a backup or register the model again."
            )
            raise ArtifactDecryptionError(digest, where, problem, configured_key_id=self.key_id) from exc
        with open(sealed, "rb") as src:
            self._cipher.decrypt(src, dst, digest, where)

    def _ref(self, digest: Digest) -> EncryptedRef | None:
        data = self._inner.get_ref(digest)
        return None if data is None else EncryptedRef.from_bytes(data, digest, self.url)

    def _missing(self, digest: Digest) -> ShipyardError:
        if not self._inner.exists(digest):
            return ArtifactNotFound(digest, self.url)
        problem = (
            f"it is stored unencrypted, but artifact encryption is on (key id {self.key_id}). A store holds "
            "either encrypted or plaintext artifacts, never both: unset the artifact key to read this store, "
            "or point SHIPYARD_ARTIFACTS at a new one and register the model there."
        )
        return ArtifactDecryptionError(digest, self.url, problem, configured_key_id=self.key_id)

    def _folder(self) -> Path:
        with self._lock:
            if self._ready_dir is None:
                if self._plaintext_dir is None:
                    folder = Path(tempfile.mkdtemp(prefix="shipyard-decrypted-"))  # created 0700
                    weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
                else:
                    folder = self._plaintext_dir
                    folder.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
                    folder.chmod(_PRIVATE_DIR)
                self._ready_dir = folder
            return self._ready_dir


__all__ = ["EncryptedArtifactStore"]
