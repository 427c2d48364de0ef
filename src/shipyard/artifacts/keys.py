"""The key that encrypts artifacts at rest: `SHIPYARD_ARTIFACTS_KEY` or `SHIPYARD_ARTIFACTS_KEY_FILE`.

A key is 32 random bytes written as 64 hex digits or as base64 (standard or URL-safe, padding
optional). Make one with:

    python -c "import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())"

Messages name a key only by its key id (the first 8 bytes of its sha256, in hex), never by its value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError

KEY_SETTING = "SHIPYARD_ARTIFACTS_KEY"
KEY_FILE_SETTING = "SHIPYARD_ARTIFACTS_KEY_FILE"
KEY_BYTES = 32

_log = logging.getLogger(__name__)
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
_HOW_TO_MAKE_ONE = (
    'Make one with: python -c "import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())"'
)


class ArtifactKey:
    """A 256-bit AES key and its `key_id`, which names it in messages and in encrypted artifacts.

    The repr shows the key id only, so a key never reaches a log by accident.

        key = ArtifactKey.generate()
        key.key_id                              # "3f9a0c1be2d47a66"
        assert ArtifactKey.parse(key.to_text()) == key
    """

    __slots__ = ("_secret", "key_id")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != KEY_BYTES:
            raise ValueError(f"an artifact key is {KEY_BYTES} bytes, not {len(secret)}")
        self._secret = bytes(secret)
        self.key_id = hashlib.sha256(self._secret).hexdigest()[:16]

    @classmethod
    def generate(cls) -> ArtifactKey:
        """A new random key."""
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def parse(cls, text: str, setting: str = KEY_SETTING) -> ArtifactKey:
        """The key written in `text` (hex or base64; surrounding whitespace ignored).

        Raises `ConfigError` naming `setting` when `text` is not 32 bytes in either form; the
        message never repeats `text`, which may be a real key with a typo.
        """
        text = text.strip()
        if _HEX_KEY.fullmatch(text):
            return cls(bytes.fromhex(text))
        try:
            standard = text.replace("-", "+").replace("_", "/")
            secret = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (binascii.Error, ValueError):
            secret = b""
        if len(secret) != KEY_BYTES:
            got = "it is empty" if not text else f"got {len(text)} characters that are neither"
            raise ConfigError(
                setting,
                f"not an artifact key: expected {KEY_BYTES} random bytes as 64 hex digits or as base64 "
                f"(44 characters); {got}. {_HOW_TO_MAKE_ONE}",
            )
        return cls(secret)

    @property
    def secret(self) -> bytes:
        """The raw key bytes."""
        return self._secret

    def to_text(self) -> str:
        """The key as base64, the form `parse` and the settings read."""
        return base64.b64encode(self._secret).decode("ascii")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArtifactKey) and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.key_id)

    def __repr__(self) -> str:
        return f"ArtifactKey(key_id={self.key_id!r})"


def load_artifact_key(settings: Settings) -> ArtifactKey | None:
    """The key `settings` configure (`artifacts_key` or `artifacts_key_file`), or None when neither is set.

    Raises `ConfigError` naming the setting when both are set, the file cannot be read, or the
    value is not a key. A key file readable by other users is used, with a warning.
    """
    if settings.artifacts_key is not None and settings.artifacts_key_file is not None:
        raise ConfigError(KEY_FILE_SETTING, f"set either {KEY_SETTING} or {KEY_FILE_SETTING}, not both")
    if settings.artifacts_key is not None:
        return ArtifactKey.parse(settings.artifacts_key.get_secret_value(), KEY_SETTING)
    if settings.artifacts_key_file is not None:
        return _read_key_file(settings.artifacts_key_file)
    return None


def _read_key_file(path: Path) -> ArtifactKey:
    try:
        text = path.read_text(encoding="ascii")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is not a text file"
        raise ConfigError(KEY_FILE_SETTING, f"cannot read the artifact key from {path}: {reason}") from exc
    if mode & 0o077:
        _log.warning("The artifact key file %s is readable by other users; run `chmod 600 %s`", path, path)
    try:
        return ArtifactKey.parse(text, KEY_FILE_SETTING)
    except ConfigError as exc:
        raise ConfigError(KEY_FILE_SETTING, f"{path}: {exc.problem}") from exc


__all__ = ["ArtifactKey", "load_artifact_key"]
