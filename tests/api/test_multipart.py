"""The streaming multipart reader: any chunking gives the same parts; limits and malformed bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from shipyard.api.multipart import (
    FormData,
    FormLimits,
    MultipartParser,
    PartData,
    PartEnd,
    PartStart,
    form_boundary,
    read_form,
    stored_suffix,
)
from shipyard.errors import RequestTooLarge, ValidationFailed

BOUNDARY = b"XyZ"
BODY = (
    b"preamble to ignore\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="params"\r\n\r\n'
    b'{"a": 1}\r\n'
    b"--XyZ \t\r\n"
    b'Content-Disposition: form-data; name="file"; filename="dir/model.SKOPS"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
    b"\r\n--XyNot a boundary\r\n-XyZ\n--XyZ\x00\xff" + b"z" * 5000 + b"\r\n"
    b"--XyZ--\r\n"
    b"epilogue"
)
FILE_CONTENT = b"\r\n--XyNot a boundary\r\n-XyZ\n--XyZ\x00\xff" + b"z" * 5000  # near misses of the delimiter


def parse(body: bytes, chunk: int) -> list[PartStart | bytes]:
    parser = MultipartParser(BOUNDARY)
    parts: list[PartStart | bytes] = []
    for start in range(0, len(body), chunk):
        for event in parser.feed(body[start : start + chunk]):
            if isinstance(event, PartStart):
                parts += [event, b""]
            elif isinstance(event, PartData):
                parts[-1] = bytes(parts[-1]) + event.data  # type: ignore[arg-type]
            else:
                assert isinstance(event, PartEnd)
    parser.close()
    return parts


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64, 4096, len(BODY)])
def test_any_chunking_gives_the_same_parts(chunk: int) -> None:
    assert parse(BODY, chunk) == [
        PartStart("params", None),
        b'{"a": 1}',
        PartStart("file", "dir/model.SKOPS"),
        FILE_CONTENT,
    ]


def test_a_body_starting_with_its_boundary() -> None:
    body = b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n--XyZ--'
    assert parse(body, 3) == [PartStart("a", None), b""]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"no boundary at all", "ended before its closing boundary"),
        (b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nabc", "ended before its closing boundary"),
        (b"--XyZ\r\nContent-Disposition: form-data; name=a", "ended before its closing boundary"),
        (b"--XyZjunk", "not followed by CRLF"),
        (b"--XyZ\r\nno colon here\r\n\r\n", "cannot read the part header"),
        (b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--", "no Content-Disposition"),
        (b"--XyZ\r\n\r\nx\r\n--XyZ--", "a part has no headers"),
        (b"--XyZ\r\nX: " + b"h" * 20000, "part headers longer than"),
    ],
)
def test_malformed_bodies_name_the_problem(body: bytes, problem: str) -> None:
    with pytest.raises(ValidationFailed, match=problem) as caught:
        parse(body, 4096)
    assert caught.value.problems[0][0] == "body"


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "multipart/form-data", "multipart/mixed; boundary=x"]
)
def test_only_form_data_with_a_boundary(content_type: str | None) -> None:
    with pytest.raises(ValidationFailed, match="send multipart/form-data"):
        form_boundary(content_type)


def test_quoted_boundary() -> None:
    assert form_boundary('multipart/form-data; boundary="a b;c"') == b"a b;c"


@pytest.mark.parametrize(
    ("filename", "suffix"),
    [("m.skops", ".skops"), ("M.TAR.GZ", ".tar.gz"), ("../../etc/passwd", ""), ("a.b/c", ""), ("x.$(rm)", "")],
)
def test_stored_suffix_keeps_only_safe_suffixes(filename: str, suffix: str) -> None:
    assert stored_suffix(filename) == suffix


async def _chunks(body: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def read(body: bytes, folder: Path, limits: FormLimits | None = None) -> FormData:
    async def run() -> FormData:
        return await read_form(
            _chunks(body),
            "multipart/form-data; boundary=XyZ",
            folder,
            limits or FormLimits(max_bytes=len(body)),
            file_fields=("file",),
            text_fields=("params", "description"),
        )

    return anyio.run(run)


def test_read_form_writes_files_and_keeps_text(tmp_path: Path) -> None:
    form = read(BODY, tmp_path)
    assert form.fields == {"params": '{"a": 1}'}
    upload = form.files["file"]
    assert upload.filename == "dir/model.SKOPS" and upload.size == len(FILE_CONTENT)
    assert upload.path.parent == tmp_path and upload.path.suffix == ".skops"
    assert upload.path.read_bytes() == FILE_CONTENT


def test_read_form_limits(tmp_path: Path) -> None:
    with pytest.raises(RequestTooLarge):
        read(BODY, tmp_path, FormLimits(max_bytes=len(BODY) - 1))
    with pytest.raises(ValidationFailed, match="params: is longer than 4 bytes"):
        read(BODY, tmp_path, FormLimits(max_bytes=len(BODY), max_field_bytes=4))
    with pytest.raises(ValidationFailed, match="more than 1 parts"):
        read(BODY, tmp_path, FormLimits(max_bytes=len(BODY), max_parts=1))


def test_read_form_refuses_duplicates_and_bad_text(tmp_path: Path) -> None:
    part = b'--XyZ\r\nContent-Disposition: form-data; name="params"\r\n\r\n{}\r\n'
    with pytest.raises(ValidationFailed, match="params: was sent twice"):
        read(part + part + b"--XyZ--", tmp_path)
    latin = b'--XyZ\r\nContent-Disposition: form-data; name="description"\r\n\r\n\xe9t\xe9\r\n--XyZ--'
    with pytest.raises(ValidationFailed, match="description: is not UTF-8 text"):
        read(latin, tmp_path)
