"""`FsspecArtifactStore` against S3 (moto in server mode): tampering, the read-through cache, healing."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from shipyard.artifacts import FsspecArtifactStore, LocalArtifactStore, digest_of_bytes, s3_storage_options
from shipyard.config import S3Settings
from shipyard.errors import ArtifactIntegrityError, MissingDependency
from shipyard.types import Digest

S3Url = tuple[str, S3Settings]


def _store(s3_url: S3Url, cache: Path) -> FsspecArtifactStore:
    url, s3 = s3_url
    return FsspecArtifactStore(url, cache, s3_storage_options(s3))


def _dead_endpoint() -> str:
    # A port that was free a moment ago and has no listener: any request fails at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _bucket_and_key(store: FsspecArtifactStore, digest: Digest) -> tuple[str, str]:
    bucket, _, prefix = store.url.removeprefix("s3://").partition("/")
    hex_ = digest.removeprefix("sha256:")
    return bucket, f"{prefix}/sha256/{hex_[:2]}/{hex_}"


def test_objects_are_keyed_by_digest_under_the_prefix(s3_url: S3Url, boto_s3: Any, tmp_path: Path) -> None:
    store = _store(s3_url, tmp_path / "cache")
    digest = store.put_bytes(b"weights")
    bucket, key = _bucket_and_key(store, digest)
    assert boto_s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"weights"


def test_object_tampered_in_the_bucket_is_refused(s3_url: S3Url, boto_s3: Any, tmp_path: Path) -> None:
    digest = _store(s3_url, tmp_path / "writer-cache").put_bytes(b"good model")
    bucket, key = _bucket_and_key(_store(s3_url, tmp_path), digest)
    boto_s3.put_object(Bucket=bucket, Key=key, Body=b"evil model")
    reader = _store(s3_url, tmp_path / "reader-cache")
    for read in (reader.get_bytes, reader.fetch):
        with pytest.raises(ArtifactIntegrityError, match=digest) as info:
            read(digest)
        assert info.value.actual == digest_of_bytes(b"evil model")
        assert info.value.where == f"s3://{bucket}/{key}"
    assert not LocalArtifactStore(tmp_path / "reader-cache").exists(digest)


def test_second_fetch_does_not_touch_the_network(s3_url: S3Url, tmp_path: Path) -> None:
    url, s3 = s3_url
    digest = _store(s3_url, tmp_path / "writer-cache").put_bytes(b"model")
    assert _store(s3_url, tmp_path / "cache").fetch(digest).read_bytes() == b"model"
    offline = s3.model_copy(update={"endpoint_url": _dead_endpoint()})
    options = s3_storage_options(offline) | {"config_kwargs": {"retries": {"max_attempts": 1}}}
    store = FsspecArtifactStore(url, tmp_path / "cache", options)
    assert store.fetch(digest).read_bytes() == b"model"
    assert store.get_bytes(digest) == b"model"


def test_put_file_fills_the_cache(s3_url: S3Url, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"model" * 1000)
    digest = _store(s3_url, tmp_path / "cache").put_file(source)
    assert LocalArtifactStore(tmp_path / "cache").get_bytes(digest) == source.read_bytes()


def test_corrupted_cache_file_is_fetched_again(s3_url: S3Url, tmp_path: Path) -> None:
    digest = _store(s3_url, tmp_path / "writer-cache").put_bytes(b"model")
    store = _store(s3_url, tmp_path / "cache")
    cached = store.fetch(digest)
    for read in (store.fetch, store.get_bytes):
        cached.chmod(0o644)
        cached.write_bytes(b"bit rot")
        read(digest)
        assert cached.read_bytes() == b"model"


def test_put_replaces_a_damaged_object(s3_url: S3Url, boto_s3: Any, tmp_path: Path) -> None:
    store = _store(s3_url, tmp_path / "cache")
    digest = store.put_bytes(b"complete model")
    bucket, key = _bucket_and_key(store, digest)
    boto_s3.put_object(Bucket=bucket, Key=key, Body=b"truncated")
    store.put_bytes(b"complete model")
    assert _store(s3_url, tmp_path / "fresh-cache").get_bytes(digest) == b"complete model"


def test_missing_s3fs_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # makes `import s3fs` raise ImportError
    store = FsspecArtifactStore("s3://bucket/prefix", tmp_path)
    with pytest.raises(MissingDependency, match=r"shipyard\[s3\]") as info:
        store.exists(digest_of_bytes(b"x"))
    assert info.value.extra == "s3"


def test_repr_names_url_and_cache(tmp_path: Path) -> None:
    store = FsspecArtifactStore("s3://bucket/prefix/", tmp_path)
    assert repr(store) == f"FsspecArtifactStore(url='s3://bucket/prefix', cache_dir={str(tmp_path)!r})"
