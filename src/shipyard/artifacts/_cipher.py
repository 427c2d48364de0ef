"""The SHYENC1 format: an artifact encrypted with AES-256-GCM in chunks, bound to its plaintext digest.

    header   = b"SHYENC1" | key id (8 bytes) | base nonce (12 random bytes) | chunk size (uint32 BE)
    record i = AES-GCM(key, nonce_i, chunk_i, aad_i): the chunk's ciphertext, then its 16-byte tag
    nonce_i  = base nonce XOR i (as a 96-bit big-endian integer)
    aad_i    = header | plaintext digest ("sha256:…", ASCII) | i (uint64 BE) | final (1 byte, 1 on the last)

Every chunk but the last holds exactly `chunk size` plaintext bytes and the last holds fewer (possibly
none), so a reader knows which record is last from its length alone, and the final flag in the AAD
makes a stream cut at a record boundary fail. The index in the nonce and the AAD stops reordering;
the random base nonce stops chunks moving between artifacts; the digest in the AAD binds the blob to
its address; the header in the AAD stops edits to the key id or chunk size. Memory stays at about
two chunks whatever the artifact's size.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import struct
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from ..errors import ArtifactDecryptionError, MissingDependency
from ..types import Digest
from .base import check_digest
from .keys import KEY_FILE_SETTING, KEY_SETTING, ArtifactKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"SHYENC1"
CHUNK_SIZE = 4 << 20
MAX_CHUNK_SIZE = 64 << 20
TAG_SIZE = 16
_NONCE_SIZE = 12
_HEADER = struct.Struct(f">{len(MAGIC)}s8s{_NONCE_SIZE}sI")
HEADER_SIZE = _HEADER.size


class _Header(NamedTuple):
    raw: bytes
    key_id: str
    nonce: int
    chunk_size: int


def sealed_size(plain_size: int, chunk_size: int = CHUNK_SIZE) -> int:
    """The size of the encrypted form of `plain_size` bytes: header, data and one tag per chunk."""
    return HEADER_SIZE + plain_size + TAG_SIZE * (plain_size // chunk_size + 1)


def wrong_key_problem(stored_key_id: str, configured_key_id: str) -> str:
    return (
        f"it was encrypted with key id {stored_key_id}, but the configured artifact key ({KEY_SETTING} or "
        f"{KEY_FILE_SETTING}) has key id {configured_key_id}. Configure the key it was stored with."
    )


class ArtifactCipher:
    """Encrypts and decrypts streams in the SHYENC1 format with one key.

    Both directions stream, one chunk at a time:

        cipher = ArtifactCipher(key)
        plain_digest = cipher.encrypt(src, dst, digest)   # the caller compares it with `digest`
        cipher.decrypt(src, dst, digest, where="…")       # raises unless authentic and hashing to `digest`
    """

    def __init__(self, key: ArtifactKey, chunk_size: int = CHUNK_SIZE) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}, not {chunk_size}")
        self.key_id, self.chunk_size = key.key_id, chunk_size
        self._aes = _aesgcm(key.secret)  # fails here, at start-up, when cryptography is missing

    def encrypt(self, src: BinaryIO, dst: BinaryIO, digest: Digest) -> Digest:
        """Write the encrypted form of what `src` yields to `dst`, bound to `digest`; return the digest read."""
        raw = _HEADER.pack(MAGIC, bytes.fromhex(self.key_id), secrets.token_bytes(_NONCE_SIZE), self.chunk_size)
        header = _parse_header(raw)
        dst.write(raw)
        sha = hashlib.sha256()
        for index in itertools.count():
            chunk = _read_up_to(src, self.chunk_size)
            final = len(chunk) < self.chunk_size
            sha.update(chunk)
            dst.write(self._aes.encrypt(_nonce(header, index), chunk, _aad(header, digest, index, final)))
            del chunk  # before the next read, so memory peaks at two chunks, not three
            if final:
                break
        return Digest("sha256:" + sha.hexdigest())

    def decrypt(self, src: BinaryIO, dst: BinaryIO, digest: Digest, where: str) -> None:
        """Write the plaintext of the encrypted stream `src` to `dst`.

        Raises `ArtifactDecryptionError` (naming `digest` and `where`) for another key, a stream
        that is not SHYENC1, or any altered, truncated or reordered byte, and `ArtifactIntegrityError`
        when the plaintext does not hash to `digest`. On error `dst` holds a partial plaintext: the
        caller must discard it.
        """
        header = self._read_header(src, digest, where)
        sha = hashlib.sha256()
        for index in itertools.count():
            record = _read_up_to(src, header.chunk_size + TAG_SIZE)
            final = len(record) < header.chunk_size + TAG_SIZE
            chunk = self._open(record, _nonce(header, index), _aad(header, digest, index, final))
            del record
            if chunk is None:
                problem = (
                    f"chunk {index} fails authentication: the encrypted bytes were altered, truncated or "
                    "reordered. Restore the artifact from a backup or register the model again."
                )
                raise ArtifactDecryptionError(digest, where, problem, configured_key_id=self.key_id)
            sha.update(chunk)
            dst.write(chunk)
            del chunk  # before the next read, so memory peaks at two chunks, not three
            if final:
                break
        check_digest(digest, Digest("sha256:" + sha.hexdigest()), where)

    def _open(self, record: bytes, nonce: bytes, aad: bytes) -> bytes | None:
        from cryptography.exceptions import InvalidTag

        if len(record) < TAG_SIZE:  # cut inside the last tag, or no final record at all
            return None
        try:
            return self._aes.decrypt(nonce, record, aad)
        except InvalidTag:
            return None

    def _read_header(self, src: BinaryIO, digest: Digest, where: str) -> _Header:
        raw = _read_up_to(src, HEADER_SIZE)
        if len(raw) < HEADER_SIZE or not raw.startswith(MAGIC):
            problem = f"it is not an encrypted Shipyard artifact (no {MAGIC.decode()} header)"
            raise ArtifactDecryptionError(digest, where, problem, configured_key_id=self.key_id)
        header = _parse_header(raw)
        if header.key_id != self.key_id:
            raise ArtifactDecryptionError(
                digest,
                where,
                wrong_key_problem(header.key_id, self.key_id),
                stored_key_id=header.key_id,
                configured_key_id=self.key_id,
            )
        if not 1 <= header.chunk_size <= MAX_CHUNK_SIZE:
            problem = f"its header declares chunks of {header.chunk_size} bytes (at most {MAX_CHUNK_SIZE})"
            raise ArtifactDecryptionError(digest, where, problem, configured_key_id=self.key_id)
        return header


def _parse_header(raw: bytes) -> _Header:
    _magic, key_id, nonce, chunk_size = _HEADER.unpack(raw)
    return _Header(raw, key_id.hex(), int.from_bytes(nonce, "big"), chunk_size)


def _nonce(header: _Header, index: int) -> bytes:
    return (header.nonce ^ index).to_bytes(_NONCE_SIZE, "big")


def _aad(header: _Header, digest: Digest, index: int, final: bool) -> bytes:
    return header.raw + digest.encode("ascii") + struct.pack(">QB", index, final)


def _read_up_to(src: BinaryIO, size: int) -> bytes:
    """`size` bytes from `src`, fewer only at its end (a pipe or socket may return short reads)."""
    data = src.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    remaining = size - len(data)
    while remaining and (more := src.read(remaining)):
        parts.append(more)
        remaining -= len(more)
    return b"".join(parts)


def _aesgcm(secret: bytes) -> AESGCM:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError as exc:
        raise MissingDependency(feature="artifact encryption", extra="encryption", package="cryptography") from exc
    return AESGCM(secret)
