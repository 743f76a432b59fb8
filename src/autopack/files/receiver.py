"""Streams one multipart body to disk: the `file` part goes to a private temp file as it arrives.

Nothing is buffered beyond one chunk; past the size limit, on a malformed body or a client that
goes away, the temp file is removed and no trace of the upload is left.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,16}$")
MAX_FIELD_BYTES = 1024


class TooLarge(Exception):
    """The file part passed the size limit."""


class Malformed(Exception):
    """The body is not the multipart form it claims to be."""


def safe_name(filename: str) -> str:
    """The original name without any directory part (either separator), at most 255 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    return name[:255] or "upload"


def stored_name(filename: str) -> str:
    """A fresh uuid hex name keeping a plain suffix of the original (`.txt`, `.tar.gz` keeps `.gz`)."""
    suffix = os.path.splitext(filename)[1]
    return uuid.uuid4().hex + (suffix.lower() if _SUFFIX.match(suffix) else "")


def boundary_of(content_type: str | None) -> bytes | None:
    """The multipart boundary, None when the body is not multipart/form-data."""
    if not content_type:
        return None
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    return boundary if kind == b"multipart/form-data" and boundary else None


class Receiver:
    """Feed it the body's chunks; it writes the `file` part to `<directory>/.partial-<uuid>`."""

    def __init__(self, boundary: bytes, directory: Path, max_bytes: int):
        self.directory, self.max_bytes = directory, max_bytes
        self.size, self.digest = 0, hashlib.sha256()
        self.filename: str | None = None
        self.content_type: str | None = None
        self.fields: dict[str, str] = {}
        self.temp: Path | None = None
        self._fd: int | None = None
        self._headers: dict[str, bytes] = {}
        self._field, self._value = b"", b""
        self._part: str | None = None  # "file" | a field name | None (ignored)
        self._buffer = bytearray()
        self._done = False
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_part_data": self._data, "on_part_end": self._end,
            "on_header_field": self._hfield, "on_header_value": self._hvalue, "on_header_end": self._hend,
            "on_headers_finished": self._headers_done, "on_end": self._finished})

    def feed(self, chunk: bytes) -> None:
        """Parse one chunk (TooLarge / Malformed / OSError stop the upload)."""
        try:
            self.parser.write(chunk)
        except (TooLarge, OSError):
            raise
        except Exception as exc:  # the parser's own errors: a broken body
            raise Malformed(str(exc)) from None

    def finish(self) -> None:
        """The body ended: it must have been complete."""
        if not self._done:
            raise Malformed("multipart body ended early")
        self._close()

    def discard(self) -> None:
        """Remove the partial file (any failure, or a client that went away)."""
        self._close()
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)
            self.temp = None

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _begin(self) -> None:
        self._headers, self._part, self._buffer = {}, None, bytearray()

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _hvalue(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _hend(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_done(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if name == "file" and b"filename" in params and self.temp is None:
            self.filename = safe_name(params[b"filename"].decode("utf-8", "replace"))
            kind = self._headers.get("content-type")
            self.content_type = kind.decode("latin-1")[:255] if kind else None
            self.directory.mkdir(parents=True, exist_ok=True)
            self.temp = self.directory / f".partial-{uuid.uuid4().hex}"
            self._fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            self._part = "file"
        elif name and name != "file" and len(self.fields) < 16:
            self._part = name

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._part == "file":
            piece = data[start:end]
            self.size += len(piece)
            if self.size > self.max_bytes:
                raise TooLarge()
            self.digest.update(piece)
            view = memoryview(piece)
            while view:
                view = view[os.write(self._fd, view):]
        elif self._part is not None and len(self._buffer) <= MAX_FIELD_BYTES:
            self._buffer += data[start:end]

    def _end(self) -> None:
        if self._part == "file":
            self._close()
        elif self._part is not None:
            self.fields[self._part] = bytes(self._buffer[:MAX_FIELD_BYTES]).decode("utf-8", "replace")
        self._part = None

    def _finished(self) -> None:
        self._done = True
