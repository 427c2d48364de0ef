"""The ref an encrypted artifact leaves under its plaintext digest, and what plain stores say about it.

`EncryptedArtifactStore` stores an artifact's ciphertext as an ordinary blob of the inner store
(addressed and verified by the ciphertext's own sha256) and files this ref under the plaintext
digest to find it again:

    {"format": "SHYENC1", "ciphertext": "sha256:…", "key_id": "3f9a0c1be2d47a66"}

A ref is not trusted: a forged one can only point at ciphertext that then fails authentication.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import ArtifactDecryptionError, ArtifactNotFound, ShipyardError, ValidationFailed
from ..types import Digest
from .base import ArtifactStoreWithRefs, parse_digest
from .keys import KEY_FILE_SETTING, KEY_SETTING

FORMAT = "SHYENC1"


@dataclass(frozen=True)
class EncryptedRef:
    ciphertext: Digest
    key_id: str

    def to_bytes(self) -> bytes:
        return json.dumps({"format": FORMAT, "ciphertext": self.ciphertext, "key_id": self.key_id}).encode()

    @classmethod
    def from_bytes(cls, data: bytes, digest: Digest, where: str) -> EncryptedRef:
        """Parse a ref; `ArtifactDecryptionError` naming `digest` and `where` when it is not one."""
        try:
            fields = json.loads(data)
            if fields["format"] != FORMAT or not isinstance(fields["key_id"], str):
                raise ValueError(fields)
            return cls(parse_digest(fields["ciphertext"]), fields["key_id"])
        except (ValueError, TypeError, KeyError, ValidationFailed) as exc:
            problem = "the ref naming its encrypted blob is unreadable. Register the model again."
            raise ArtifactDecryptionError(digest, where, problem) from exc


def missing_artifact(store: ArtifactStoreWithRefs, digest: Digest) -> ShipyardError:
    """The error for a digest that the plain store `store` lacks.

    `ArtifactNotFound`, unless the store holds the artifact encrypted: then an
    `ArtifactDecryptionError` saying which key to configure, instead of a misleading "missing".
    """
    data = store.get_ref(digest)
    if data is not None:
        try:
            ref = EncryptedRef.from_bytes(data, digest, store.url)
        except ArtifactDecryptionError:
            pass
        else:
            problem = (
                f"it is encrypted (key id {ref.key_id}) and no artifact key is configured. "
                f"Set {KEY_SETTING} or {KEY_FILE_SETTING} to the key it was stored with."
            )
            return ArtifactDecryptionError(digest, store.url, problem, stored_key_id=ref.key_id)
    return ArtifactNotFound(digest, store.url)
