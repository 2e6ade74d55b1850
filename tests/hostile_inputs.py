"""Builders of hostile and unusual inputs, shared by the batch, bad-input and fault tests: broken and odd images
(truncated, corrupt, empty, mislabelled, 1x1, decompression bombs declared in a few hundred bytes, CMYK, 16-bit),
zip archives with hostile entries, and the tables that say what GridWatch must make of each.

Everything is built in memory from the bundled sample photos, cheaply: a 30000x30000 "image" is a real header
declaring that size, not 900 MB of pixels. :class:`HostileCamera` is an MJPEG camera that drops the connection,
stalls or sends garbage frames on cue.
"""

from __future__ import annotations

import io
import stat
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from tests.conftest import SAMPLES
from tests.stream_fixtures import LocalHttpServer, MjpegHandler

PHOTO = SAMPLES / "bin_point_street.jpg"
BOMB_SIDE = 30_000


def png_1x1() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def build_zip(entries: list[tuple[str, bytes]], *, symlinks: tuple[str, ...] = ()) -> bytes:
    """A deflated zip of ``entries``; ``symlinks`` are added as symbolic-link entries pointing at /etc/passwd."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
        for name in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def photo() -> bytes:
    """A real street photo (JPEG)."""
    return PHOTO.read_bytes()


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def small_rgb() -> Image.Image:
    """The street photo scaled to 320 px wide: real content, quick to detect."""
    with Image.open(PHOTO) as im:
        return im.convert("RGB").resize((320, 240))


def cmyk_jpeg() -> bytes:
    return _encode(small_rgb().convert("CMYK"), "JPEG", quality=90)


def png16_grey() -> bytes:
    grey = np.asarray(small_rgb().convert("L"), dtype=np.uint16) * 257
    return bytes(cv2.imencode(".png", grey)[1])


def png16_rgb() -> bytes:
    rgb = np.asarray(small_rgb(), dtype=np.uint16)[..., ::-1] * 257
    return bytes(cv2.imencode(".png", np.ascontiguousarray(rgb))[1])


def gif() -> bytes:
    return _encode(small_rgb(), "GIF")


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = BOMB_SIDE, height: int = BOMB_SIDE) -> bytes:
    """A PNG declaring ``width`` x ``height`` 8-bit grey pixels with one tiny IDAT: a decoder that trusts the header
    allocates 900 MB before it finds out."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (width + 1))  # one scanline
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def corrupt_png() -> bytes:
    """A whole PNG (IEND present) whose pixel data is garbage: the IDAT's CRC and zlib stream are both broken."""
    data = bytearray(_encode(small_rgb(), "PNG"))
    start = data.find(b"IDAT") + 4
    data[start + 20 : start + 200] = bytes(range(180))
    return bytes(data)


def jpeg_bomb(side: int = BOMB_SIDE) -> bytes:
    """A small real JPEG whose frame header (SOF0) is patched to declare ``side`` x ``side`` pixels."""
    data = bytearray(_encode(small_rgb(), "JPEG", quality=80))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    return bytes(data)


def corrupt_jpeg_header() -> bytes:
    """A JPEG start marker followed by garbage where the segments should be, and an end marker."""
    return b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


def zip_bomb(mb: int = 40) -> bytes:
    """``mb`` MB of zeros deflated into about ``mb`` / 1000 MB, named like a photo (under the per-file size limit:
    the inflation ratio must catch it)."""
    return build_zip([("bomb.jpg", b"\0" * (mb * 1024 * 1024))])


# ---- the tables ------------------------------------------------------------------------------------------

OK = "ok"  # a usable image: processed, detections or none


@dataclass(frozen=True)
class HostileFile:
    """A file as a client sends it, and what must become of it: ``OK`` (processed) or a per-file error containing
    ``expect``."""

    id: str
    name: str
    build: Callable[[], bytes]
    expect: str

    def __str__(self) -> str:
        return self.id


HOSTILE_FILES = [
    HostileFile("truncated-jpeg", "truncated.jpg", lambda: truncated(photo()), "truncated"),
    HostileFile("truncated-png", "truncated.png", lambda: truncated(_encode(small_rgb(), "PNG")), "truncated"),
    HostileFile("truncated-webp", "truncated.webp", lambda: truncated(_encode(small_rgb(), "WEBP")), "truncated"),
    HostileFile("corrupt-jpeg-header", "corrupt.jpg", corrupt_jpeg_header, "not an image"),
    HostileFile("corrupt-png-data", "corrupt.png", corrupt_png, "corrupt"),
    HostileFile("zero-bytes", "empty.jpg", bytes, "empty"),
    HostileFile("text-as-jpg", "notes.jpg", lambda: b"Meeting notes, not a photo.\n" * 20, "not an image"),
    HostileFile("gif-as-jpg", "anim.jpg", gif, "unsupported image format GIF"),
    HostileFile("png-1x1", "dot.png", png_1x1, OK),
    HostileFile("png-bomb-30000", "bomb.png", png_bomb, "too large"),
    HostileFile("jpeg-bomb-30000", "bomb.jpg", jpeg_bomb, "too large"),
    HostileFile("cmyk-jpeg", "cmyk.jpg", cmyk_jpeg, OK),
    HostileFile("png-16bit-grey", "grey16.png", png16_grey, OK),
    HostileFile("png-16bit-rgb", "rgb16.png", png16_rgb, OK),
    HostileFile("unicode-name", "街道 照片 ①🚗.jpg", lambda: _encode(small_rgb(), "JPEG"), OK),
    HostileFile("long-name", "x" * 400 + ".jpg", lambda: _encode(small_rgb(), "JPEG"), OK),
]


@dataclass(frozen=True)
class HostileEntry:
    """A zip entry and the reason it must be refused (``OK``: unpacked and processed)."""

    id: str
    name: str
    data: bytes
    expect: str
    symlink: bool = False

    def __str__(self) -> str:
        return self.id


def hostile_entries(marker: str) -> list[HostileEntry]:
    """Zip entries trying to escape the batch folder or exhaust the server. ``marker`` makes the escape targets
    unique, so a test can check that no such file appeared anywhere."""
    small = _encode(small_rgb(), "JPEG")
    return [
        HostileEntry("dotdot", f"../../../../../../tmp/{marker}-dotdot.jpg", small, "escapes"),
        HostileEntry("absolute", f"/tmp/{marker}-absolute.jpg", small, "absolute"),
        HostileEntry("drive-letter", f"C:/{marker}-drive.jpg", small, "absolute"),
        HostileEntry("backslash-dotdot", f"..\\..\\{marker}-backslash.jpg", small, "escapes"),
        HostileEntry("symlink", f"{marker}-link.jpg", b"", "symbolic link", symlink=True),
        HostileEntry("bomb", "bomb.jpg", b"\0" * (16 * 1024 * 1024), "zip bomb"),
        HostileEntry("nested-zip", "inner.zip", build_zip([("x.jpg", small)]), "nested"),
        HostileEntry("not-an-image-name", "run.sh", b"#!/bin/sh\nrm -rf /\n", "not an image"),
        HostileEntry("unicode-ok", "巡查/街道 ①.jpg", small, OK),
    ]


def hostile_zip(entries: list[HostileEntry]) -> bytes:
    return build_zip(
        [(e.name, e.data) for e in entries if not e.symlink], symlinks=tuple(e.name for e in entries if e.symlink)
    )


def escape_targets(marker: str) -> list[Path]:
    """Where the hostile entries would land if their names were trusted as paths."""
    return [Path("/tmp") / f"{marker}-{what}.jpg" for what in ("dotdot", "absolute", "backslash")] + [
        Path("/") / f"{marker}-drive.jpg"
    ]


def tree(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its size (symlinks as -1): a snapshot to compare before and after."""
    out: dict[str, int] = {}
    for path in root.rglob("*"):
        if path.is_symlink():
            out[str(path.relative_to(root))] = -1
        elif path.is_file():
            out[str(path.relative_to(root))] = path.stat().st_size
    return out


# ---- a misbehaving camera ---------------------------------------------------------------------------------

GOOD, GARBAGE = "good", "garbage"


class HostileCamera(LocalHttpServer):
    """An HTTP MJPEG camera that misbehaves on purpose. Each connection plays the next script in ``scripts`` (the
    last one repeats): a list of steps, ``("good", n)`` n real frames, ``("garbage", n)`` n parts announced as JPEG
    holding random bytes, ``("stall", s)`` s seconds of silence with the connection held open, ``("close", 0)``
    drop the connection. A script that runs out keeps sending good frames."""

    def __init__(self, jpegs: list[bytes], scripts: list[list[tuple[str, float]]], fps: float = 12.5) -> None:
        import random

        self.connections = 0
        self.jpegs, self.scripts, self.period = jpegs, scripts, 1.0 / fps
        rng = random.Random(7)
        camera = self

        class Handler(MjpegHandler):
            def do_GET(self) -> None:
                camera.connections += 1
                script = camera.scripts[min(camera.connections, len(camera.scripts)) - 1]
                self.start_stream()
                i = 0

                def send(part: bytes) -> None:
                    nonlocal i
                    self.send_part(part)
                    i += 1
                    time.sleep(camera.period)

                try:
                    for step, amount in script:
                        if step == "close":
                            return
                        if step == "stall":
                            time.sleep(amount)
                            continue
                        for _ in range(int(amount)):
                            good = camera.jpegs[i % len(camera.jpegs)]
                            send(good if step == GOOD else rng.randbytes(len(good)))
                    while True:
                        send(camera.jpegs[i % len(camera.jpegs)])
                except (BrokenPipeError, ConnectionResetError):
                    return

        super().__init__(Handler)


def clip_jpegs(clip: Path, frames: int = 40, start_s: float = 0.0) -> list[bytes]:
    """``frames`` frames of a video from ``start_s`` seconds on, as JPEGs."""
    cap = cv2.VideoCapture(str(clip))
    cap.set(cv2.CAP_PROP_POS_MSEC, start_s * 1000)
    out: list[bytes] = []
    while len(out) < frames:
        ok, image = cap.read()
        if not ok:
            break
        out.append(bytes(cv2.imencode(".jpg", image)[1]))
    cap.release()
    return out
