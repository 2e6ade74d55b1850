"""Faces and licence plates made unrecognisable in evidence pictures.

No face or plate model ships with GridWatch, and the OpenCV 5 wheels it runs on carry neither Haar cascade
files nor the cascade classifier. So privacy rests on the detector's own boxes, read conservatively: the head
region of every ``person`` box (top of the box, widened, a little above it) and the lower part of every
vehicle box, where plates sit on the front and back. Each region is pixelated into coarse blocks (the block
average is all that is left, so the original cannot be recovered at evidence resolution), then smoothed so
block edges do not hint at shapes.

Without detections there is nothing to go by, and the whole picture is pixelated: an evidence picture is
never shown with its people and vehicles unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vision.detections import Detections

Image = npt.NDArray[np.uint8]

VEHICLES = frozenset({"car", "truck", "bus", "motorcycle"})


@dataclass(frozen=True)
class PrivacyRule:
    """Which part of a box is private, as fractions of its width and height.

    Attributes:
        top, bottom: the band's vertical extent from the top of the box (0 = top edge, 1 = bottom edge);
            ``top`` may be negative to reach above the box (hair, a raised head).
        widen: extra width on each side, as a fraction of the box width.
    """

    top: float
    bottom: float
    widen: float


HEAD = PrivacyRule(top=-0.05, bottom=0.28, widen=0.10)  # a standing person's head is the top ~1/7-1/5
PLATE = PrivacyRule(top=0.50, bottom=1.04, widen=0.02)  # bumper-level plates front and back, low on the box
RULES: dict[str, PrivacyRule] = {"person": HEAD, **dict.fromkeys(VEHICLES, PLATE)}
MIN_BLOCKS = 6  # a region is reduced to at most this many blocks along its shorter side
MIN_BLOCK_PX = 8


def private_regions(detections: Detections, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Pixel boxes (x1, y1, x2, y2), clipped to the image, that must be blurred for ``detections``."""
    regions = []
    for box, class_id in zip(detections.xyxy, detections.class_id, strict=True):
        rule = RULES.get(detections.names[class_id]) if detections.names else None
        if rule is None:
            continue
        x1, y1, x2, y2 = (float(v) for v in box)
        w, h = x2 - x1, y2 - y1
        rx1 = int(np.floor(max(0.0, x1 - rule.widen * w)))
        rx2 = int(np.ceil(min(float(width), x2 + rule.widen * w)))
        ry1 = int(np.floor(max(0.0, y1 + rule.top * h)))
        ry2 = int(np.ceil(min(float(height), y1 + rule.bottom * h)))
        if rx2 > rx1 and ry2 > ry1:
            regions.append((rx1, ry1, rx2, ry2))
    return regions


def pixelate(region: Image) -> Image:
    """Coarse blocks (at most ``MIN_BLOCKS`` along the short side, at least ``MIN_BLOCK_PX`` pixels), smoothed."""
    h, w = region.shape[:2]
    block = max(MIN_BLOCK_PX, min(h, w) // MIN_BLOCKS)
    small = cv2.resize(region, (max(1, w // block), max(1, h // block)), interpolation=cv2.INTER_AREA)
    blocks = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    k = max(3, (block // 2) | 1)  # odd kernel, about half a block
    return np.asarray(cv2.GaussianBlur(blocks, (k, k), 0), np.uint8)


def blur_private(image_bgr: Image, detections: Detections | None) -> Image:
    """A copy of ``image_bgr`` with every head and plate region of ``detections`` pixelated.

    ``detections`` must be in this image's pixel coordinates (run the detector on the picture shown). None
    means nothing is known about the picture, and all of it is pixelated.
    """
    out = image_bgr.copy()
    height, width = out.shape[:2]
    if detections is None:
        return pixelate(out)
    for x1, y1, x2, y2 in private_regions(detections, width, height):
        out[y1:y2, x1:x2] = pixelate(out[y1:y2, x1:x2])
    return out
