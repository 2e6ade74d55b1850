"""Tiled detection: the full frame plus overlapping tiles, merged into one answer.

A 12-megapixel patrol photo letterboxed to a 512 px input shrinks an e-bike across the street or a sticker on a
pole to a few pixels. Tiling runs the detector on the whole photo and on a grid of overlapping windows, each
letterboxed to the input on its own, so small things are seen at up to ``grid - (grid - 1) * overlap`` times the
full frame's resolution. The merge (:func:`merge_tiles`) joins boxes cut by an inner tile edge with their other
half in the neighbouring tile, drops a tile's cut box that the full frame saw whole, and suppresses duplicates
per label (the same thing seen in the full frame and in one or more tiles).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from vision.boxes import box_cover, box_iou
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import DecodedImage

TileMode = Literal["auto", "on", "off"]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]

EDGE_PX = 2.0  # a box within this many tile pixels of an inner tile edge was cut by it


@dataclass(frozen=True)
class TileSettings:
    """When and how a photo is tiled.

    Attributes:
        mode: ``auto`` tiles a photo whose long side is at least ``min_ratio`` times the model input, ``on``
            tiles every photo (small ones are then magnified), ``off`` never.
        grid: tiles along the photo's long side (as many along the short side as cover it with the overlap).
        overlap: fraction of a tile's side shared with its neighbour, in [0, 0.5).
        min_ratio: ``auto`` threshold, photo long side / model input side.
        iou: two boxes of one label overlapping at least this much are one thing (the higher score is kept).
        cover: ... or when this fraction of the smaller one lies inside the larger.
        small_side: a tile adds only boxes whose long side would measure less than this in the full frame's
            input (model pixels, default 64); ``None``: every box. Tiles are for what the full frame shows too
            small; a tile's view of a large thing (a bin cut in two, a pile seen as several heaps) adds only false
            boxes.
    """

    mode: TileMode = "auto"
    grid: int = 2
    overlap: float = 0.2
    min_ratio: float = 2.0
    iou: float = 0.5
    cover: float = 0.8
    small_side: float | None = 64.0  # chosen on val (docs/tiling.md): tiles' small-box recall, little AP lost

    def __post_init__(self) -> None:
        if self.grid < 2 or not 0.0 <= self.overlap < 0.5 or self.min_ratio <= 0:
            raise ValueError(f"tiles need grid >= 2, overlap in [0, 0.5), min_ratio > 0; got {self}")
        if self.small_side is not None and self.small_side <= 0:
            raise ValueError(f"small_side must be positive or None, got {self.small_side}")

    @property
    def span(self) -> float:
        """The photo's long side in tile sides: a tile's pixels are the photo's long side / span."""
        return self.grid - (self.grid - 1) * self.overlap

    def applies(self, width: int, height: int, imgsz: int) -> bool:
        """Whether a ``width`` x ``height`` photo is tiled for a model of input side ``imgsz``."""
        if self.mode == "auto":
            return max(width, height) >= self.min_ratio * imgsz
        return self.mode == "on"

    def decode_side(self, imgsz: int) -> int:
        """Long side a photo must keep when decoded so that each tile still fills the model input."""
        return math.ceil(imgsz * self.span) if self.mode != "off" else imgsz


def _starts(length: int, tile: int, overlap: float) -> list[int]:
    """Start offsets of windows of ``tile`` pixels covering ``length`` pixels, neighbours sharing >= ``overlap``."""
    if tile >= length:
        return [0]
    n = math.ceil((length - tile * overlap) / (tile * (1.0 - overlap)))
    n = max(n, 2)
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def tile_windows(width: int, height: int, settings: TileSettings) -> IntArray:
    """(T, 4) windows x1, y1, x2, y2 in pixels of a ``width`` x ``height`` image, row by row.

    Tiles are squares of the long side / ``span``, except that a side at most ``1 + overlap`` tiles long is
    covered by one tile stretched to it (a 1920 x 1080 frame: one row of two, not two rows sharing 98 %).
    """
    tile = max(1, math.ceil(max(width, height) / settings.span))
    tw, th = (side if side <= tile * (1 + settings.overlap) else tile for side in (width, height))
    xs = _starts(width, tw, settings.overlap)
    ys = _starts(height, th, settings.overlap)
    return np.array([[x, y, x + tw, y + th] for y in ys for x in xs], np.int64).reshape(-1, 4)


def _cut_edges(xyxy: npt.NDArray[np.float32], window: IntArray, width: int, height: int, eps: float) -> np.ndarray:
    """(N, 4) bool: box touches the window's left, top, right, bottom edge where that edge is inside the image."""
    x1, y1, x2, y2 = window.astype(np.float32)
    inner = np.array([x1 > 0, y1 > 0, x2 < width, y2 < height])
    near = np.stack(
        [xyxy[:, 0] <= x1 + eps, xyxy[:, 1] <= y1 + eps, xyxy[:, 2] >= x2 - eps, xyxy[:, 3] >= y2 - eps], axis=1
    )
    return np.asarray(near & inner[None, :], dtype=bool)


def _join_cut(xyxy: npt.NDArray[np.float64], cls: IntArray, tile: IntArray, cut: npt.NDArray[np.bool_]) -> IntArray:
    """(N,) group ids: boxes of one label from different tiles, both cut by a tile edge, intersecting and lined up
    along the cut (interval IoU >= 0.5 on the axis the cut edge runs along) are one thing (transitively)."""
    n = len(xyxy)
    rows = np.flatnonzero(cut.any(axis=1))
    a, b = xyxy[rows][:, None, :], xyxy[rows][None, :, :]
    lo, hi = np.maximum(a, b), np.minimum(a, b)
    inter_x, inter_y = hi[..., 2] - lo[..., 0], hi[..., 3] - lo[..., 1]
    span_x = np.maximum(a[..., 2], b[..., 2]) - np.minimum(a[..., 0], b[..., 0])
    span_y = np.maximum(a[..., 3], b[..., 3]) - np.minimum(a[..., 1], b[..., 1])
    # cut by a left or right edge: the y spans must line up (else the x spans)
    side = np.asarray(cut[rows][:, [0, 2]].any(axis=1), dtype=bool)
    across = side[:, None] | side[None, :]
    line_up = np.where(
        across,
        np.divide(inter_y, span_y, out=np.zeros_like(inter_y), where=span_y > 0),
        np.divide(inter_x, span_x, out=np.zeros_like(inter_x), where=span_x > 0),
    )
    link = (
        (cls[rows][:, None] == cls[rows][None, :])
        & (tile[rows][:, None] != tile[rows][None, :])
        & (inter_x > 0)
        & (inter_y > 0)
        & (line_up >= 0.5)
    )
    # connected components by label propagation: each box takes the smallest id among its links until none moves
    labels = np.arange(len(rows), dtype=np.int64)
    while True:
        lowest = np.minimum(labels, np.where(link, labels[None, :], len(rows)).min(axis=1, initial=len(rows)))
        if (lowest == labels).all():
            break
        labels = lowest
    group = np.arange(n, dtype=np.int64)
    group[rows] = n + labels  # ids past every row index: no clash with the unlinked boxes' own ids
    return group


def distinct(xyxy: npt.ArrayLike, score: npt.ArrayLike, cls: npt.ArrayLike, iou: float, cover: float) -> Int32Array:
    """Sorted indices of the boxes kept: greedy per label, best score first, dropping a box that overlaps a kept
    one by IoU >= ``iou`` or covers it, or is covered by it, by >= ``cover`` of the smaller box's area."""
    xyxy, score, cls = np.asarray(xyxy, np.float64), np.asarray(score, np.float64), np.asarray(cls, np.int64)
    order = np.argsort(-score, kind="stable")
    boxes = xyxy[order]
    same = cls[order][:, None] == cls[order][None, :]
    inside = box_cover(boxes, boxes)  # [i, j]: share of i inside j
    overlap = same & ((box_iou(boxes, boxes) >= iou) | (np.maximum(inside, inside.T) >= cover))
    alive = np.ones(len(order), bool)
    for i in range(len(order)):
        if alive[i]:
            alive[i + 1 :] &= ~overlap[i, i + 1 :]
    return np.asarray(np.sort(order[alive]), np.int32)


def merge_tiles(
    full: Detections,
    tiles: Sequence[Detections],
    windows: npt.NDArray[np.float64] | IntArray,
    image_wh: tuple[int, int],
    settings: TileSettings,
    edge_px: float = EDGE_PX,
    *,
    small_side: float | None = None,
) -> Detections:
    """One answer from the full frame's detections and each tile's (all in the same image's pixels).

    Args:
        full: detections on the whole image.
        tiles: detections of each window of ``windows`` (T, 4), already moved into image pixels.
        image_wh: the image's (width, height) in those pixels.
        edge_px: how near a tile edge (image pixels) a box ends to count as cut by it.
        small_side: the tiles add only things (after joining their cut parts) whose long side is under this
            many image pixels (``TileSettings.small_side`` in image pixels); ``None``: everything.
    """
    width, height = image_wh
    parts_xyxy, parts_score, parts_cls, parts_tile, parts_cut = [full.xyxy], [full.score], [full.class_id], [], []
    parts_tile.append(np.full(len(full), -1, np.int64))
    parts_cut.append(np.zeros((len(full), 4), bool))
    for t, (det, window) in enumerate(zip(tiles, windows, strict=True)):
        parts_xyxy.append(det.xyxy)
        parts_score.append(det.score)
        parts_cls.append(det.class_id)
        parts_tile.append(np.full(len(det), t, np.int64))
        parts_cut.append(_cut_edges(det.xyxy, window, width, height, edge_px))
    xyxy = np.concatenate(parts_xyxy).astype(np.float64)
    score = np.concatenate(parts_score).astype(np.float64)
    cls = np.concatenate(parts_cls).astype(np.int64)
    tile = np.concatenate(parts_tile)
    cut = np.concatenate(parts_cut)

    group = _join_cut(xyxy, cls, tile, cut)
    joined_xyxy, joined_score, joined_cls, still_cut = [], [], [], []
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        box = np.concatenate([xyxy[members, :2].min(axis=0), xyxy[members, 2:].max(axis=0)])
        if small_side is not None and (tile[members] >= 0).all() and (box[2:] - box[:2]).max() >= small_side:
            continue  # a large thing seen by tiles only: the full frame is the judge of large things
        joined_xyxy.append(box)
        joined_score.append(score[members].max())
        joined_cls.append(cls[members[0]])
        # a lone cut box is part of a thing; one joined across tiles is whole
        still_cut.append(len(members) == 1 and bool(cut[members[0]].any()))
    xyxy = np.array(joined_xyxy, np.float64).reshape(-1, 4)
    score = np.array(joined_score, np.float64)
    cls = np.array(joined_cls, np.int64)
    partial = np.array(still_cut, bool)

    # A part of a thing the full frame saw whole gives way to it, whatever its score.
    if partial.any() and len(full):
        inside = box_cover(xyxy[partial], full.xyxy)
        same = cls[partial][:, None] == full.class_id[None, :]
        seen_whole = ((inside >= 0.5) & same).any(axis=1)
        drop = np.flatnonzero(partial)[seen_whole]
        keep_mask = np.ones(len(xyxy), bool)
        keep_mask[drop] = False
        xyxy, score, cls = xyxy[keep_mask], score[keep_mask], cls[keep_mask]

    keep = distinct(xyxy, score, cls, settings.iou, settings.cover)
    return Detections(
        xyxy[keep].astype(np.float32), score[keep].astype(np.float32), cls[keep].astype(np.int32), full.names
    )


def detect_tiled(detector: Detector, image: DecodedImage, settings: TileSettings) -> Detections:
    """Detections on ``image`` from its full frame and its tiles (one batch), in photo pixels."""
    h, w = image.pixels.shape[:2]
    windows = tile_windows(w, h, settings)
    found = detector.detect([image, *(image.pixels[y1:y2, x1:x2] for x1, y1, x2, y2 in windows.tolist())])
    sx, sy = image.scale
    scale = np.array([sx, sy, sx, sy], np.float32)
    tiles = [
        Detections((d.xyxy + window[[0, 1, 0, 1]].astype(np.float32)) * scale, d.score, d.class_id, d.names)
        for d, window in zip(found[1:], windows, strict=True)
    ]
    # photo pixels per full-frame input pixel: the full frame letterboxes the long side to the input
    per_input_px = max(image.width, image.height) / detector.imgsz
    small = None if settings.small_side is None else settings.small_side * per_input_px
    in_photo = np.asarray(windows * scale, np.float64)
    return merge_tiles(
        found[0], tiles, in_photo, (image.width, image.height), settings, EDGE_PX * max(sx, sy), small_side=small
    )
