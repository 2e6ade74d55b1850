"""Evidence pictures of a sighting: the original file as it came, the annotated frame and the crop around the box.

Drawing works on copies of the decoded photo; boxes are normalised xyxy in [0, 1] of the upright photo, as the
rules report them. Annotated frames and crops are capped in size: they are for a reviewer's screen, and the
original file keeps every pixel.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from domain.taxonomy import EVENT_CODES, Violation
from service.store.evidence import EvidenceInput
from service.store.models import EvidenceKind
from vision.imageio import DecodedImage
from vision.zones import PolygonZone, draw_zones

Image = npt.NDArray[np.uint8]
Box = tuple[float, float, float, float]

MAX_SIDE = 1920
JPEG_QUALITY = 90
HIGHLIGHT = (0, 0, 255)  # BGR red: the sighting this picture is evidence of
OTHER = (0, 200, 255)  # amber: the photo's other sightings, for context
ZONE = (255, 160, 0)  # blue
_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp"}


# Fonts with Chinese glyphs, first found wins (Debian fonts-noto-cjk, fonts-wqy-microhei); GRIDWATCH_LABEL_FONT
# names another. Without one, labels fall back to ASCII (the violation's code name) drawn by OpenCV.
CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)


@dataclass(frozen=True)
class Mark:
    """A box to draw: normalised xyxy and the text of its label (Chinese where a CJK font is installed)."""

    bbox: Box
    text: str


@functools.cache
def label_font_path() -> Path | None:
    """The font labels are drawn with, or None when no font with Chinese glyphs is installed."""
    chosen = os.environ.get("GRIDWATCH_LABEL_FONT")
    candidates = [Path(chosen)] if chosen else list(CJK_FONTS)
    return next((path for path in candidates if path.is_file()), None)


def violation_label(violation: str, detail: str, detail_zh: str | None = None) -> str:
    """A box's label: the national event name (``垃圾站(箱)满溢 0.87``; ``detail_zh`` replaces ``detail`` there), or
    the code name and ``detail`` (ASCII) without a CJK font."""
    if label_font_path() is None:
        return f"{violation} {detail}"
    return f"{EVENT_CODES[Violation(violation)].name} {detail_zh or detail}"


def fit(image: Image, max_side: int = MAX_SIDE) -> Image:
    """``image`` shrunk (area interpolation) so that its long side is at most ``max_side``; the same array if it is."""
    h, w = image.shape[:2]
    factor = max_side / max(h, w)
    if factor >= 1.0:
        return image
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def pixel_box(bbox: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """A normalised box in whole pixels of a ``width`` x ``height`` image, clipped to it."""
    x1, y1, x2, y2 = (min(max(v, 0.0), 1.0) for v in bbox)
    return round(x1 * (width - 1)), round(y1 * (height - 1)), round(x2 * (width - 1)), round(y2 * (height - 1))


def _label(image: Image, text: str, x: int, y: int, color: tuple[int, int, int], scale: float, thick: int) -> None:
    """Text on a filled tag above (x, y), or below it when there is no room above; kept inside the image.
    ASCII text is drawn by OpenCV, other text (Chinese) with Pillow in :func:`label_font_path`'s font."""
    font_path = None if text.isascii() else label_font_path()
    if font_path is None:
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    else:
        font = ImageFont.truetype(str(font_path), max(12, round(28 * scale)))
        left, top_, right, bottom = (round(v) for v in font.getbbox(text))
        tw, th, base = right - left, bottom - top_, 0
    x = max(0, min(x, image.shape[1] - tw - 4))
    top = y - th - base - 4 if y - th - base - 4 >= 0 else y
    cv2.rectangle(image, (x, top), (x + tw + 4, top + th + base + 4), color, cv2.FILLED)
    if font_path is None:
        cv2.putText(image, text, (x + 2, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick, cv2.LINE_AA)
        return
    tag = PILImage.fromarray(np.ascontiguousarray(image[top : top + th + 4, x : x + tw + 4, ::-1]))
    ImageDraw.Draw(tag).text((2 - left, 2 - top_), text, font=font, fill=(0, 0, 0))
    image[top : top + th + 4, x : x + tw + 4] = np.asarray(tag)[:, :, ::-1]


def annotate(
    pixels: Image,
    marks: Sequence[Mark],
    *,
    highlight: int | None = None,
    zones: Sequence[PolygonZone] = (),
    max_side: int = MAX_SIDE,
) -> Image:
    """A copy of the BGR photo, at most ``max_side`` on its long side, with ``zones`` outlined and ``marks`` boxed
    and labelled; mark ``highlight`` in red and drawn last (on top), the others in amber."""
    out = fit(pixels, max_side)
    out = draw_zones(out, zones, color=ZONE) if zones else out.copy()
    h, w = out.shape[:2]
    # line width and text size follow the picture's size so labels stay legible on both thumbnails and 4K frames
    thick = max(1, round(max(h, w) / 640))
    scale = max(0.4, max(h, w) / 1600)
    order = [i for i in range(len(marks)) if i != highlight] + ([highlight] if highlight is not None else [])
    for i in order:
        color = HIGHLIGHT if i == highlight else OTHER
        x1, y1, x2, y2 = pixel_box(marks[i].bbox, w, h)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick + (1 if i == highlight else 0))
        _label(out, marks[i].text, x1, y1, color, scale, thick)
    return out


def crop(pixels: Image, bbox: Box, *, margin: float = 0.25, min_side: int = 64, max_side: int = MAX_SIDE) -> Image:
    """The part of the photo around a normalised box: the box grown by ``margin`` of its size on every side and to
    at least ``min_side`` pixels, clipped to the photo, then shrunk to at most ``max_side``."""
    h, w = pixels.shape[:2]
    x1, y1, x2, y2 = pixel_box(bbox, w, h)
    grow_x = max((x2 - x1) * margin, (min_side - (x2 - x1)) / 2)
    grow_y = max((y2 - y1) * margin, (min_side - (y2 - y1)) / 2)
    left, right = max(0, int(x1 - grow_x)), min(w, int(np.ceil(x2 + grow_x)) + 1)
    top, bottom = max(0, int(y1 - grow_y)), min(h, int(np.ceil(y2 + grow_y)) + 1)
    return fit(np.ascontiguousarray(pixels[top:bottom, left:right]), max_side)


def encode_jpeg(image: Image, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of a BGR image."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"JPEG encoding failed for an image of shape {image.shape}")
    return bytes(buf)


def original_extension(image_format: str) -> str:
    """File extension for an original of the format Pillow names (JPEG, PNG, ...)."""
    return _EXTENSIONS.get(image_format, "bin")


def sighting_evidence(
    original: bytes, image: DecodedImage, marks: Sequence[Mark], index: int, zones: Sequence[PolygonZone] = ()
) -> list[EvidenceInput]:
    """The three pictures kept for sighting ``index`` of a photo: the original file, the annotated frame (this
    sighting highlighted among the photo's others) and the crop around its box.

    ``image`` must be decoded at full size (no reduced decoding) for the crop to keep every pixel.
    """
    return [
        EvidenceInput(EvidenceKind.ORIGINAL, original, original_extension(image.format)),
        EvidenceInput(
            EvidenceKind.ANNOTATED,
            encode_jpeg(annotate(image.pixels, marks, highlight=index, zones=zones)),
            "jpg",
        ),
        EvidenceInput(EvidenceKind.CROP, encode_jpeg(crop(image.pixels, marks[index].bbox)), "jpg"),
    ]
