from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shipyard.artifacts import LocalArtifactStore, digest_of_bytes
from shipyard.errors import ArtifactIntegrityError, ArtifactNotFound


def _visible_blobs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "sha256").rglob("*") if p.is_file())


def _leftovers(root: Path) -> list[Path]:
    return sorted((root / "tmp").glob("*")) if (root / "tmp").exists() else []


class _FailingStream(io.RawIOBase):
    """Yields one chunk, then fails, like a source that breaks mid-copy."""

    def __init__(self) -> None:
        self._reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # typeshed's buffer type
        self._reads += 1
        if self._reads > 1:
            raise OSError("connection reset")
        buffer[:4] = b"half"
        return 4


def test_blob_layout_is_sha256_prefix_hex_and_read_only(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    digest = store.put_bytes(b"weights")
    hex_ = digest.removeprefix("sha256:")
    assert _visible_blobs(tmp_path) == [tmp_path / "sha256" / hex_[:2] / hex_]
    assert store.path_for(digest) == tmp_path / "sha256" / hex_[:2] / hex_
    assert not os.stat(store.path_for(digest)).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert _leftovers(tmp_path) == []


def test_tampered_blob_is_refused_naming_the_digest(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    digest = store.put_bytes(b"good model")
    path = store.path_for(digest)
    path.chmod(0o644)
    path.write_bytes(b"evil model")
    for read in (store.get_bytes, store.fetch):
        with pytest.raises(ArtifactIntegrityError, match=digest) as info:
            read(digest)
        assert info.value.digest == digest
        assert info.value.actual == digest_of_bytes(b"evil model")
        assert info.value.where == str(path)
    assert store.exists(digest)  # existence does not vouch for the content


def test_failure_before_publish_leaves_no_visible_blob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalArtifactStore(tmp_path)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        store.put_bytes(b"model")
    monkeypatch.undo()
    assert _visible_blobs(tmp_path) == []
    assert _leftovers(tmp_path) == []
    with pytest.raises(ArtifactNotFound):
        store.get_bytes(digest_of_bytes(b"model"))


def test_source_failing_mid_copy_leaves_nothing(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    with pytest.raises(OSError, match="connection reset"):
        store.put_stream(io.BufferedReader(_FailingStream()))
    assert _visible_blobs(tmp_path) == []
    assert _leftovers(tmp_path) == []


def test_put_stream_with_wrong_expected_digest_stores_nothing(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    expected = digest_of_bytes(b"promised")
    with pytest.raises(ArtifactIntegrityError, match=expected) as info:
        store.put_stream(io.BytesIO(b"delivered"), expected=expected, where="s3://bucket/key")
    assert info.value.where == "s3://bucket/key"
    assert _visible_blobs(tmp_path) == []
    assert _leftovers(tmp_path) == []


def test_put_heals_a_tampered_blob(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    digest = store.put_bytes(b"good")
    store.path_for(digest).chmod(0o644)
    store.path_for(digest).write_bytes(b"bad")
    assert store.put_bytes(b"good") == digest
    assert store.get_bytes(digest) == b"good"


def test_missing_root_is_empty(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "nowhere")
    digest = digest_of_bytes(b"x")
    assert not store.exists(digest)
    with pytest.raises(ArtifactNotFound, match=str(tmp_path / "nowhere")):
        store.fetch(digest)


def test_concurrent_puts_from_threads(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    source = tmp_path / "source.bin"
    source.write_bytes(b"shared" * 100_000)
    with ThreadPoolExecutor(max_workers=8) as pool:
        from_files = list(pool.map(lambda _: store.put_file(source), range(16)))
        from_bytes = list(pool.map(lambda i: store.put_bytes(b"own %d" % (i % 4)), range(16)))
    assert set(from_files) == {digest_of_bytes(source.read_bytes())}
    assert len(set(from_bytes)) == 4
    for digest in {*from_files, *from_bytes}:
        store.fetch(digest)
    assert len(_visible_blobs(tmp_path)) == 5
    assert _leftovers(tmp_path) == []


_WRITER = """
import sys
from pathlib import Path
from shipyard.artifacts import LocalArtifactStore
store = LocalArtifactStore(Path(sys.argv[1]))
for i in range(40):
    store.put_bytes(b"shared" * 50_000)
    store.put_bytes(b"%s %d" % (sys.argv[2].encode(), i % 5))
"""


def test_concurrent_puts_from_two_processes(tmp_path: Path) -> None:
    root = tmp_path / "store"
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(root), name]) for name in ("a", "b")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    store = LocalArtifactStore(root)
    assert store.get_bytes(digest_of_bytes(b"shared" * 50_000)) == b"shared" * 50_000
    for name in (b"a", b"b"):
        for i in range(5):
            store.fetch(digest_of_bytes(b"%s %d" % (name, i)))
    assert len(_visible_blobs(root)) == 11
    assert _leftovers(root) == []


def test_repr_names_the_root(tmp_path: Path) -> None:
    assert repr(LocalArtifactStore(tmp_path)) == f"LocalArtifactStore(root={str(tmp_path)!r})"
