"""A streaming `multipart/form-data` reader for uploads: file parts go to disk, text parts stay in memory.

Starlette's and FastAPI's form parsing need the python-multipart package; this reader needs only
the standard library and enforces, while the body streams in, the limits an upload route needs:
the total size (a 413 before the rest is read), the size of each text field and of part headers,
and the number of parts. `MultipartParser` is the pure part (bytes in, events out); `read_form`
is the async shell that writes the events to files and strings.
"""

from __future__ import annotations

import email.message
import re
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from enum import Enum, auto
from pathlib import Path

import anyio
from anyio.abc import AsyncResource

from ..errors import RequestTooLarge, ValidationFailed

_FLUSH_BYTES = 1 << 20
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,10}$")


@dataclass(frozen=True)
class PartStart:
    name: str
    filename: str | None


@dataclass(frozen=True)
class PartData:
    data: bytes


@dataclass(frozen=True)
class PartEnd:
    pass


Event = PartStart | PartData | PartEnd


@dataclass(frozen=True)
class UploadedFile:
    """A file part written to disk: its name as the client sent it, where it lies, its size."""

    filename: str
    path: Path
    size: int


@dataclass(frozen=True)
class FormData:
    fields: dict[str, str]
    files: dict[str, UploadedFile]


@dataclass(frozen=True)
class FormLimits:
    max_bytes: int
    """The whole body, files included."""
    max_field_bytes: int = 1 << 20
    max_parts: int = 32
    max_header_bytes: int = 16 << 10


def _malformed(problem: str) -> ValidationFailed:
    return ValidationFailed([("body", f"malformed multipart/form-data: {problem}")])


def form_boundary(content_type: str | None) -> bytes:
    """The boundary of a `multipart/form-data` Content-Type; `ValidationFailed` on "body" otherwise."""
    header = email.message.Message()
    header["content-type"] = content_type or ""
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise ValidationFailed(
            [("body", f"send multipart/form-data with a boundary, not {content_type or 'no Content-Type'!r}")]
        )
    if not 1 <= len(boundary) <= 70:
        raise _malformed("the boundary must be 1 to 70 characters")
    return boundary.encode("latin-1", errors="replace")


class _State(Enum):
    PREAMBLE = auto()
    AFTER_DELIMITER = auto()
    HEADERS = auto()
    BODY = auto()
    DONE = auto()


class MultipartParser:
    """Bytes of a multipart body in (`feed`), `PartStart` / `PartData` / `PartEnd` events out."""

    def __init__(self, boundary: bytes, max_header_bytes: int = 16 << 10) -> None:
        self._delimiter = b"\r\n--" + boundary
        # The first delimiter may open the body with no CRLF before it; a CRLF put in front lets one search find it.
        self._buffer = bytearray(b"\r\n")
        self._state = _State.PREAMBLE
        self._max_header_bytes = max_header_bytes

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        while self._step(events):
            pass
        return events

    def close(self) -> None:
        if self._state is not _State.DONE:
            raise _malformed("the body ended before its closing boundary")

    def _step(self, events: list[Event]) -> bool:
        if self._state is _State.PREAMBLE:
            return self._find_first_delimiter()
        if self._state is _State.AFTER_DELIMITER:
            return self._after_delimiter()
        if self._state is _State.HEADERS:
            return self._headers(events)
        if self._state is _State.BODY:
            return self._body(events)
        self._buffer.clear()  # the epilogue after the closing delimiter is ignored
        return False

    def _find_first_delimiter(self) -> bool:
        index = self._buffer.find(self._delimiter)
        if index < 0:
            del self._buffer[: max(0, len(self._buffer) - len(self._delimiter) + 1)]
            return False
        del self._buffer[: index + len(self._delimiter)]
        self._state = _State.AFTER_DELIMITER
        return True

    def _after_delimiter(self) -> bool:
        if self._buffer[:1] == b" " or self._buffer[:1] == b"\t":  # transport padding (RFC 2046)
            del self._buffer[:1]
            return True
        if len(self._buffer) < 2:
            return False
        if self._buffer[:2] == b"--":
            self._state = _State.DONE
            return True
        if self._buffer[:2] != b"\r\n":
            raise _malformed("a boundary is not followed by CRLF or '--'")
        del self._buffer[:2]
        self._state = _State.HEADERS
        return True

    def _headers(self, events: list[Event]) -> bool:
        if self._buffer[:2] == b"\r\n":
            raise _malformed("a part has no headers; each needs Content-Disposition: form-data; name=...")
        index = self._buffer.find(b"\r\n\r\n")
        if index < 0:
            if len(self._buffer) > self._max_header_bytes:
                raise _malformed(f"part headers longer than {self._max_header_bytes} bytes")
            return False
        raw = bytes(self._buffer[:index])
        del self._buffer[: index + 4]
        events.append(_part_start(raw))
        self._state = _State.BODY
        return True

    def _body(self, events: list[Event]) -> bool:
        index = self._buffer.find(self._delimiter)
        if index >= 0:
            if index:
                events.append(PartData(bytes(self._buffer[:index])))
            events.append(PartEnd())
            del self._buffer[: index + len(self._delimiter)]
            self._state = _State.AFTER_DELIMITER
            return True
        keep = len(self._delimiter) - 1  # a delimiter may be split across two chunks
        if len(self._buffer) > keep:
            events.append(PartData(bytes(self._buffer[:-keep])))
            del self._buffer[:-keep]
        return False


def _part_start(raw: bytes) -> PartStart:
    header = email.message.Message()
    for line in raw.decode("utf-8", errors="replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if not sep:
            raise _malformed(f"cannot read the part header {line[:80]!r}")
        if key.strip().lower() == "content-disposition":
            header["content-disposition"] = value.strip()
    name = header.get_param("name", header="content-disposition")
    if header.get("content-disposition") is None or not isinstance(name, str) or not name:
        raise _malformed("a part has no Content-Disposition: form-data; name=...")
    return PartStart(name, header.get_filename())


def stored_suffix(filename: str) -> str:
    """The lower-case suffixes of an uploaded file's name that are safe to keep (`.skops`, `.tar.gz`)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return "".join(s for s in Path(base).suffixes[-2:] if _SUFFIX.match(s))


class _FileSink:
    def __init__(self, name: str, filename: str, path: Path, handle: anyio.AsyncFile[bytes]) -> None:
        self.name, self.filename, self.path, self.handle = name, filename, path, handle
        self.pending = bytearray()
        self.size = 0

    async def write(self, data: bytes) -> None:
        self.pending += data
        self.size += len(data)
        if len(self.pending) >= _FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self.pending:
            await self.handle.write(bytes(self.pending))
            self.pending.clear()


class _TextSink:
    def __init__(self, name: str, limit: int) -> None:
        self.name, self.limit = name, limit
        self.data = bytearray()

    async def write(self, data: bytes) -> None:
        self.data += data
        if len(self.data) > self.limit:
            raise ValidationFailed([(self.name, f"is longer than {self.limit:,} bytes")])

    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed([(self.name, "is not UTF-8 text")]) from exc


class _FormBuilder:
    """Routes parser events into files under `folder` and text fields, enforcing names and limits."""

    def __init__(
        self, folder: Path, limits: FormLimits, file_fields: Collection[str], text_fields: Collection[str]
    ) -> None:
        self.folder, self.limits = folder, limits
        self.file_fields, self.text_fields = file_fields, text_fields
        self.fields: dict[str, str] = {}
        self.files: dict[str, UploadedFile] = {}
        self.parts = 0
        self.sink: _FileSink | _TextSink | None = None
        self.open_files: list[AsyncResource] = []

    async def handle(self, event: Event) -> None:
        if isinstance(event, PartStart):
            await self._start(event)
        elif isinstance(event, PartData) and self.sink is not None:
            await self.sink.write(event.data)
        elif isinstance(event, PartEnd):
            await self._end()

    async def _start(self, part: PartStart) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise _malformed(f"more than {self.limits.max_parts} parts")
        known = sorted({*self.file_fields, *self.text_fields})
        if part.name not in known:
            raise ValidationFailed([(part.name, f"unknown form field; expected one of {', '.join(known)}")])
        if part.name in self.fields or part.name in self.files:
            raise ValidationFailed([(part.name, "was sent twice")])
        if part.name in self.text_fields:
            self.sink = _TextSink(part.name, self.limits.max_field_bytes)
            return
        if not part.filename:
            raise ValidationFailed([(part.name, "must be a file part (with a filename, e.g. model.skops)")])
        # A distinctive name, so that messages about the file can be given back with the client's name in it.
        path = self.folder / f"{part.name}-upload{stored_suffix(part.filename)}"
        handle = await anyio.open_file(path, "wb")
        self.open_files.append(handle)
        self.sink = _FileSink(part.name, part.filename, path, handle)

    async def _end(self) -> None:
        sink, self.sink = self.sink, None
        if isinstance(sink, _TextSink):
            self.fields[sink.name] = sink.text()
        elif isinstance(sink, _FileSink):
            await sink.flush()
            await sink.handle.aclose()
            self.files[sink.name] = UploadedFile(sink.filename, sink.path, sink.size)

    async def aclose(self) -> None:
        for handle in self.open_files:
            await handle.aclose()  # closing twice is harmless


async def read_form(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    folder: Path,
    limits: FormLimits,
    *,
    file_fields: Collection[str],
    text_fields: Collection[str],
    too_large_hint: str | None = None,
) -> FormData:
    """Read a multipart body from `chunks`: file parts into `folder`, text parts into strings.

    Only the named fields are accepted, each once. `RequestTooLarge` as soon as more than
    `limits.max_bytes` arrive; `ValidationFailed` naming the field or "body" for anything malformed.
    """
    parser = MultipartParser(form_boundary(content_type), limits.max_header_bytes)
    builder = _FormBuilder(folder, limits, file_fields, text_fields)
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limits.max_bytes:
                raise RequestTooLarge(None, limits.max_bytes, too_large_hint)
            for event in parser.feed(chunk):
                await builder.handle(event)
        parser.close()
    finally:
        await builder.aclose()
    return FormData(builder.fields, builder.files)


__all__ = [
    "FormData",
    "FormLimits",
    "MultipartParser",
    "PartData",
    "PartEnd",
    "PartStart",
    "UploadedFile",
    "form_boundary",
    "read_form",
    "stored_suffix",
]
