"""Receiving a photo batch: a multipart upload streamed straight to disk, zip archives unpacked safely.

Every accepted photo is written as ``<seq>.<ext>`` in ``$GRIDWATCH_DATA_DIR/batches/<id>/``: names from the
client (multipart file names, zip entry names) are kept for display only and never become paths, so ``../``,
absolute paths, drive letters and odd unicode cannot write outside the folder. Zip entries that are symlinks,
encrypted, nested archives, or inflate beyond the limits (declared size, actual size while inflating, ratio to
their compressed size, total) are refused one by one: each is counted, and the first :attr:`Limits.rejected_sample`
are kept with their reasons, so a flood of refused entries costs neither memory nor database. A request over its
byte, entry or file-count budget is refused whole (413) and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import stat
import unicodedata
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from domain.errors import UploadError
from service.batches.store import NewItem, Rejected
from vision.sources import IMAGE_SUFFIXES

ZIP_SUFFIX = ".zip"
_CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_NAME_CHARS = 255


@dataclass(frozen=True)
class Limits:
    """What one upload may hold."""

    max_file_bytes: int = 50 * 1024 * 1024  # a photo; larger ones are refused one by one
    max_request_bytes: int = 2 * 1024 * 1024 * 1024  # the whole body, zips included
    max_files: int = 5000  # accepted photos per batch, loose and from zips together
    max_zip_entries: int = 20000  # entries read from one archive's directory
    max_request_entries: int = 50000  # entries read from all of a request's archives together
    rejected_sample: int = 100  # refused entries kept with their reasons; the rest are only counted
    # Everything a request's zips may inflate to on disk; a batch's files are deleted once its photos are judged.
    max_unpacked_bytes: int = 1024 * 1024 * 1024
    max_ratio: float = 200.0  # uncompressed / compressed of one entry; JPEGs barely compress


def batch_dir(data_dir: Path, batch_id: str) -> Path:
    """The folder of a batch's photos; ``batch_id`` must be a 32-digit hex uuid (it becomes a path)."""
    if not re.fullmatch(r"[0-9a-f]{32}", batch_id):
        raise ValueError(f"not a batch id: {batch_id!r}")
    return data_dir / "batches" / batch_id


def display_name(raw: str) -> str:
    """A client-given name made safe to show and store: NFC, no control characters, at most 255 characters."""
    name = _CONTROL.sub("", unicodedata.normalize("NFC", raw)).strip()
    return (name or "unnamed")[:MAX_NAME_CHARS]


def unsafe_member_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a zip entry must not be unpacked, or None when it may be."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return "absolute path in archive"
    if ".." in PurePosixPath(name).parts:
        return "path escapes the archive ('..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link in archive"
    if info.flag_bits & 0x1:
        return "encrypted archive entry"
    return None


@dataclass
class _Budget:
    """Bytes and files still allowed for this request."""

    limits: Limits
    received: int = 0
    unpacked: int = 0
    entries: int = 0

    def take_entries(self, n: int) -> None:
        self.entries += n
        if self.entries > self.limits.max_request_entries:
            raise UploadError(f"more than {self.limits.max_request_entries:,} archive entries in one request", 413)

    def take_received(self, n: int) -> None:
        self.received += n
        if self.received > self.limits.max_request_bytes:
            raise UploadError(f"request larger than {self.limits.max_request_bytes:,} bytes", 413)

    def take_unpacked(self, n: int) -> None:
        self.unpacked += n
        if self.unpacked > self.limits.max_unpacked_bytes:
            raise UploadError(f"archives inflate to more than {self.limits.max_unpacked_bytes:,} bytes", 413)


@dataclass
class BatchFolder:
    """Accepted photos and refused entries of one upload, written under ``root`` (created empty)."""

    root: Path
    limits: Limits
    items: list[NewItem] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)  # the first ``limits.rejected_sample`` refused entries
    rejected_total: int = 0

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=False)
        self.budget = _Budget(self.limits)

    def reject(self, name: str, error: str) -> None:
        """Count a refused entry; keep it with its reason while the sample has room."""
        self.rejected_total += 1
        if len(self.rejected) < self.limits.rejected_sample:
            self.rejected.append(Rejected(name, error))

    def _next_path(self, suffix: str) -> tuple[str, Path]:
        if len(self.items) >= self.limits.max_files:
            raise UploadError(f"more than {self.limits.max_files} photos in one batch", 413)
        stored = f"{len(self.items) + 1:06d}{suffix}"
        return stored, self.root / stored

    def add_stream(self, name: str, read: Callable[[int], bytes], *, unpacked: bool) -> None:
        """Copy one photo from ``read`` (chunks until b""), refusing it once it passes the per-file limit."""
        suffix = PurePosixPath(name).suffix.lower()
        stored, path = self._next_path(suffix if suffix in IMAGE_SUFFIXES else ".bin")
        digest, size = hashlib.sha256(), 0
        with path.open("wb") as out:
            while chunk := read(_CHUNK):
                size += len(chunk)
                if unpacked:
                    self.budget.take_unpacked(len(chunk))
                if size > self.limits.max_file_bytes:
                    break
                digest.update(chunk)
                out.write(chunk)
        if size > self.limits.max_file_bytes:
            path.unlink()
            self.reject(name, f"file larger than {self.limits.max_file_bytes:,} bytes")
            return
        self.items.append(NewItem(name, stored, size, digest.hexdigest()))

    def add_zip(self, name: str, archive: Path) -> None:
        """Unpack the photos of a zip archive, entry by entry, refusing unsafe or oversized entries."""
        try:
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                if len(infos) > self.limits.max_zip_entries:
                    raise UploadError(f"{name}: more than {self.limits.max_zip_entries} entries in the archive", 413)
                self.budget.take_entries(len(infos))
                for info in sorted(infos, key=lambda i: i.filename):
                    self._add_member(name, zf, info)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
            self.reject(name, f"unreadable zip archive: {exc}")

    def _add_member(self, archive_name: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        if info.is_dir():
            return
        shown = display_name(f"{archive_name}/{info.filename}")
        reason = unsafe_member_reason(info)
        suffix = PurePosixPath(info.filename).suffix.lower()
        if reason is None and suffix == ZIP_SUFFIX:
            reason = "nested archive not unpacked"
        if reason is None and suffix not in IMAGE_SUFFIXES:
            reason = "not an image file name (jpg, jpeg, png, webp, bmp)"
        if reason is None and info.file_size > self.limits.max_file_bytes:
            reason = f"entry declares {info.file_size:,} bytes, over the limit of {self.limits.max_file_bytes:,}"
        if reason is None and info.file_size > self.limits.max_ratio * max(info.compress_size, 1):
            reason = f"entry inflates {info.file_size / max(info.compress_size, 1):,.0f}x (zip bomb)"
        if reason is not None:
            self.reject(shown, reason)
            return
        try:
            with zf.open(info) as member:
                # zipfile checks the CRC and refuses to read past the declared size: a lying header fails here.
                self.add_stream(shown, member.read, unpacked=True)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            self._drop_partial()
            self.reject(shown, f"corrupt archive entry: {exc}")

    def _drop_partial(self) -> None:
        """Remove the file of an entry that failed half-way (it was never added to ``items``)."""
        stored = f"{len(self.items) + 1:06d}"
        for path in self.root.glob(f"{stored}.*"):
            path.unlink()

    def add_upload(self, name: str, path: Path) -> None:
        """A file received whole from the request: a zip archive is unpacked, anything else is one photo."""
        with path.open("rb") as fh:
            is_zip = fh.read(4) == b"PK\x03\x04"
        if is_zip or PurePosixPath(name).suffix.lower() == ZIP_SUFFIX:
            self.add_zip(name, path)
        else:
            with path.open("rb") as fh:
                self.add_stream(name, fh.read, unpacked=False)
        path.unlink()

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    header_field: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    value: bytearray = field(default_factory=bytearray)
    file: IO[bytes] | None = None
    path: Path | None = None
    size: int = 0


MAX_FIELD_BYTES = 1024
MAX_FIELDS = 16


class MultipartReceiver:
    """Feeds a ``multipart/form-data`` body, chunk by chunk, into a :class:`BatchFolder`.

    File parts are spooled to the batch folder as they arrive (never held in memory) and handed over when
    complete; small text fields (``place``, ``lat``, ``lon``) are collected in :attr:`fields`.
    """

    def __init__(self, content_type: str, folder: BatchFolder) -> None:
        mime, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if mime != b"multipart/form-data" or not boundary:
            raise UploadError("expected a multipart/form-data body with a boundary", 415)
        self.folder = folder
        self.fields: dict[str, str] = {}
        self._part = _Part()
        self._uploads = 0
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_headers_finished": self._headers_done,
                "on_part_data": self._data,
                "on_part_end": self._end,
            },
        )

    def feed(self, chunk: bytes) -> None:
        self.folder.budget.take_received(len(chunk))
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:  # a broken client's body is a 400, not a server error
            raise UploadError(f"malformed multipart body: {exc}") from None

    def close(self) -> None:
        try:
            self._parser.finalize()
        except MultipartParseError as exc:
            raise UploadError(f"malformed multipart body: {exc}") from None
        if self._part.file is not None:
            raise UploadError("the multipart body ended inside a part")

    def _begin(self) -> None:
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._part.header_field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        key = self._part.header_field.lower()
        self._part.headers[key] = self._part.headers.get(key, b"") + data[start:end]
        self._part.header_field = b""

    def _headers_done(self) -> None:
        part = self._part
        _, params = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.name = params.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = params.get(b"filename")
        if raw_filename is not None:
            part.filename = display_name(raw_filename.decode("utf-8", "replace"))
            self._uploads += 1
            part.path = self.folder.root / f"upload-{self._uploads}.part"
            part.file = part.path.open("wb")

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.file is not None:
            part.size += end - start
            part.file.write(data[start:end])
        else:
            part.value += data[start:end]
            if len(part.value) > MAX_FIELD_BYTES:
                raise UploadError(f"form field {part.name!r} longer than {MAX_FIELD_BYTES} bytes", 413)

    def _end(self) -> None:
        part = self._part
        if part.file is not None and part.path is not None and part.filename is not None:
            part.file.close()
            part.file = None
            self.folder.add_upload(part.filename, part.path)
        elif part.filename is None:
            if len(self.fields) >= MAX_FIELDS:
                raise UploadError(f"more than {MAX_FIELDS} form fields", 413)
            self.fields[part.name] = part.value.decode("utf-8", "replace")

    def abort(self) -> None:
        if self._part.file is not None:
            self._part.file.close()
            self._part.file = None


def new_batch_id() -> str:
    return uuid.uuid4().hex
