"""vision.imageio: decoding real photos in every supported layout, EXIF orientation, reduced
JPEG decoding, and refusal of empty, truncated, corrupt, unsupported and oversized input.

Every variant is built at test time from the real photos in samples/; nothing binary is committed.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import ExifTags, Image, ImageFile, ImageOps, PngImagePlugin

from domain.errors import ImageError
from vision.imageio import DEFAULT_MAX_PIXELS, EXIF_ORIENTATION, DecodedImage, decode_image, read_image

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SAMPLE = SAMPLES / "spb_facade_street_cars.jpg"  # 560x315
SAMPLE_FILES = sorted(SAMPLES.glob("*.jpg"))

BGR = npt.NDArray[np.uint8]


# --------------------------------------------------------------------------- helpers


def encode_pil(img: Image.Image, fmt: str, **params: Any) -> bytes:
    """Encode a Pillow image in memory."""
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def encode_cv(img: npt.NDArray[Any], ext: str, params: list[int] | None = None) -> bytes:
    """Encode an OpenCV (BGR / BGRA / grey, 8 or 16 bit) array in memory."""
    ok, buf = cv2.imencode(ext, img, params or [])
    assert ok
    return bytes(buf.tobytes())


def mad(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    """Mean absolute difference of two equally shaped arrays."""
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int32) - b.astype(np.int32)).mean())


def pil_to_bgr(img: Image.Image) -> BGR:
    """Pillow image (any mode) as BGR uint8, the layout decode_image returns."""
    rgb: BGR = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[..., ::-1])


def exif_with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return exif


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def crafted_png(width: int, height: int) -> bytes:
    """A well-formed 8-bit grey PNG header claiming width x height, with a tiny (short) IDAT.

    Only the header is real: decoding the pixels would need width*height bytes, so a decoder that
    touched them would either allocate huge memory or fail on the short data.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def exif_app1_with_thumbnail(orientation: int, thumbnail: bytes) -> bytes:
    """An APP1 Exif segment: IFD0 with Orientation, IFD1 pointing at an embedded JPEG thumbnail."""
    ifd0 = 8
    ifd1 = ifd0 + 2 + 12 + 4
    thumb_at = ifd1 + 2 + 2 * 12 + 4
    tiff = b"MM\x00\x2a" + struct.pack(">I", ifd0)
    tiff += struct.pack(">H", 1) + struct.pack(">HHIHH", EXIF_ORIENTATION, 3, 1, orientation, 0)
    tiff += struct.pack(">I", ifd1)
    tiff += struct.pack(">H", 2)
    tiff += struct.pack(">HHII", 0x0201, 4, 1, thumb_at)  # JPEGInterchangeFormat
    tiff += struct.pack(">HHII", 0x0202, 4, 1, len(thumbnail))  # JPEGInterchangeFormatLength
    tiff += struct.pack(">I", 0)
    assert len(tiff) == thumb_at
    payload = b"Exif\x00\x00" + tiff + thumbnail
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sample_rgb() -> Image.Image:
    with Image.open(SAMPLE) as img:
        return img.convert("RGB")


@pytest.fixture(scope="module")
def sample_bgr(sample_rgb: Image.Image) -> BGR:
    """The sample's pixels as Pillow decodes them, in BGR: the reference for lossless formats."""
    return pil_to_bgr(sample_rgb)


@pytest.fixture(scope="module")
def sample_jpeg(sample_bgr: BGR) -> bytes:
    return encode_cv(sample_bgr, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 92])


@pytest.fixture(scope="module")
def sample_png(sample_bgr: BGR) -> bytes:
    return encode_cv(sample_bgr, ".png")


@pytest.fixture(scope="module")
def large_bgr(sample_bgr: BGR) -> BGR:
    big: BGR = np.asarray(cv2.resize(sample_bgr, (4000, 2250), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    return big


@pytest.fixture(scope="module")
def large_jpeg(large_bgr: BGR) -> bytes:
    return encode_cv(large_bgr, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 85])


# --------------------------------------------------------------------------- decoding


def assert_bgr(decoded: DecodedImage, width: int, height: int, fmt: str) -> None:
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.ndim == 3
    assert decoded.pixels.shape[2] == 3
    assert decoded.pixels.flags["C_CONTIGUOUS"]
    assert (decoded.width, decoded.height) == (width, height)
    assert decoded.format == fmt


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_real_samples_decode_like_pillow(path: Path) -> None:
    decoded = read_image(path)
    with Image.open(path) as img:
        expected = pil_to_bgr(ImageOps.exif_transpose(img))
    assert_bgr(decoded, expected.shape[1], expected.shape[0], "JPEG")
    assert decoded.pixels.shape == expected.shape
    assert decoded.scale == (1.0, 1.0)
    assert mad(decoded.pixels, expected) < 1.5  # two libjpeg builds agree to rounding


@pytest.mark.parametrize(
    ("fmt", "params", "expected_fmt", "max_mad"),
    [
        ("JPEG", {"quality": 95}, "JPEG", 3.0),
        ("PNG", {}, "PNG", 0.0),
        ("WEBP", {"lossless": True}, "WEBP", 0.0),
        ("WEBP", {"quality": 90}, "WEBP", 6.0),
        ("BMP", {}, "BMP", 0.0),
    ],
    ids=["jpeg", "png", "webp-lossless", "webp-lossy", "bmp"],
)
def test_formats_decode_to_bgr(
    sample_rgb: Image.Image,
    sample_bgr: BGR,
    fmt: str,
    params: dict[str, Any],
    expected_fmt: str,
    max_mad: float,
) -> None:
    decoded = decode_image(encode_pil(sample_rgb, fmt, **params))
    assert_bgr(decoded, 560, 315, expected_fmt)
    assert decoded.pixels.shape == (315, 560, 3)
    assert mad(decoded.pixels, sample_bgr) <= max_mad
    # channel order is BGR, not RGB: swapping would move far more than the codec error
    assert mad(decoded.pixels[..., ::-1], sample_bgr) > max_mad + 5


def test_mpo_decodes_first_frame(sample_rgb: Image.Image, sample_bgr: BGR) -> None:
    mirrored = sample_rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    data = encode_pil(sample_rgb, "MPO", save_all=True, append_images=[mirrored], quality=95)
    decoded = decode_image(data)
    assert_bgr(decoded, 560, 315, "MPO")
    assert mad(decoded.pixels, sample_bgr) < 3


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_grayscale_becomes_three_equal_channels(sample_rgb: Image.Image, fmt: str) -> None:
    grey = sample_rgb.convert("L")
    decoded = decode_image(encode_pil(grey, fmt, quality=95))
    assert_bgr(decoded, 560, 315, fmt)
    pixels = decoded.pixels
    assert np.array_equal(pixels[..., 0], pixels[..., 1])
    assert np.array_equal(pixels[..., 1], pixels[..., 2])
    assert mad(pixels[..., 0], np.asarray(grey)) <= (0.0 if fmt == "PNG" else 2.0)


@pytest.mark.parametrize("mode", ["P", "1"])
def test_palette_and_bilevel_png(sample_rgb: Image.Image, mode: str) -> None:
    img = sample_rgb.convert(mode)
    decoded = decode_image(encode_pil(img, "PNG"))
    assert_bgr(decoded, 560, 315, "PNG")
    assert np.array_equal(decoded.pixels, pil_to_bgr(img))  # bilevel: 0/1 expanded to 0/255


def alpha_mask(width: int, height: int) -> npt.NDArray[np.uint8]:
    """Left third transparent, middle third half transparent, right third opaque."""
    alpha = np.full((height, width), 255, np.uint8)
    alpha[:, : width // 3] = 0
    alpha[:, width // 3 : 2 * width // 3] = 128
    return alpha


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_rgba_is_composited_over_white(sample_rgb: Image.Image, sample_bgr: BGR, fmt: str) -> None:
    rgba = sample_rgb.copy()
    rgba.putalpha(Image.fromarray(alpha_mask(560, 315)))
    decoded = decode_image(encode_pil(rgba, fmt, lossless=True))
    assert_bgr(decoded, 560, 315, fmt)
    px = decoded.pixels
    third = 560 // 3
    assert np.all(px[:, :third] == 255)
    assert np.array_equal(px[:, 2 * third + 1 :], sample_bgr[:, 2 * third + 1 :])
    half = sample_bgr[:, third : 2 * third].astype(np.float32) * (128 / 255) + 255 * (127 / 255)
    assert np.abs(px[:, third : 2 * third] - half).max() <= 1.0


def test_grey_alpha_png(sample_rgb: Image.Image) -> None:
    grey = sample_rgb.convert("L")
    la = Image.merge("LA", (grey, Image.fromarray(alpha_mask(560, 315))))
    data = encode_pil(la, "PNG")
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode == "LA"
    decoded = decode_image(data)
    assert_bgr(decoded, 560, 315, "PNG")
    px = decoded.pixels
    third = 560 // 3
    assert np.all(px[:, :third] == 255)
    expected = np.asarray(grey)[:, 2 * third + 1 :]
    for channel in range(3):
        assert np.array_equal(px[:, 2 * third + 1 :, channel], expected)


@pytest.mark.parametrize(
    ("conversion", "channels"),
    [(cv2.COLOR_BGR2GRAY, 1), (None, 3), (cv2.COLOR_BGR2BGRA, 4)],  # BGRA: opaque alpha
    ids=["grey16", "bgr16", "bgra16"],
)
def test_16_bit_png_matches_8_bit(sample_bgr: BGR, conversion: int | None, channels: int) -> None:
    base: BGR = sample_bgr if conversion is None else np.asarray(cv2.cvtColor(sample_bgr, conversion), np.uint8)
    assert (base.shape[2] if base.ndim == 3 else 1) == channels
    noise = np.random.default_rng(0).integers(0, 256, base.shape, dtype=np.uint16)  # low byte only
    wide = base.astype(np.uint16) * 256 + noise
    data = encode_cv(wide, ".png")
    assert data[24] == 16  # IHDR bit depth
    eight_bit = decode_image(encode_cv(base, ".png")).pixels
    decoded = decode_image(data)
    assert_bgr(decoded, 560, 315, "PNG")
    assert np.abs(decoded.pixels.astype(np.int16) - eight_bit).max() <= 1
    if channels == 1:
        assert np.array_equal(decoded.pixels[..., 0], base)


def test_cmyk_jpeg_colours_match_rgb(sample_rgb: Image.Image, sample_bgr: BGR) -> None:
    cmyk = sample_rgb.convert("CMYK")
    data = encode_pil(cmyk, "JPEG", quality=95)
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode == "CMYK"
    decoded = decode_image(data)
    assert_bgr(decoded, 560, 315, "JPEG")
    assert mad(decoded.pixels, sample_bgr) < 4
    # an inverted CMYK interpretation would give a photo negative
    assert mad(255 - decoded.pixels, sample_bgr) > 50


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("JPEG", {"quality": 100}), ("PNG", {}), ("BMP", {}), ("WEBP", {"lossless": True})],
)
def test_one_pixel_image_is_valid(fmt: str, params: dict[str, Any]) -> None:
    img = Image.new("RGB", (1, 1), (200, 40, 10))
    decoded = decode_image(encode_pil(img, fmt, **params))
    assert decoded.pixels.shape == (1, 1, 3)
    assert (decoded.width, decoded.height) == (1, 1)
    assert np.abs(decoded.pixels[0, 0].astype(int) - [10, 40, 200]).max() <= (0 if fmt != "JPEG" else 6)


# --------------------------------------------------------------------------- EXIF orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(
    sample_rgb: Image.Image, sample_bgr: BGR, orientation: int, tmp_path: Path
) -> None:
    path = tmp_path / f"orientation_{orientation}.jpg"
    sample_rgb.save(path, "JPEG", quality=95, exif=exif_with_orientation(orientation))
    with Image.open(path) as img:
        assert img.getexif()[EXIF_ORIENTATION] == orientation
        upright = pil_to_bgr(ImageOps.exif_transpose(img))
    decoded = read_image(path)
    swapped = orientation >= 5
    assert (decoded.width, decoded.height) == ((315, 560) if swapped else (560, 315))
    assert decoded.pixels.shape == upright.shape
    assert mad(decoded.pixels, upright) < 1.5
    if orientation != 1 and not swapped:
        # the check can fail: the stored (unrotated) pixels are far from the upright ones
        assert mad(sample_bgr, upright) > 20


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_invalid_exif_orientation_is_ignored(sample_rgb: Image.Image, sample_bgr: BGR, orientation: int) -> None:
    data = encode_pil(sample_rgb, "JPEG", quality=95, exif=exif_with_orientation(orientation))
    decoded = decode_image(data)
    assert (decoded.width, decoded.height) == (560, 315)
    assert mad(decoded.pixels, sample_bgr) < 3


@pytest.mark.parametrize(("fmt", "orientation"), [("PNG", 6), ("PNG", 3), ("WEBP", 8), ("WEBP", 2)])
def test_exif_orientation_in_png_and_webp(sample_rgb: Image.Image, fmt: str, orientation: int) -> None:
    data = encode_pil(sample_rgb, fmt, exif=exif_with_orientation(orientation), lossless=True)
    with Image.open(io.BytesIO(data)) as img:
        upright = pil_to_bgr(ImageOps.exif_transpose(img))
    decoded = decode_image(data)
    assert (decoded.width, decoded.height) == (upright.shape[1], upright.shape[0])
    assert np.array_equal(decoded.pixels, upright)


# --------------------------------------------------------------------------- reduced JPEG decoding


@pytest.mark.parametrize(
    ("target", "factor"),
    [(None, 1), (4000, 1), (3000, 1), (2000, 2), (1001, 2), (1000, 4), (640, 4), (500, 8), (1, 8)],
)
def test_reduced_jpeg_decoding(large_jpeg: bytes, large_bgr: BGR, target: int | None, factor: int) -> None:
    decoded = decode_image(large_jpeg, target=target)
    h, w = math.ceil(2250 / factor), math.ceil(4000 / factor)
    assert_bgr(decoded, 4000, 2250, "JPEG")
    assert decoded.pixels.shape == (h, w, 3)
    if target is not None:
        assert max(h, w) >= target
    sx, sy = decoded.scale
    assert sx == pytest.approx(factor, rel=0.01)
    assert sy == pytest.approx(factor, rel=0.01)
    # the reduced pixels show the same picture as the full image shrunk
    expected = cv2.resize(large_bgr, (w, h), interpolation=cv2.INTER_AREA)
    assert mad(decoded.pixels, expected) < 4


def test_reduced_decoding_target_640(large_jpeg: bytes) -> None:
    decoded = decode_image(large_jpeg, target=640)
    long_side = max(decoded.pixels.shape[:2])
    assert 640 <= long_side < 4000
    assert (decoded.width, decoded.height) == (4000, 2250)
    # scale maps a decoded pixel coordinate back onto the full photo
    sx, sy = decoded.scale
    last_x, last_y = decoded.pixels.shape[1], decoded.pixels.shape[0]
    assert last_x * sx == pytest.approx(4000)
    assert last_y * sy == pytest.approx(2250)


def test_reduced_decoding_with_rotation(sample_rgb: Image.Image) -> None:
    big = sample_rgb.resize((4000, 2250), Image.Resampling.BILINEAR)
    data = encode_pil(big, "JPEG", quality=85, exif=exif_with_orientation(6))
    decoded = decode_image(data, target=640)
    assert (decoded.width, decoded.height) == (2250, 4000)
    assert decoded.pixels.shape == (1000, 563, 3)
    assert decoded.scale == pytest.approx((2250 / 563, 4.0))
    with Image.open(io.BytesIO(data)) as img:
        upright = pil_to_bgr(ImageOps.exif_transpose(img))
    expected = cv2.resize(upright, (563, 1000), interpolation=cv2.INTER_AREA)
    assert mad(decoded.pixels, expected) < 4


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "WEBP"])
def test_non_jpeg_ignores_target(sample_rgb: Image.Image, fmt: str) -> None:
    data = encode_pil(sample_rgb, fmt, lossless=True)
    decoded = decode_image(data, target=64)
    assert decoded.pixels.shape == (315, 560, 3)
    assert decoded.scale == (1.0, 1.0)


# --------------------------------------------------------------------------- bad input


def test_empty_bytes() -> None:
    with pytest.raises(ImageError, match="empty file"):
        decode_image(b"")


def test_text_renamed_to_jpg(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_text("hello\n")
    with pytest.raises(ImageError, match="not an image"):
        read_image(path)


@pytest.mark.parametrize(
    ("fmt", "cut", "message"),
    [
        ("JPEG", 0.5, "truncated JPEG file"),
        ("JPEG", -2, "truncated JPEG file"),  # only the end-of-image marker missing
        ("PNG", 0.5, "truncated PNG file"),
        ("PNG", -12, "truncated PNG file"),  # only the IEND chunk missing
        ("WEBP", 0.5, "truncated WEBP file"),
        ("WEBP", -1, "truncated WEBP file"),
    ],
)
def test_truncated_files(sample_rgb: Image.Image, fmt: str, cut: float, message: str) -> None:
    data = encode_pil(sample_rgb, fmt, quality=90)
    end = int(len(data) * cut) if 0 < cut < 1 else len(data) + int(cut)
    decode_image(data)  # the whole file is fine
    with pytest.raises(ImageError, match=message):
        decode_image(data[:end])


def test_truncated_jpeg_with_exif_thumbnail(sample_rgb: Image.Image, sample_jpeg: bytes) -> None:
    thumbnail = encode_pil(sample_rgb.resize((80, 45)), "JPEG", quality=80)
    assert thumbnail.endswith(b"\xff\xd9")
    full = sample_jpeg[:2] + exif_app1_with_thumbnail(6, thumbnail) + sample_jpeg[2:]

    # the whole file is valid: Pillow sees the thumbnail, and the hand-made EXIF rotates the photo
    with Image.open(io.BytesIO(full)) as img:
        ifd1 = img.getexif().get_ifd(ExifTags.IFD.IFD1)
        assert ifd1[0x0202] == len(thumbnail)
    decoded = decode_image(full)
    assert (decoded.width, decoded.height) == (315, 560)
    assert decoded.pixels.shape == (560, 315, 3)

    truncated = full[: len(full) - len(sample_jpeg) // 2]
    assert b"\xff\xd9" in truncated  # the thumbnail's end marker survives the cut
    with pytest.raises(ImageError, match="truncated JPEG file"):
        decode_image(truncated)


@pytest.mark.parametrize("prefix", [b"\xff\xd8", b"\xff\xd8\xff"])
@pytest.mark.parametrize("seed", range(4))
def test_garbage_after_jpeg_soi(prefix: bytes, seed: int) -> None:
    garbage = np.random.default_rng(seed).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(ImageError, match=r"not an image|corrupt image header"):
        decode_image(prefix + garbage)


def test_corrupt_png_data(sample_png: bytes) -> None:
    data = bytearray(sample_png)
    data[data.find(b"IDAT") + 200] ^= 0xFF  # complete file, damaged compressed stream
    with pytest.raises(ImageError, match="corrupt PNG data"):
        decode_image(bytes(data))


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "ICO", "PPM"])
def test_unsupported_formats(sample_rgb: Image.Image, fmt: str) -> None:
    data = encode_pil(sample_rgb.resize((64, 36)), fmt)
    with pytest.raises(ImageError, match=f"unsupported image format {fmt}"):
        decode_image(data)


def forbid_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any pixel decoding, by Pillow or OpenCV, fail the test."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(cv2, "imdecode", forbidden)
    monkeypatch.setattr(ImageFile.ImageFile, "load", forbidden)
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", forbidden)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((30000, 30000), "image too large"),  # Pillow's own bomb limit
        ((12000, 12000), "12000x12000 px is over the limit of 120,000,000 px"),  # under Pillow's, over ours
    ],
)
def test_decompression_bomb_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], message: str
) -> None:
    data = crafted_png(*size)
    assert len(data) < 200
    assert size[0] * size[1] > DEFAULT_MAX_PIXELS
    forbid_pixel_decoding(monkeypatch)
    with pytest.raises(ImageError, match=message):
        decode_image(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP"])
def test_custom_max_pixels(monkeypatch: pytest.MonkeyPatch, sample_rgb: Image.Image, fmt: str) -> None:
    data = encode_pil(sample_rgb, fmt)
    assert decode_image(data, max_pixels=560 * 315).pixels.shape == (315, 560, 3)  # the limit itself is allowed
    forbid_pixel_decoding(monkeypatch)
    with pytest.raises(ImageError, match=r"560x315 px is over the limit of 176,399 px"):
        decode_image(data, max_pixels=560 * 315 - 1)


# --------------------------------------------------------------------------- read_image


def test_read_image_reads_a_file(tmp_path: Path, large_jpeg: bytes) -> None:
    path = tmp_path / "large.jpg"
    path.write_bytes(large_jpeg)
    for where in (path, str(path)):
        decoded = read_image(where, target=640)
        assert (decoded.width, decoded.height) == (4000, 2250)
        assert decoded.pixels.shape == (563, 1000, 3)
    with pytest.raises(ImageError, match="over the limit"):
        read_image(path, max_pixels=1_000_000)


def test_read_image_max_bytes_refuses_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_jpeg: bytes
) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(sample_jpeg)
    size = len(sample_jpeg)
    assert read_image(path, max_bytes=size).pixels.shape == (315, 560, 3)  # exactly at the limit

    def no_reading(self: Path) -> bytes:
        raise AssertionError("file was read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(ImageError, match=f"file too large: {size:,} bytes is over the limit of {size - 1:,}"):
        read_image(path, max_bytes=size - 1)
