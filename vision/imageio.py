"""Image decoding for detection: safe, EXIF-aware and fast for large photos.

Pillow reads only the header (format, size, EXIF orientation) so that oversized images are
refused before any pixel is decoded; OpenCV decodes the pixels. JPEGs are decoded at 1/2, 1/4
or 1/8 scale in the DCT domain when the detector needs fewer pixels, which is several times
faster than decoding a full 12-megapixel photo and then shrinking it.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from domain.errors import ImageError

# Our own pixel limit below replaces Pillow's global bomb warning.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP"})
DEFAULT_MAX_PIXELS = 120_000_000  # above any phone or CCTV camera in use; 30000x30000 bombs fail
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
EXIF_ORIENTATION = 0x0112

_REDUCED_FLAGS = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}


@dataclass(frozen=True)
class DecodedImage:
    """Decoded pixels and the true size of the photo they came from.

    Attributes:
        pixels: (h, w, 3) uint8 BGR, upright; may be smaller than the photo (reduced decoding).
        width: width of the upright photo in pixels.
        height: height of the upright photo in pixels.
        format: container format as Pillow names it (JPEG, PNG, WEBP, BMP, MPO).
    """

    pixels: npt.NDArray[np.uint8]
    width: int
    height: int
    format: str

    @property
    def scale(self) -> tuple[float, float]:
        """Photo pixels per decoded pixel along x and y."""
        return self.width / self.pixels.shape[1], self.height / self.pixels.shape[0]


def _jpeg_is_complete(data: bytes) -> bool:
    """True if the JPEG has an end-of-image marker after its first scan.

    Walks the marker segments up to the first start-of-scan so that EXIF thumbnails (which
    carry their own end marker) do not hide a truncated main image.
    """
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:
            return data.find(b"\xff\xd9", pos) != -1
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    return False


def _is_complete(data: bytes, fmt: str) -> bool:
    if fmt in ("JPEG", "MPO"):
        return _jpeg_is_complete(data)
    if fmt == "PNG":
        return data.rfind(b"IEND") != -1
    if fmt == "WEBP":
        return len(data) >= 12 and struct.unpack("<I", data[4:8])[0] + 8 <= len(data)
    return True


def _u8(img: object) -> npt.NDArray[np.uint8]:
    """View an OpenCV result as the uint8 array it is (no copy); OpenCV's stubs type results loosely."""
    return np.asarray(img, dtype=np.uint8)


def _orient(img: npt.NDArray[np.uint8], orientation: int) -> npt.NDArray[np.uint8]:
    """Apply an EXIF orientation (1-8) so the image is upright."""
    if orientation in (5, 6, 7, 8):
        img = _u8(cv2.transpose(img))  # 5: transpose; 6, 7, 8 derive from it
        orientation = {5: 1, 6: 2, 7: 3, 8: 4}[orientation]
    if orientation == 2:
        return _u8(cv2.flip(img, 1))
    if orientation == 3:
        return _u8(cv2.rotate(img, cv2.ROTATE_180))
    if orientation == 4:
        return _u8(cv2.flip(img, 0))
    return img


def _to_bgr8(decoded: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Convert any decoded layout (grey, grey+alpha, BGR, BGRA; 8 or 16 bit) to BGR uint8."""
    if decoded.dtype == np.uint16:
        img = _u8(decoded >> 8)
    elif decoded.dtype == np.uint8:
        img = decoded
    else:
        raise ImageError(f"unsupported pixel type {decoded.dtype}")
    if img.ndim == 2:
        return _u8(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    channels = img.shape[2]
    if channels == 3:
        return img
    if channels in (2, 4):
        colour = img[..., :-1] if channels == 4 else np.repeat(img[..., :1], 3, axis=2)
        alpha = img[..., -1:].astype(np.float32) / 255
        # transparent areas shown over white, as image viewers do
        return _u8(colour * alpha + 255 * (1 - alpha))
    if channels == 1:
        return _u8(cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2BGR))
    raise ImageError(f"unsupported channel count {channels}")


def _reduction(fmt: str, long_side: int, target: int | None) -> int:
    """Largest JPEG DCT reduction (1, 2, 4, 8) that keeps the long side at least ``target``."""
    if target is None or fmt not in ("JPEG", "MPO"):
        return 1
    for factor in (8, 4, 2):
        if long_side // factor >= target:
            return factor
    return 1


def decode_image(data: bytes, *, target: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode an encoded image into upright BGR pixels.

    Args:
        data: the encoded file (JPEG, PNG, WebP or BMP).
        target: if given, JPEGs may be decoded at reduced scale as long as the long side of the
            result stays at least ``target`` pixels (the detector's input size).
        max_pixels: refuse images with more pixels than this (decompression bombs).

    Raises:
        ImageError: empty, truncated, corrupt, unsupported or oversized input.
    """
    if not data:
        raise ImageError("empty file")
    try:
        with Image.open(io.BytesIO(data)) as header:
            fmt = header.format or "unknown"
            width, height = header.size
            # Not header.getexif(): PngImageFile's override decodes every pixel when no eXIf chunk
            # precedes IDAT, i.e. before the pixel limit below. The base method reads only the header.
            orientation = (
                Image.Image.getexif(header).get(EXIF_ORIENTATION, 1) if fmt in ("JPEG", "MPO", "PNG", "WEBP") else 1
            )
    except (UnidentifiedImageError, ImportError):
        # ImportError: a plugin hook some libraries install on Image.open (ultralytics retries unknown files
        # with a HEIF plugin) fails when that plugin is absent; either way the bytes are not a usable image.
        raise ImageError("not an image, or an unsupported image format") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image too large: {exc}") from None
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        # Pillow's WebP plugin refuses any truncated file at open, before _is_complete is reached.
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and not _is_complete(data, "WEBP"):
            raise ImageError("truncated WEBP file") from None
        raise ImageError(f"corrupt image header: {exc}") from None
    if fmt not in SUPPORTED_FORMATS:
        raise ImageError(f"unsupported image format {fmt}; use JPEG, PNG, WebP or BMP")
    if width < 1 or height < 1:
        raise ImageError(f"image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageError(f"image too large: {width}x{height} px is over the limit of {max_pixels:,} px")
    if not _is_complete(data, fmt):
        raise ImageError(f"truncated {fmt} file")
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1

    factor = _reduction(fmt, max(width, height), target)
    flags = (_REDUCED_FLAGS[factor] if fmt in ("JPEG", "MPO") else cv2.IMREAD_UNCHANGED) | cv2.IMREAD_IGNORE_ORIENTATION
    buf = np.frombuffer(data, np.uint8)
    pixels = cv2.imdecode(buf, flags)
    if pixels is None or pixels.size == 0:
        raise ImageError(f"corrupt {fmt} data: the image could not be decoded")
    pixels = _orient(_to_bgr8(pixels), orientation)
    if orientation >= 5:
        width, height = height, width
    return DecodedImage(np.ascontiguousarray(pixels), width, height, fmt)


def read_bytes(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a file's bytes, refusing files over ``max_bytes`` before reading them."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageError(f"file too large: {size:,} bytes is over the limit of {max_bytes:,}")
    return path.read_bytes()


def read_image(
    path: str | Path,
    *,
    target: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> DecodedImage:
    """Read and decode an image file; see `decode_image`. Files over ``max_bytes`` are refused unread."""
    return decode_image(read_bytes(path, max_bytes), target=target, max_pixels=max_pixels)
