"""First start: with no API key at all, create an admin key, keep it for the local CLI, show it once.

The key file (`$SHIPYARD_HOME/admin.key`, mode 0600) is what `shipyard` commands and `make demo`
on this machine use to talk to the server. It is written inside the transaction that creates
the key, so a key that was never shown cannot exist: if the file cannot be written, nothing is
created.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from sqlalchemy import func, select, text

from ..store import Database
from ..store.tables import ApiKeyRow
from .keys import KeyService, parse_api_key
from .permissions import Role

ADMIN_KEY_FILE = "admin.key"
# Any fixed 64-bit number: serialises the first-start check across replicas on PostgreSQL.
_PG_BOOTSTRAP_LOCK = int.from_bytes(hashlib.sha256(b"shipyard-admin-key").digest()[:7], "big")


def write_secret_file(path: Path, content: str) -> None:
    """Write `content` to `path` readable by its owner only (0600), replacing any file there atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # os.open with a mode, not open() then chmod: the secret is never readable by others, not even briefly.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def ensure_admin_key(db: Database, home: Path, actor: str, *, file_name: str = ADMIN_KEY_FILE) -> str | None:
    """Create the first admin key when the database has no key at all.

    Returns the plaintext for the caller to print once, or None when keys already exist (a
    revoked one counts: deleting every key must not re-open the door). The key is also written to
    `home/file_name` with mode 0600.
    """
    with db.write() as session:
        if db.dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_BOOTSTRAP_LOCK})
        if session.scalar(select(func.count()).select_from(ApiKeyRow)):
            return None
        _, plaintext = KeyService(db).create_in(
            session,
            "admin (first start)",
            [Role.ADMIN.value],
            actor=actor,
            description=f"Created at first start; kept in {home / file_name} for the local CLI.",
        )
        write_secret_file(home / file_name, plaintext + "\n")
        return plaintext


def read_local_key(home: Path, *, file_name: str = ADMIN_KEY_FILE) -> str | None:
    """The key kept in the home for local tools, or None when there is none (or it is not a key)."""
    try:
        content = (home / file_name).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return content if parse_api_key(content) is not None else None


__all__ = ["ADMIN_KEY_FILE", "ensure_admin_key", "read_local_key", "write_secret_file"]
