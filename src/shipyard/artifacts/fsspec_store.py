"""Artifacts in any fsspec filesystem (S3 first of all), read through a local verified cache."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from ..errors import ArtifactIntegrityError, ArtifactNotFound, MissingDependency
from ..types import Digest
from ._refs import missing_artifact
from .base import digest_of_bytes, parse_digest
from .local import LocalArtifactStore

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
_S3_PROTOCOLS = ("s3", "s3a")


class FsspecArtifactStore:
    """A content-addressed store under an fsspec URL such as "s3://bucket/prefix".

    Blobs live at `<prefix>/sha256/<first two hex>/<hex>`. Every read goes through `cache_dir`,
    a `LocalArtifactStore`: a digest already cached (and still verifying) is served without any
    network call; a cached file that fails verification is fetched again once. Refs live at
    `<prefix>/refs/sha256/<first two hex>/<hex>` and are always read from the remote (they are
    tiny, and may be replaced).

        store = FsspecArtifactStore("s3://models/shipyard", Path(".shipyard/cache"),
                                    {"client_kwargs": {"endpoint_url": "http://localhost:9000"}})
        path = store.fetch(digest)      # downloads once, then local
    """

    def __init__(self, url: str, cache_dir: Path, storage_options: Mapping[str, Any] | None = None) -> None:
        self._url = url.rstrip("/")
        self._cache = LocalArtifactStore(cache_dir)
        self._options = dict(storage_options or {})

    def __repr__(self) -> str:
        return f"FsspecArtifactStore(url={self._url!r}, cache_dir={self._cache.url!r})"

    @property
    def url(self) -> str:
        return self._url

    def put_file(self, path: Path) -> Digest:
        # Copy into the cache first: the upload then reads a private copy whose digest was
        # computed while writing it, so a source file changing mid-upload cannot put bytes
        # under the wrong key (and the next fetch of this digest is local).
        digest = self._cache.put_file(path)
        cached = self._cache.path_for(digest)
        self._upload(digest, cached.stat().st_size, lambda key: self._fs.put_file(str(cached), key))
        return digest

    def put_bytes(self, data: bytes) -> Digest:
        digest = digest_of_bytes(data)
        self._upload(digest, len(data), lambda key: self._fs.pipe_file(key, data))
        return digest

    def get_bytes(self, digest: Digest) -> bytes:
        return self._through_cache(parse_digest(digest), self._cache.get_bytes)

    def fetch(self, digest: Digest) -> Path:
        return self._through_cache(parse_digest(digest), self._cache.fetch)

    def exists(self, digest: Digest) -> bool:
        return bool(self._fs.exists(self._key(digest)))

    def put_ref(self, digest: Digest, data: bytes) -> None:
        self._fs.pipe_file(self._key(digest, "refs/sha256"), data)

    def get_ref(self, digest: Digest) -> bytes | None:
        try:
            return bytes(self._fs.cat_file(self._key(digest, "refs/sha256")))
        except FileNotFoundError:
            return None

    def _upload(self, digest: Digest, size: int, send: Callable[[str], object]) -> None:
        # An S3 PUT (multipart or not) is atomic: the object becomes visible only once complete,
        # so uploading straight to the final key never exposes a partial blob. GCS and Azure
        # behave alike. An object already there with the right size is the same content.
        key = self._key(digest)
        if self._remote_size(key) != size:
            send(key)

    def _remote_size(self, key: str) -> int | None:
        try:
            return int(self._fs.info(key)["size"])
        except FileNotFoundError:
            return None

    def _through_cache(self, digest: Digest, read: Callable[[Digest], _T]) -> _T:
        try:
            return read(digest)
        except ArtifactNotFound:
            pass
        except ArtifactIntegrityError as exc:
            # No delete first: the download replaces the bad file atomically, so a concurrent
            # reader never finds the digest missing. If the download fails the bad file stays,
            # and keeps failing verification, so it is never served.
            _log.warning("Cached artifact is corrupt, fetching it again from %s: %s", self._url, exc)
        self._download(digest)
        return read(digest)

    def _download(self, digest: Digest) -> None:
        key = self._key(digest)
        with self._open_remote(digest, key) as src:
            self._cache.put_stream(src, expected=digest, where=self._fs.unstrip_protocol(key))

    def _open_remote(self, digest: Digest, key: str) -> BinaryIO:
        try:
            src: BinaryIO = self._fs.open(key, "rb")
        except FileNotFoundError as exc:
            raise missing_artifact(self, digest) from exc
        return src

    def _key(self, digest: Digest, folder: str = "sha256") -> str:
        hex_ = parse_digest(digest).removeprefix("sha256:")
        return f"{self._root}/{folder}/{hex_[:2]}/{hex_}"

    @property
    def _fs(self) -> AbstractFileSystem:
        return self._filesystem[0]

    @property
    def _root(self) -> str:
        return self._filesystem[1]

    @cached_property
    def _filesystem(self) -> tuple[AbstractFileSystem, str]:
        import fsspec.core

        protocol = self._url.split("://", 1)[0]
        if protocol in _S3_PROTOCOLS:
            _require_s3fs()
        fs, root = fsspec.core.url_to_fs(self._url, **self._options)
        return fs, str(root).rstrip("/")


def _require_s3fs() -> None:
    try:
        import s3fs  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(feature="S3 artifact store", extra="s3", package="s3fs") from exc


__all__ = ["FsspecArtifactStore"]
