from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shipyard.artifacts import digest_of_bytes, digest_of_file, parse_digest
from shipyard.errors import ValidationFailed

_EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_digest_of_bytes_is_prefixed_sha256() -> None:
    assert digest_of_bytes(b"") == _EMPTY
    assert digest_of_bytes(b"abc") == "sha256:" + hashlib.sha256(b"abc").hexdigest()


def test_digest_of_file_matches_digest_of_bytes(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"x" * 3_000_001)
    assert digest_of_file(path) == digest_of_bytes(path.read_bytes())


def test_parse_digest_accepts_a_valid_digest() -> None:
    assert parse_digest(_EMPTY) == _EMPTY


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha256:" + "0" * 63,
        "sha256:" + "0" * 65,
        "sha256:" + "G" * 64,
        "SHA256:" + "0" * 64,
        " sha256:" + "0" * 64,
        "sha256:" + "0" * 64 + "\n",
    ],
)
def test_parse_digest_names_the_bad_value(bad: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_digest(bad)
    assert isinstance(info.value, ValueError)
    assert info.value.problems[0][0] == "digest"
    assert repr(bad) in str(info.value)
