"""First start: an admin key is created once, printed once, and kept in the home with mode 0600."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from shipyard.config import SecuritySettings
from shipyard.security.authenticator import Authenticator
from shipyard.security.bootstrap import ensure_admin_key, read_local_key, write_secret_file
from shipyard.security.keys import KeyService
from shipyard.security.permissions import Role
from shipyard.store import Database, list_events


def test_first_start_creates_one_admin_key_and_shows_it_once(db: Database, tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = ensure_admin_key(db, home, "alice")
    assert key is not None and key.startswith("sy_")
    path = home / "admin.key"
    assert path.read_text() == key + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_local_key(home) == key
    # A second start (or a second replica) creates nothing and has nothing to print.
    assert ensure_admin_key(db, home, "alice") is None
    assert path.read_text() == key + "\n"
    listed = KeyService(db).list()
    assert len(listed) == 1 and listed[0].roles == (Role.ADMIN,) and listed[0].created_by == "alice"
    principal = asyncio.run(Authenticator(db, SecuritySettings()).authenticate(f"Bearer {key}"))
    assert principal.roles == {Role.ADMIN}
    with db.read() as session:
        assert [e.action for e in list_events(session)] == ["key.create"]


def test_no_new_admin_key_once_any_key_exists_even_revoked(db: Database, tmp_path: Path) -> None:
    keys = KeyService(db)
    info, _ = keys.create("app", ["viewer"], actor="alice")
    keys.revoke(info.id, actor="alice")
    assert ensure_admin_key(db, tmp_path, "alice") is None
    assert not (tmp_path / "admin.key").exists()


def test_a_key_file_that_cannot_be_written_creates_no_key(db: Database, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "admin.key").mkdir()  # something in the way
    with pytest.raises(OSError):
        ensure_admin_key(db, home, "alice")
    assert KeyService(db).count() == 0


def test_the_file_is_private_whatever_the_umask_and_replaces_an_open_one(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("old")
    path.chmod(0o644)
    old_umask = os.umask(0)
    try:
        write_secret_file(path, "new")
    finally:
        os.umask(old_umask)
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


def test_read_local_key_without_a_usable_file(tmp_path: Path) -> None:
    assert read_local_key(tmp_path / "missing") is None
    (tmp_path / "admin.key").write_text("not a key\n")
    assert read_local_key(tmp_path) is None
    (tmp_path / "other.key").write_text("sy_0123456789ab_" + "a" * 43)
    assert read_local_key(tmp_path, file_name="other.key") == "sy_0123456789ab_" + "a" * 43
