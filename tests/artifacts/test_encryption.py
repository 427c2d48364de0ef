"""Encryption at rest: `EncryptedArtifactStore` over every store, its format, keys and settings, the registry."""

from __future__ import annotations

import base64
import gc
import hashlib
import io
import json
import os
import stat
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr
from sklearn.linear_model import LogisticRegression

from shipyard.artifacts import (
    ArtifactKey,
    ArtifactStoreWithRefs,
    EncryptedArtifactStore,
    FsspecArtifactStore,
    LocalArtifactStore,
    MemoryArtifactStore,
    digest_of_bytes,
    load_artifact_key,
    open_artifact_store,
    s3_storage_options,
)
from shipyard.artifacts._cipher import HEADER_SIZE, TAG_SIZE, ArtifactCipher, sealed_size
from shipyard.config import S3Settings, Settings
from shipyard.errors import (
    ArtifactDecryptionError,
    ArtifactIntegrityError,
    ArtifactNotFound,
    ConfigError,
    MissingDependency,
)
from shipyard.registry import open_registry
from shipyard.types import Digest

MARKER = b"PLAINTEXT-MARKER-7f3a"
S3Url = tuple[str, S3Settings]
_SMALL_CHUNK = 1024


@pytest.fixture(params=["local", "memory", "s3"])
def inner(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStoreWithRefs:
    if request.param == "local":
        return LocalArtifactStore(tmp_path / "artifacts")
    if request.param == "memory":
        return MemoryArtifactStore()
    url, s3 = request.getfixturevalue("s3_url")
    return FsspecArtifactStore(url, tmp_path / "cache", s3_storage_options(s3))


@pytest.fixture
def key() -> ArtifactKey:
    return ArtifactKey.generate()


def _ref(inner: ArtifactStoreWithRefs, digest: Digest) -> dict[str, Any]:
    data = inner.get_ref(digest)
    assert data is not None
    ref: dict[str, Any] = json.loads(data)
    return ref


def _ciphertext(inner: ArtifactStoreWithRefs, digest: Digest) -> bytes:
    return inner.get_bytes(Digest(_ref(inner, digest)["ciphertext"]))


def _forge(inner: ArtifactStoreWithRefs, digest: Digest, ciphertext: bytes, key_id: str) -> None:
    """What an attacker with write access to the store can do: store any blob and point the ref at it."""
    forged = inner.put_bytes(ciphertext)
    inner.put_ref(digest, json.dumps({"format": "SHYENC1", "ciphertext": forged, "key_id": key_id}).encode())


def _records(ciphertext: bytes, chunk: int = _SMALL_CHUNK) -> tuple[bytes, list[bytes]]:
    body = ciphertext[HEADER_SIZE:]
    size = chunk + TAG_SIZE
    return ciphertext[:HEADER_SIZE], [body[i : i + size] for i in range(0, len(body), size)]


# -- round trips ------------------------------------------------------------------------------------


def test_round_trip_on_every_store(inner: ArtifactStoreWithRefs, key: ArtifactKey, tmp_path: Path) -> None:
    store = EncryptedArtifactStore(inner, key, chunk_size=_SMALL_CHUNK)
    data = MARKER * 500  # ~10 KiB: several chunks
    digest = store.put_bytes(data)
    assert digest == digest_of_bytes(data)
    assert store.exists(digest)
    assert store.get_bytes(digest) == data
    fetched = store.fetch(digest)
    assert fetched.read_bytes() == data
    assert stat.S_IMODE(fetched.stat().st_mode) == 0o400
    assert stat.S_IMODE(fetched.parent.stat().st_mode) == 0o700
    source = tmp_path / "model.bin"
    source.write_bytes(data + b"file")
    assert store.put_file(source) == digest_of_bytes(data + b"file")
    assert store.fetch(digest_of_bytes(data + b"file")).read_bytes() == data + b"file"
    assert store.get_bytes(store.put_bytes(b"")) == b""


def test_a_second_store_with_the_same_key_reads_it(s3_url: S3Url, key: ArtifactKey, tmp_path: Path) -> None:
    url, s3 = s3_url
    writer = EncryptedArtifactStore(FsspecArtifactStore(url, tmp_path / "a", s3_storage_options(s3)), key)
    digest = writer.put_bytes(MARKER)
    reader = EncryptedArtifactStore(FsspecArtifactStore(url, tmp_path / "b", s3_storage_options(s3)), key)
    assert reader.fetch(digest).read_bytes() == MARKER
    assert reader.get_bytes(digest) == MARKER


def test_missing_digest_is_not_found(inner: ArtifactStoreWithRefs, key: ArtifactKey) -> None:
    store = EncryptedArtifactStore(inner, key)
    absent = digest_of_bytes(b"never stored")
    assert not store.exists(absent)
    for read in (store.get_bytes, store.fetch):
        with pytest.raises(ArtifactNotFound, match=absent):
            read(absent)


def test_storing_the_same_bytes_again_writes_nothing_new(inner: ArtifactStoreWithRefs, key: ArtifactKey) -> None:
    store = EncryptedArtifactStore(inner, key)
    digest = store.put_bytes(MARKER)
    first = _ref(inner, digest)
    assert store.put_bytes(MARKER) == digest
    assert _ref(inner, digest) == first
    # Under another key it is encrypted anew, and readable with that key only.
    rotated = EncryptedArtifactStore(inner, ArtifactKey.generate())
    assert rotated.put_bytes(MARKER) == digest
    assert rotated.get_bytes(digest) == MARKER
    assert _ref(inner, digest)["key_id"] == rotated.key_id


def test_a_corrupt_decrypted_copy_is_decrypted_again(key: ArtifactKey) -> None:
    store = EncryptedArtifactStore(MemoryArtifactStore(), key)
    digest = store.put_bytes(MARKER)
    path = store.fetch(digest)
    path.chmod(0o600)
    path.write_bytes(b"edited in place")
    assert store.fetch(digest).read_bytes() == MARKER


def test_decrypted_copies_go_to_the_folder_given_and_temporary_ones_are_removed(
    key: ArtifactKey, tmp_path: Path
) -> None:
    store = EncryptedArtifactStore(MemoryArtifactStore(), key, plaintext_dir=tmp_path / "plain")
    assert store.fetch(store.put_bytes(MARKER)).parent == tmp_path / "plain"
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o700
    temporary = EncryptedArtifactStore(MemoryArtifactStore(), key)
    folder = temporary.fetch(temporary.put_bytes(MARKER)).parent
    del temporary
    gc.collect()
    assert not folder.exists()


# -- nothing readable at rest -----------------------------------------------------------------------


def test_local_files_hold_no_plaintext(key: ArtifactKey, tmp_path: Path) -> None:
    store = EncryptedArtifactStore(LocalArtifactStore(tmp_path / "artifacts"), key)
    store.put_bytes(MARKER * 100)
    files = [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]
    assert len(files) == 2  # the ciphertext blob and its ref
    assert all(MARKER not in p.read_bytes() for p in files)
    assert any(p.read_bytes().startswith(b"SHYENC1") for p in files)


def test_memory_blobs_hold_no_plaintext(key: ArtifactKey) -> None:
    inner = MemoryArtifactStore()
    digest = EncryptedArtifactStore(inner, key).put_bytes(MARKER * 100)
    assert not inner.exists(digest)
    assert MARKER not in _ciphertext(inner, digest)


def test_bucket_and_cache_hold_no_plaintext(s3_url: S3Url, boto_s3: Any, key: ArtifactKey, tmp_path: Path) -> None:
    url, s3 = s3_url
    store = EncryptedArtifactStore(FsspecArtifactStore(url, tmp_path / "cache", s3_storage_options(s3)), key)
    digest = store.put_bytes(MARKER * 100)
    bucket = url.removeprefix("s3://").split("/")[0]
    keys = [o["Key"] for o in boto_s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 2
    assert all(MARKER not in boto_s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys)
    assert store.fetch(digest).read_bytes() == MARKER * 100
    cached = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert cached and all(MARKER not in p.read_bytes() for p in cached)


# -- wrong key, no key, no encryption ---------------------------------------------------------------


def test_wrong_key_names_both_key_ids(inner: ArtifactStoreWithRefs, key: ArtifactKey) -> None:
    digest = EncryptedArtifactStore(inner, key).put_bytes(MARKER)
    other = EncryptedArtifactStore(inner, ArtifactKey.generate())
    for read in (other.get_bytes, other.fetch):
        with pytest.raises(ArtifactDecryptionError, match=digest) as info:
            read(digest)
        assert isinstance(info.value, ArtifactIntegrityError)
        assert (info.value.stored_key_id, info.value.configured_key_id) == (key.key_id, other.key_id)
        assert f"encrypted with key id {key.key_id}" in str(info.value)
        assert f"has key id {other.key_id}" in str(info.value)


def test_wrong_key_in_the_header_is_named_even_when_the_ref_lies(key: ArtifactKey) -> None:
    inner = MemoryArtifactStore()
    digest = EncryptedArtifactStore(inner, key).put_bytes(MARKER)
    other = EncryptedArtifactStore(inner, ArtifactKey.generate())
    _forge(inner, digest, _ciphertext(inner, digest), other.key_id)
    with pytest.raises(ArtifactDecryptionError) as info:
        other.get_bytes(digest)
    assert (info.value.stored_key_id, info.value.configured_key_id) == (key.key_id, other.key_id)


def test_reading_an_encrypted_store_without_a_key_says_which_key(
    inner: ArtifactStoreWithRefs, key: ArtifactKey
) -> None:
    digest = EncryptedArtifactStore(inner, key).put_bytes(MARKER)
    for read in (inner.get_bytes, inner.fetch):
        with pytest.raises(ArtifactDecryptionError, match="no artifact key is configured") as info:
            read(digest)
        assert info.value.stored_key_id == key.key_id
        assert key.key_id in str(info.value) and "SHIPYARD_ARTIFACTS_KEY" in str(info.value)


def test_an_unencrypted_artifact_is_refused_with_encryption_on(inner: ArtifactStoreWithRefs, key: ArtifactKey) -> None:
    digest = inner.put_bytes(MARKER)
    store = EncryptedArtifactStore(inner, key)
    assert not store.exists(digest)
    for read in (store.get_bytes, store.fetch):
        with pytest.raises(ArtifactDecryptionError, match="stored unencrypted") as info:
            read(digest)
        assert info.value.digest == digest
        assert info.value.stored_key_id is None and info.value.configured_key_id == key.key_id


# -- tampering --------------------------------------------------------------------------------------


def test_ciphertext_altered_in_place_is_refused_naming_the_digest(key: ArtifactKey, tmp_path: Path) -> None:
    inner = LocalArtifactStore(tmp_path)
    store = EncryptedArtifactStore(inner, key)
    digest = store.put_bytes(MARKER * 100)
    blob = inner.path_for(Digest(_ref(inner, digest)["ciphertext"]))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 1
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    for read in (store.get_bytes, store.fetch):
        with pytest.raises(ArtifactIntegrityError, match=digest) as info:
            read(digest)
        assert info.value.digest == digest
        assert "encrypted blob was altered" in str(info.value)


def test_ciphertext_altered_in_the_bucket_is_refused(
    s3_url: S3Url, boto_s3: Any, key: ArtifactKey, tmp_path: Path
) -> None:
    url, s3 = s3_url
    digest = EncryptedArtifactStore(FsspecArtifactStore(url, tmp_path / "w", s3_storage_options(s3)), key).put_bytes(
        MARKER
    )
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    objects = [o["Key"] for o in boto_s3.list_objects_v2(Bucket=bucket)["Contents"]]
    [blob_key] = [k for k in objects if "/refs/" not in k]
    data = bytearray(boto_s3.get_object(Bucket=bucket, Key=blob_key)["Body"].read())
    data[len(data) // 2] ^= 1
    boto_s3.put_object(Bucket=bucket, Key=blob_key, Body=bytes(data))
    reader = EncryptedArtifactStore(FsspecArtifactStore(url, tmp_path / "r", s3_storage_options(s3)), key)
    with pytest.raises(ArtifactIntegrityError, match=digest):
        reader.fetch(digest)


def _flip_middle(ct: bytes) -> bytes:
    data = bytearray(ct)
    data[len(data) // 2] ^= 0x80
    return bytes(data)


def _cut_mid_record(ct: bytes) -> bytes:
    return ct[:-5]


def _cut_at_record_boundary(ct: bytes) -> bytes:
    header, records = _records(ct)
    return header + b"".join(records[:-1])


def _drop_header(ct: bytes) -> bytes:
    return ct[HEADER_SIZE:]


def _reorder(ct: bytes) -> bytes:
    header, records = _records(ct)
    return header + records[1] + records[0] + b"".join(records[2:])


def _tell_a_larger_chunk_size(ct: bytes) -> bytes:
    return ct[: HEADER_SIZE - 4] + (2 * _SMALL_CHUNK).to_bytes(4, "big") + ct[HEADER_SIZE:]


@pytest.mark.parametrize(
    "tamper",
    [_flip_middle, _cut_mid_record, _cut_at_record_boundary, _drop_header, _reorder, _tell_a_larger_chunk_size],
)
def test_forged_ciphertext_fails_authentication(
    inner: ArtifactStoreWithRefs, key: ArtifactKey, tamper: Callable[[bytes], bytes]
) -> None:
    store = EncryptedArtifactStore(inner, key, chunk_size=_SMALL_CHUNK)
    digest = store.put_bytes(bytes(range(256)) * 12)  # 3 full chunks and an empty final one
    _forge(inner, digest, tamper(_ciphertext(inner, digest)), key.key_id)
    for read in (store.get_bytes, store.fetch):
        with pytest.raises(ArtifactDecryptionError, match=digest) as info:
            read(digest)
        assert info.value.digest == digest
        assert info.value.stored_key_id is None  # not a wrong key: altered bytes


def test_chunks_swapped_between_two_artifacts_fail(key: ArtifactKey) -> None:
    inner = MemoryArtifactStore()
    store = EncryptedArtifactStore(inner, key, chunk_size=_SMALL_CHUNK)
    a = store.put_bytes(b"a" * 3000)
    b = store.put_bytes(b"b" * 3000)
    header_a, records_a = _records(_ciphertext(inner, a))
    _header_b, records_b = _records(_ciphertext(inner, b))
    _forge(inner, a, header_a + records_a[0] + records_b[1] + records_a[2], key.key_id)
    with pytest.raises(ArtifactDecryptionError, match=rf"{a}.*chunk 1 fails authentication"):
        store.get_bytes(a)


def test_a_whole_blob_moved_to_another_address_fails(key: ArtifactKey) -> None:
    inner = MemoryArtifactStore()
    store = EncryptedArtifactStore(inner, key)
    a, b = store.put_bytes(b"model a"), store.put_bytes(b"model b")
    inner.put_ref(a, inner.get_ref(b) or b"")  # a's ref now names b's (authentic) ciphertext
    with pytest.raises(ArtifactDecryptionError, match=a):
        store.fetch(a)


def test_authentic_ciphertext_of_other_bytes_fails_the_plaintext_hash(key: ArtifactKey) -> None:
    # Only a holder of the key can do this; the sha256 of the plaintext still catches it.
    inner = MemoryArtifactStore()
    store = EncryptedArtifactStore(inner, key)
    digest = digest_of_bytes(b"the registered model")
    sealed = io.BytesIO()
    ArtifactCipher(key).encrypt(io.BytesIO(b"another model"), sealed, digest)
    _forge(inner, digest, sealed.getvalue(), key.key_id)
    with pytest.raises(ArtifactIntegrityError, match=digest) as info:
        store.get_bytes(digest)
    assert info.value.actual == digest_of_bytes(b"another model")


def test_an_unreadable_ref_is_refused_and_overwritten_by_a_new_put(key: ArtifactKey) -> None:
    inner = MemoryArtifactStore()
    store = EncryptedArtifactStore(inner, key)
    digest = store.put_bytes(MARKER)
    inner.put_ref(digest, b"{not json")
    with pytest.raises(ArtifactDecryptionError, match="ref .* is unreadable"):
        store.get_bytes(digest)
    store.put_bytes(MARKER)
    assert store.get_bytes(digest) == MARKER


def test_a_source_changing_while_stored_is_refused(
    key: ArtifactKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = MemoryArtifactStore()
    store = EncryptedArtifactStore(inner, key)
    source = tmp_path / "model.bin"
    source.write_bytes(b"after")
    promised = digest_of_bytes(b"before")
    monkeypatch.setattr("shipyard.artifacts.encrypted.digest_of_file", lambda path: promised)
    with pytest.raises(ArtifactIntegrityError, match=promised):
        store.put_file(source)
    assert inner.get_ref(promised) is None


# -- large artifacts --------------------------------------------------------------------------------


def test_a_large_artifact_streams_in_chunks(key: ArtifactKey, tmp_path: Path) -> None:
    inner = LocalArtifactStore(tmp_path / "artifacts")
    store = EncryptedArtifactStore(inner, key)
    source = tmp_path / "big.bin"
    size = 20 << 20
    with open(source, "wb") as f:
        for i in range(20):
            f.write(hashlib.sha256(b"%d" % i).digest() * (1 << 15))  # 1 MiB each, all different
    tracemalloc.start()
    try:
        digest = store.put_file(source)
        fetched = store.fetch(digest)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert digest == digest_of_bytes(source.read_bytes())
    assert fetched.read_bytes() == source.read_bytes()
    ciphertext = inner.path_for(Digest(_ref(inner, digest)["ciphertext"]))
    header = ciphertext.read_bytes()[:HEADER_SIZE]
    assert int.from_bytes(header[-4:], "big") == 4 << 20
    assert ciphertext.stat().st_size == sealed_size(size) == HEADER_SIZE + size + 6 * TAG_SIZE  # 5 chunks + final
    assert peak < 3 * (4 << 20), f"peak {peak / 2**20:.1f} MiB while storing and fetching {size >> 20} MiB"


# -- keys and settings ------------------------------------------------------------------------------


def test_key_id_is_the_first_eight_bytes_of_its_sha256_and_the_repr_hides_the_key() -> None:
    key = ArtifactKey(bytes(range(32)))
    assert key.key_id == hashlib.sha256(bytes(range(32))).hexdigest()[:16]
    assert repr(key) == f"ArtifactKey(key_id={key.key_id!r})"
    store = EncryptedArtifactStore(MemoryArtifactStore(), key)
    assert key.to_text() not in repr(store) and key.key_id in repr(store)


@pytest.mark.parametrize(
    "text",
    [
        bytes(range(32)).hex(),
        bytes(range(32)).hex().upper(),
        base64.b64encode(bytes(range(32))).decode(),
        base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("="),
        f"  {base64.b64encode(bytes(range(32))).decode()}\n",
    ],
)
def test_keys_parse_from_hex_or_base64(text: str) -> None:
    assert ArtifactKey.parse(text) == ArtifactKey(bytes(range(32)))


@pytest.mark.parametrize(
    "text", ["", "short", "z" * 64, bytes(range(31)).hex(), base64.b64encode(bytes(33)).decode(), "not base64 !!"]
)
def test_a_malformed_key_setting_is_a_config_error_naming_it(text: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        open_artifact_store(Settings(home=tmp_path, artifacts_key=SecretStr(text)))
    assert info.value.setting == "SHIPYARD_ARTIFACTS_KEY"
    assert str(info.value).startswith("SHIPYARD_ARTIFACTS_KEY: not an artifact key")
    if len(text) > 4:
        assert text not in str(info.value)  # a key with a typo is still a secret


def test_key_file_settings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = ArtifactKey.generate()
    path = tmp_path / "artifacts.key"
    path.write_text(key.to_text() + "\n")
    path.chmod(0o600)
    assert load_artifact_key(Settings(home=tmp_path, artifacts_key_file=path)) == key
    assert not caplog.records
    path.chmod(0o644)
    load_artifact_key(Settings(home=tmp_path, artifacts_key_file=path))
    assert "readable by other users" in caplog.text
    assert load_artifact_key(Settings(home=tmp_path)) is None


@pytest.mark.parametrize(
    ("content", "problem"), [(None, "No such file"), (b"oops", "not an artifact key"), (b"\xff" * 44, "not a text")]
)
def test_a_bad_key_file_is_a_config_error_naming_it(content: bytes | None, problem: str, tmp_path: Path) -> None:
    path = tmp_path / "artifacts.key"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=problem) as info:
        open_artifact_store(Settings(home=tmp_path, artifacts_key_file=path))
    assert info.value.setting == "SHIPYARD_ARTIFACTS_KEY_FILE"
    assert str(path) in str(info.value)


def test_key_and_key_file_together_are_refused(tmp_path: Path) -> None:
    key = ArtifactKey.generate()
    (tmp_path / "k").write_text(key.to_text())
    settings = Settings(home=tmp_path, artifacts_key=SecretStr(key.to_text()), artifacts_key_file=tmp_path / "k")
    with pytest.raises(ConfigError, match="not both") as info:
        open_artifact_store(settings)
    assert info.value.setting == "SHIPYARD_ARTIFACTS_KEY_FILE"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = ArtifactKey.generate()
    monkeypatch.setenv("SHIPYARD_ARTIFACTS_KEY", key.to_text())
    assert load_artifact_key(Settings()) == key


def test_the_factory_wraps_the_configured_store(tmp_path: Path) -> None:
    key = ArtifactKey.generate()
    store = open_artifact_store(Settings(home=tmp_path, artifacts_key=SecretStr(key.to_text())))
    assert isinstance(store, EncryptedArtifactStore)
    assert isinstance(store.inner, LocalArtifactStore) and store.key_id == key.key_id
    assert store.url == str(tmp_path / "artifacts")
    memory = open_artifact_store(Settings(home=tmp_path, artifacts="memory://", artifacts_key=SecretStr(key.to_text())))
    assert isinstance(memory, EncryptedArtifactStore) and isinstance(memory.inner, MemoryArtifactStore)
    assert isinstance(open_artifact_store(Settings(home=tmp_path)), LocalArtifactStore)


def test_a_store_without_refs_cannot_be_wrapped(key: ArtifactKey) -> None:
    with pytest.raises(TypeError, match="keeps no refs"):
        EncryptedArtifactStore(object(), key)  # type: ignore[arg-type]  # the point of the test


def test_missing_cryptography_names_the_extra(monkeypatch: pytest.MonkeyPatch, key: ArtifactKey) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None)
    with pytest.raises(MissingDependency, match="cryptography") as info:
        EncryptedArtifactStore(MemoryArtifactStore(), key)
    assert info.value.extra == "encryption"


# -- the registry, end to end -----------------------------------------------------------------------


def test_registry_stores_encrypted_and_loads_only_with_its_key(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    key, other = ArtifactKey.generate(), ArtifactKey.generate()
    home, db_url = tmp_path / "home", f"sqlite:///{tmp_path / 'registry.db'}"

    def settings(key: ArtifactKey | None) -> Settings:
        text = SecretStr(key.to_text()) if key else None
        return Settings(home=home, db_url=db_url, artifacts_key=text, user="alice")

    registry = open_registry(settings(key))
    mv = registry.register(model, "churn", data=X, target=y)
    np.testing.assert_array_equal(registry.load("churn/1").predict(X), model.predict(X))
    assert registry.load_profile_bytes(mv)
    assert not (home / "artifacts" / "sha256" / mv.digest[7:9] / mv.digest[7:]).exists()  # only ciphertext blobs
    registry.db.close()

    wrong = open_registry(settings(other))
    with pytest.raises(ArtifactDecryptionError, match=mv.digest) as info:
        wrong.load("churn/1")
    assert key.key_id in str(info.value) and other.key_id in str(info.value)
    wrong.db.close()

    plain = open_registry(settings(None))
    with pytest.raises(ArtifactDecryptionError, match="no artifact key is configured"):
        plain.load("churn/1")
    plain.db.close()


def test_decrypted_copies_are_private_whatever_the_umask(key: ArtifactKey) -> None:
    old = os.umask(0)
    try:
        store = EncryptedArtifactStore(MemoryArtifactStore(), key)
        path = store.fetch(store.put_bytes(MARKER))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
