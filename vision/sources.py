"""Expansion of command-line paths (image files, folders, zip archives) into readable image sources."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from domain.errors import ImageError
from vision.imageio import DEFAULT_MAX_BYTES, read_bytes

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp"})


@dataclass(frozen=True)
class Source:
    """One image to process.

    Attributes:
        path: how the image is named in output: a file path, or ``archive.zip/inner/name.jpg``.
        read: returns the encoded bytes; raises `ImageError` or `OSError` if it cannot.
        error: set instead of ``read`` when the path itself is unusable (missing, bad archive).
    """

    path: str
    read: Callable[[], bytes] | None = None
    error: str | None = None


def _read_member(archive: Path, info: zipfile.ZipInfo, max_bytes: int) -> Callable[[], bytes]:
    def read() -> bytes:
        if info.file_size > max_bytes:
            raise ImageError(f"archive entry too large: {info.file_size:,} bytes is over the limit of {max_bytes:,}")
        with zipfile.ZipFile(archive) as zf, zf.open(info) as fh:
            # the header's size can lie (zip bombs): never inflate more than the limit
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ImageError(f"archive entry inflates past the limit of {max_bytes:,} bytes")
        return data

    return read


def _zip_sources(archive: Path, max_bytes: int) -> Iterator[Source]:
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [i for i in zf.infolist() if not i.is_dir() and Path(i.filename).suffix.lower() in IMAGE_SUFFIXES]
    except (zipfile.BadZipFile, OSError) as exc:
        yield Source(str(archive), error=f"unreadable zip archive: {exc}")
        return
    for info in sorted(members, key=lambda i: i.filename):
        yield Source(f"{archive}/{info.filename}", read=_read_member(archive, info, max_bytes))


def _is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip"


def iter_sources(paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Source]:
    """Yield every image named by ``paths``, in a stable order.

    Files named directly are always tried, whatever their suffix, so that a mislabelled file gets
    an error of its own; inside folders (searched recursively) and archives only image suffixes
    and ``.zip`` archives count.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if _is_zip(child):
                    yield from _zip_sources(child, max_bytes)
                elif child.suffix.lower() in IMAGE_SUFFIXES:
                    yield Source(str(child), read=partial(read_bytes, child, max_bytes))
        elif path.is_file():
            if _is_zip(path):
                yield from _zip_sources(path, max_bytes)
            else:
                yield Source(str(path), read=partial(read_bytes, path, max_bytes))
        else:
            yield Source(str(path), error="no such file or directory")
