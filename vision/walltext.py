"""The text finder on camera streams: a camera's wall zones read at a low rate, the result kept in between.

Posters do not move, and reading a frame's text costs far more than detecting on it, so each camera's walls are
read once every ``every_s`` seconds (default five minutes); the small ads found are handed back for every frame
until the next reading, so the rules' persistence (k of n frames) sees them like any other static thing. Only
the bounding rectangle of the camera's ``wall`` zones is read, and only blocks whose centre lies in a wall zone
count: a camera without wall zones is never read.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vision.imageio import DecodedImage
from vision.textfinder import TextBlock, TextFinder
from vision.zones import PolygonZone

READ_EVERY_S = 300.0


@dataclass(frozen=True)
class _Reading:
    t: float  # when the walls were read, seconds (the frame's clock)
    blocks: tuple[TextBlock, ...]  # small ads found, frame pixels


class WallText:
    """Small ads on each camera's walls, read at most once every ``every_s`` seconds per camera.

    Args:
        finder: the text finder (its reader is shared, one reading at a time).
        every_s: seconds between two readings of one camera.
    """

    def __init__(self, finder: TextFinder, every_s: float = READ_EVERY_S) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s must be positive, got {every_s}")
        self.finder, self.every_s = finder, every_s
        self._readings: dict[str, _Reading] = {}
        self._lock = threading.Lock()

    def ads(
        self, camera_id: str, image: npt.NDArray[np.uint8], zones: Sequence[PolygonZone], t: float
    ) -> tuple[TextBlock, ...]:
        """The small ads on the walls of ``camera_id``'s (H, W, 3) BGR frame taken at ``t`` seconds: read now
        when the last reading is ``every_s`` old (or the clock went back), else the last reading's."""
        walls = [z for z in zones if z.kind == "wall"]
        if not walls:
            return ()
        with self._lock:
            last = self._readings.get(camera_id)
        if last is not None and 0 <= t - last.t < self.every_s:
            return last.blocks
        blocks = self._read(image, walls)
        with self._lock:
            self._readings[camera_id] = _Reading(t, blocks)
        return blocks

    def _read(self, image: npt.NDArray[np.uint8], walls: Sequence[PolygonZone]) -> tuple[TextBlock, ...]:
        h, w = image.shape[:2]
        corners = np.concatenate([z.polygon for z in walls]) * np.array([w, h], np.float32)
        x1, y1 = np.floor(corners.min(axis=0)).astype(int)
        x2, y2 = np.ceil(corners.max(axis=0)).astype(int)
        crop = np.ascontiguousarray(image[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)])
        if crop.size == 0:
            return ()
        found = self.finder.find(DecodedImage(crop, crop.shape[1], crop.shape[0], "frame"), frame_height=h)
        ox, oy = float(max(0, x1)), float(max(0, y1))
        ads = []
        for block in found:
            if not block.verdict.small_ad:
                continue
            bx1, by1, bx2, by2 = block.xyxy
            box = (bx1 + ox, by1 + oy, bx2 + ox, by2 + oy)
            centre = np.array([[(box[0] + box[2]) / 2 / w, (box[1] + box[3]) / 2 / h]], np.float32)
            if any(bool(z.contains(centre)[0]) for z in walls):
                ads.append(TextBlock(box, block.lines, block.phones, block.verdict))
        return tuple(ads)
