"""The `ArtifactStore` contract, run against every store, plain and encrypted."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.artifacts import (
    ArtifactKey,
    ArtifactStore,
    ArtifactStoreWithRefs,
    EncryptedArtifactStore,
    FsspecArtifactStore,
    LocalArtifactStore,
    MemoryArtifactStore,
    digest_of_bytes,
    digest_of_file,
    s3_storage_options,
)
from shipyard.config import S3Settings
from shipyard.errors import ArtifactNotFound
from shipyard.types import Digest

_ABSENT = digest_of_bytes(b"never stored")


@pytest.fixture(params=["local", "memory", "s3", "encrypted-local", "encrypted-memory", "encrypted-s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    kind = request.param.removeprefix("encrypted-")
    inner: ArtifactStoreWithRefs
    if kind == "local":
        inner = LocalArtifactStore(tmp_path / "artifacts")
    elif kind == "memory":
        inner = MemoryArtifactStore()
    else:
        url, s3 = request.getfixturevalue("s3_url")
        assert isinstance(s3, S3Settings)
        inner = FsspecArtifactStore(str(url), tmp_path / "cache", s3_storage_options(s3))
    if kind == request.param:
        return inner
    # 1 MiB chunks so the ~3 MiB file below spans several.
    return EncryptedArtifactStore(inner, ArtifactKey.generate(), chunk_size=1 << 20)


def test_is_an_artifact_store(store: ArtifactStore) -> None:
    assert isinstance(store, ArtifactStore)
    assert store.url


def test_bytes_round_trip(store: ArtifactStore) -> None:
    digest = store.put_bytes(b"weights")
    assert digest == digest_of_bytes(b"weights")
    assert store.exists(digest)
    assert store.get_bytes(digest) == b"weights"
    assert store.fetch(digest).read_bytes() == b"weights"


def test_file_round_trip_larger_than_one_chunk(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(bytes(range(256)) * 12_289)  # ~3 MiB, not a multiple of the chunk size
    digest = store.put_file(source)
    assert digest == digest_of_file(source)
    assert store.fetch(digest).read_bytes() == source.read_bytes()
    assert store.get_bytes(digest) == source.read_bytes()


def test_empty_blob(store: ArtifactStore) -> None:
    digest = store.put_bytes(b"")
    assert store.get_bytes(digest) == b""


def test_putting_the_same_bytes_twice_is_harmless(store: ArtifactStore) -> None:
    assert store.put_bytes(b"same") == store.put_bytes(b"same")
    assert store.get_bytes(digest_of_bytes(b"same")) == b"same"


def test_missing_digest_is_not_found(store: ArtifactStore) -> None:
    assert not store.exists(_ABSENT)
    with pytest.raises(ArtifactNotFound, match=_ABSENT) as info:
        store.get_bytes(_ABSENT)
    assert info.value.digest == _ABSENT
    with pytest.raises(ArtifactNotFound, match=_ABSENT):
        store.fetch(_ABSENT)


@pytest.mark.parametrize("bad", ["", "sha256:", "md5:" + "0" * 32, "sha256:" + "A" * 64, "sha256:../../etc/passwd"])
def test_malformed_digest_is_refused_by_name(store: ArtifactStore, bad: str) -> None:
    for read in (store.get_bytes, store.fetch, store.exists):
        with pytest.raises(ValueError, match="is not an artifact digest") as info:
            read(Digest(bad))
        assert repr(bad) in str(info.value)
