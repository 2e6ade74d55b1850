"""Tiled detection: the tile grid, joining boxes cut by tile edges, suppressing duplicates, when tiles apply, and
the shipped model on real photos (a large one made from a real sample) through the photo pipeline."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

from service.core.config import Settings
from tests.conftest import SAMPLES
from vision.boxes import box_iou
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import read_image
from vision.pipeline import PhotoDetector, detect_frames, detect_sources
from vision.sources import iter_sources
from vision.tiling import TileSettings, detect_tiled, distinct, merge_tiles, tile_windows

NAMES = ("car", "bicycle")


def dets(rows: list[tuple[float, float, float, float, float, int]]) -> Detections:
    """Detections from (x1, y1, x2, y2, score, class) rows."""
    a = np.array(rows, np.float32).reshape(-1, 6)
    return Detections(a[:, :4], a[:, 4], a[:, 5].astype(np.int32), NAMES)


@pytest.mark.parametrize(
    ("width", "height", "grid", "overlap", "tiles"),
    [
        (4000, 3000, 2, 0.2, (2, 2)),  # a 12 MP phone photo
        (3000, 4000, 2, 0.2, (2, 2)),  # upright
        (4000, 3000, 3, 0.2, (3, 3)),
        (1920, 1080, 2, 0.2, (2, 1)),  # a wide CCTV frame: one row, its tiles stretched to the height
        (512, 512, 2, 0.2, (2, 2)),
    ],
)
def test_windows_cover_the_image_with_overlap(
    width: int, height: int, grid: int, overlap: float, tiles: tuple[int, int]
) -> None:
    settings = TileSettings(mode="on", grid=grid, overlap=overlap)
    windows = tile_windows(width, height, settings)
    xs, ys = sorted(set(windows[:, 0].tolist())), sorted(set(windows[:, 1].tolist()))
    assert (len(xs), len(ys)) == tiles
    covered = np.zeros((height, width), bool)
    for x1, y1, x2, y2 in windows.tolist():
        covered[y1:y2, x1:x2] = True
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
    assert covered.all()
    tile = max(width, height) / settings.span
    for starts, side in ((xs, windows[0, 2] - windows[0, 0]), (ys, windows[0, 3] - windows[0, 1])):
        assert side == pytest.approx(tile, abs=1) or len(starts) == 1
        for a, b in pairwise(starts):  # neighbours share at least the overlap
            assert a + side - b >= overlap * side - 1


def test_a_box_cut_by_a_tile_edge_is_joined_with_its_other_half() -> None:
    settings = TileSettings(mode="on")
    windows = np.array([[0, 0, 600, 600], [400, 0, 1000, 600]], np.float64)
    # a car across x = 600 (left tile's right edge) and x = 400 (right tile's left edge); the full frame missed it
    left = dets([(350, 100, 600, 200, 0.6, 0)])
    right = dets([(400, 102, 700, 198, 0.7, 0)])
    merged = merge_tiles(Detections.empty(NAMES), [left, right], windows, (1000, 600), settings)
    assert len(merged) == 1
    assert merged.xyxy[0].tolist() == pytest.approx([350, 100, 700, 200])
    assert merged.score[0] == pytest.approx(0.7)


def test_a_part_the_full_frame_saw_whole_gives_way_and_duplicates_go() -> None:
    settings = TileSettings(mode="on")
    windows = np.array([[0, 0, 600, 600], [400, 0, 1000, 600]], np.float64)
    full = dets([(300, 100, 800, 300, 0.5, 0), (50, 50, 90, 90, 0.4, 1)])
    left = dets([(300, 100, 600, 300, 0.9, 0), (52, 50, 90, 91, 0.8, 1)])  # a cut part scoring higher; a duplicate
    right = dets([(900, 500, 950, 560, 0.6, 1)])  # seen only in a tile: kept
    merged = merge_tiles(full, [left, right], windows, (1000, 600), settings)
    assert sorted(map(tuple, np.round(merged.xyxy).tolist())) == [
        (52.0, 50.0, 90.0, 91.0),
        (300.0, 100.0, 800.0, 300.0),
        (900.0, 500.0, 950.0, 560.0),
    ]


def test_distinct_keeps_boxes_of_other_labels_and_apart() -> None:
    d = dets([(0, 0, 10, 10, 0.9, 0), (1, 1, 10, 10, 0.8, 0), (0, 0, 10, 10, 0.7, 1), (20, 20, 30, 30, 0.6, 0)])
    assert distinct(d.xyxy, d.score, d.class_id, 0.5, 0.8).tolist() == [0, 2, 3]


@pytest.mark.parametrize(
    ("mode", "side", "tiled"),
    [("auto", 4000, True), ("auto", 1024, True), ("auto", 1000, False), ("on", 400, True), ("off", 4000, False)],
)
def test_when_tiles_apply(mode: str, side: int, tiled: bool) -> None:
    assert TileSettings(mode=mode).applies(side, side * 3 // 4, 512) is tiled  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def shipped() -> Detector:
    return Detector(Settings().model, providers="cpu", model_thresholds=True)


def test_tiles_keep_what_the_full_frame_finds_on_real_photos(shipped: Detector) -> None:
    settings = TileSettings(mode="on")
    for path in sorted(SAMPLES.glob("*.jpg")):
        image = read_image(path)
        full = shipped.detect([image])[0]
        tiled = detect_tiled(shipped, image, settings)
        sure = full[full.score >= 0.5]
        for box, cls in zip(sure.xyxy, sure.class_id, strict=True):
            same = tiled.xyxy[tiled.class_id == cls]
            assert len(same) and box_iou(box[None], same).max() >= 0.5, (path.name, full.names[cls])
        for c in set(tiled.class_id.tolist()):  # no two boxes of one label on one thing
            boxes = tiled.xyxy[tiled.class_id == c]
            iou = box_iou(boxes, boxes)
            assert (iou[np.triu_indices(len(boxes), 1)] < settings.iou).all(), path.name


def test_a_large_photo_is_tiled_by_default(shipped: Detector, tmp_path: Path) -> None:
    """A real street photo enlarged to 12 MP goes through tiles automatically; boxes are in its pixels."""
    photo = read_image(SAMPLES / "cyclists_street.jpg").pixels
    big = cv2.resize(photo, (4000, round(4000 * photo.shape[0] / photo.shape[1])), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), big)
    photos = PhotoDetector(shipped)  # tiles auto, no text finder
    assert photos.decode_side == int(np.ceil(shipped.imgsz * photos.tiles.span))
    [result] = detect_sources(iter_sources([path]), photos)
    assert result.detections is not None and (result.width, result.height) == (big.shape[1], big.shape[0])
    image = read_image(path, target=photos.decode_side)
    assert image.pixels.shape[1] < big.shape[1]  # decoded at reduced scale, still enough for the tiles
    expected = detect_tiled(shipped, image, photos.tiles)
    assert np.allclose(result.detections.xyxy, expected.xyxy)
    assert result.detections.labels.count("bicycle") >= 2


def test_camera_frames_tile_per_camera(shipped: Detector) -> None:
    frame = read_image(SAMPLES / "cyclists_street.jpg").pixels
    off, on = detect_frames(shipped, [("off", frame), ("on", frame)])
    assert np.array_equal(off.xyxy, shipped.detect([frame])[0].xyxy)
    image = read_image(SAMPLES / "cyclists_street.jpg")
    assert np.allclose(on.xyxy, detect_tiled(shipped, image, TileSettings(mode="on")).xyxy)


@pytest.mark.parametrize(("small_side", "kept"), [(None, 4), (150.0, 2), (400.0, 3)])
def test_tiles_add_only_small_things_when_gated(small_side: float | None, kept: int) -> None:
    """With ``small_side``, tiles add only things under that size (after their cut parts are joined); what the full
    frame found stays whatever its size."""
    settings = TileSettings(mode="on")
    windows = np.array([[0, 0, 600, 600], [400, 0, 1000, 600]], np.float64)
    full = dets([(20, 300, 320, 590, 0.5, 0)])  # a large car, from the full frame: kept
    left = dets([(100, 20, 180, 90, 0.6, 1), (350, 100, 600, 200, 0.6, 0)])  # a small thing; half of a car...
    right = dets([(400, 102, 700, 198, 0.7, 0), (560, 100, 990, 590, 0.8, 0)])  # ...its other half; a large one
    merged = merge_tiles(full, [left, right], windows, (1000, 600), settings, small_side=small_side)
    assert len(merged) == kept  # 150: the full frame's car and the small thing; 400: also the joined car (350 px)
    assert (20, 300, 320, 590) in [tuple(np.round(b).tolist()) for b in merged.xyxy]


def test_gated_tiles_on_real_photos_add_only_small_boxes(shipped: Detector) -> None:
    """On real photos, a large box of the gated merge is one the full frame found (alone, it letterboxes the photo
    a little differently than in the tiles' batch, hence IoU >= 0.5 rather than equality)."""
    for path in sorted(SAMPLES.glob("*.jpg")):
        image = read_image(path)
        full = shipped.detect([image])[0]
        gated = detect_tiled(shipped, image, TileSettings(mode="on", small_side=48))
        ungated = detect_tiled(shipped, image, TileSettings(mode="on"))
        assert len(gated) <= len(ungated), path.name
        limit = 48 * max(image.width, image.height) / shipped.imgsz
        for box, cls in zip(gated.xyxy, gated.class_id, strict=True):
            if max(box[2] - box[0], box[3] - box[1]) >= limit:
                same = full.xyxy[full.class_id == cls]
                assert len(same) and box_iou(box[None], same).max() >= 0.5, (path.name, full.names[cls])


def test_small_side_must_be_positive() -> None:
    with pytest.raises(ValueError, match="small_side"):
        TileSettings(small_side=0)
