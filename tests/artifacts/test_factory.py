from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from shipyard.artifacts import (
    FsspecArtifactStore,
    LocalArtifactStore,
    MemoryArtifactStore,
    open_artifact_store,
    s3_storage_options,
)
from shipyard.config import S3Settings, Settings


def test_default_is_a_local_folder_in_the_home(tmp_path: Path) -> None:
    store = open_artifact_store(Settings(home=tmp_path))
    assert isinstance(store, LocalArtifactStore)
    assert store.url == str(tmp_path / "artifacts")


def test_plain_path_and_file_url_are_local(tmp_path: Path) -> None:
    for value in (str(tmp_path / "blobs"), f"file://{tmp_path / 'blobs'}"):
        store = open_artifact_store(Settings(home=tmp_path, artifacts=value))
        assert isinstance(store, LocalArtifactStore)
        assert store.url == str(tmp_path / "blobs")


def test_memory_url_is_in_memory(tmp_path: Path) -> None:
    assert isinstance(open_artifact_store(Settings(home=tmp_path, artifacts="memory://")), MemoryArtifactStore)


def test_s3_url_round_trips_through_settings(s3_url: tuple[str, S3Settings], tmp_path: Path) -> None:
    url, s3 = s3_url
    settings = Settings(home=tmp_path, artifacts=url, s3=s3)
    store = open_artifact_store(settings)
    assert isinstance(store, FsspecArtifactStore)
    digest = store.put_bytes(b"model")
    assert open_artifact_store(settings).get_bytes(digest) == b"model"
    assert any((tmp_path / "cache").rglob(digest.removeprefix("sha256:")))


def test_s3_storage_options_map_every_field() -> None:
    s3 = S3Settings(
        endpoint_url="http://minio:9000", access_key_id="ak", secret_access_key=SecretStr("sk"), region="eu-west-1"
    )
    assert s3_storage_options(s3) == {
        "client_kwargs": {"endpoint_url": "http://minio:9000", "region_name": "eu-west-1"},
        "key": "ak",
        "secret": "sk",
    }
    assert s3_storage_options(S3Settings()) == {}
