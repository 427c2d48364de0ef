"""Pick the artifact store that `Settings.artifacts` names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import S3Settings, Settings
from .base import ArtifactStore, ArtifactStoreWithRefs
from .encrypted import EncryptedArtifactStore
from .fsspec_store import FsspecArtifactStore
from .keys import load_artifact_key
from .local import LocalArtifactStore
from .memory import MemoryArtifactStore


def open_artifact_store(settings: Settings) -> ArtifactStore:
    """The store for `settings.resolved_artifacts`, encrypted when an artifact key is configured.

    A folder or `file://` URL gives a `LocalArtifactStore`; `memory://` a fresh
    `MemoryArtifactStore`; anything else (`s3://bucket/prefix`, …) an `FsspecArtifactStore`
    caching into `settings.resolved_cache_dir`, with `settings.s3` applied to `s3://` URLs.
    Other fsspec backends take their credentials from their usual environment variables.
    With `artifacts_key` or `artifacts_key_file` set, that store is wrapped in an
    `EncryptedArtifactStore`; a malformed key raises `ConfigError` naming the setting.
    """
    key = load_artifact_key(settings)
    store = _open_plain_store(settings)
    return store if key is None else EncryptedArtifactStore(store, key)


def _open_plain_store(settings: Settings) -> ArtifactStoreWithRefs:
    url = settings.resolved_artifacts
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in ("", "file"):
        return LocalArtifactStore(Path(url.removeprefix("file://")))
    if scheme == "memory":
        return MemoryArtifactStore()
    options = s3_storage_options(settings.s3) if scheme in ("s3", "s3a") else {}
    return FsspecArtifactStore(url, settings.resolved_cache_dir, options)


def s3_storage_options(s3: S3Settings) -> dict[str, Any]:
    """s3fs keyword arguments for `s3`; unset fields are left out so boto's own defaults apply.

    s3_storage_options(S3Settings(endpoint_url="http://localhost:9000", region="eu-west-1"))
    # {"client_kwargs": {"endpoint_url": "http://localhost:9000", "region_name": "eu-west-1"}}
    """
    client: dict[str, Any] = {}
    if s3.endpoint_url:
        client["endpoint_url"] = s3.endpoint_url
    if s3.region:
        client["region_name"] = s3.region
    options: dict[str, Any] = {"client_kwargs": client} if client else {}
    if s3.access_key_id:
        options["key"] = s3.access_key_id
    if s3.secret_access_key:
        options["secret"] = s3.secret_access_key.get_secret_value()
    return options


__all__ = ["open_artifact_store", "s3_storage_options"]
