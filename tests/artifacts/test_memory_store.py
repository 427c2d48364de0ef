from __future__ import annotations

import gc

import pytest

from shipyard.artifacts import MemoryArtifactStore, digest_of_bytes
from shipyard.errors import ArtifactIntegrityError


def test_corrupted_blob_is_refused() -> None:
    store = MemoryArtifactStore()
    digest = store.put_bytes(b"model")
    store.corrupt(digest, b"evil")
    for read in (store.get_bytes, store.fetch):
        with pytest.raises(ArtifactIntegrityError, match=digest) as info:
            read(digest)
        assert info.value.actual == digest_of_bytes(b"evil")


def test_fetched_files_are_removed_with_the_store() -> None:
    store = MemoryArtifactStore()
    path = store.fetch(store.put_bytes(b"model"))
    assert path.read_bytes() == b"model"
    del store
    gc.collect()
    assert not path.parent.exists()


def test_repr_counts_blobs() -> None:
    store = MemoryArtifactStore()
    store.put_bytes(b"a")
    assert repr(store) == "MemoryArtifactStore(blobs=1)"
