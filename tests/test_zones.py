"""Zones: vectorised point-in-polygon against OpenCV, edges, anchors, time windows, drawing."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from vision.detections import Detections
from vision.zones import PolygonZone, TimeWindow, ZoneKind, anchors, draw_zones, locate, points_in_polygon

SQUARE = np.array([(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)], np.float32)
# a U: the notch (0.4-0.6 wide, 0.0-0.6 high) is outside
U_SHAPE = np.array(
    [(0.2, 0.0), (0.4, 0.0), (0.4, 0.6), (0.6, 0.6), (0.6, 0.0), (0.8, 0.0), (0.8, 0.8), (0.2, 0.8)], np.float32
)
SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("point", "inside"),
    [
        ((0.4, 0.4), True),
        ((0.1, 0.4), False),
        ((0.7, 0.4), False),
        ((0.4, 0.1), False),
        ((0.4, 0.9), False),
        ((0.2, 0.4), True),  # left edge: half-open ray test gives it to the polygon ...
        ((0.6, 0.4), False),  # ... and the right edge to its neighbour
        ((0.4, 0.2), True),  # top edge (y-span [min, max)) in
        ((0.4, 0.6), False),  # bottom edge out
    ],
)
def test_square(point: tuple[float, float], inside: bool) -> None:
    assert points_in_polygon(np.array([point], np.float32), SQUARE).tolist() == [inside]


@pytest.mark.parametrize(
    ("point", "inside"),
    [((0.3, 0.3), True), ((0.5, 0.3), False), ((0.5, 0.7), True), ((0.7, 0.3), True), ((0.9, 0.3), False)],
)
def test_concave_polygon(point: tuple[float, float], inside: bool) -> None:
    assert points_in_polygon(np.array([point], np.float32), U_SHAPE).tolist() == [inside]


def test_adjacent_zones_share_an_edge_without_double_counting() -> None:
    left = np.array([(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)], np.float32)
    right = np.array([(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)], np.float32)
    on_edge = np.array([(0.5, y) for y in np.linspace(0.05, 0.95, 19)], np.float32)
    counts = points_in_polygon(on_edge, left).astype(int) + points_in_polygon(on_edge, right).astype(int)
    assert counts.tolist() == [1] * len(on_edge)


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_opencv_on_random_polygons(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # a star-shaped (possibly concave) polygon with 12 vertices, and points away from its edges
    angles = np.sort(rng.uniform(0, 2 * np.pi, 12))
    radii = rng.uniform(0.1, 0.45, 12)
    poly = np.stack([0.5 + radii * np.cos(angles), 0.5 + radii * np.sin(angles)], axis=1).astype(np.float32)
    points = rng.uniform(0, 1, (2000, 2)).astype(np.float32)
    cv_dist = np.array([cv2.pointPolygonTest(poly.reshape(-1, 1, 2), (float(x), float(y)), True) for x, y in points])
    far = np.abs(cv_dist) > 1e-4
    assert np.array_equal(points_in_polygon(points[far], poly), cv_dist[far] > 0)


def test_no_points() -> None:
    assert points_in_polygon(np.zeros((0, 2), np.float32), SQUARE).shape == (0,)


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([(0, 0), (1, 1)], "K >= 3"),
        ([(0, 0), (1.5, 0), (1, 1)], r"normalised to \[0, 1\]"),
        ([0.1, 0.2, 0.3], "K >= 3"),
    ],
)
def test_bad_polygons(polygon: list[tuple[float, float]] | list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PolygonZone(polygon, kind="wall")


def pixel_boxes(*xyxy: list[float]) -> Detections:
    n = len(xyxy)
    return Detections(np.array(xyxy, np.float32), np.ones(n, np.float32), np.zeros(n, np.int32), ("car",))


def test_trigger_uses_the_anchor() -> None:
    zone = PolygonZone([(0, 0.5), (1, 0.5), (1, 1), (0, 1)], kind="fire_lane")  # bottom half of the frame
    # 200 x 100 px frame: box A spans y 30-70 px (centre 50 = edge, bottom 70 in), box B y 10-40 (all out)
    det = pixel_boxes([20, 30, 60, 70], [100, 10, 140, 40])
    assert zone.trigger(det, (200, 100), "bottom_center").tolist() == [True, False]
    assert zone.trigger(det, (200, 100), "center").tolist() == [True, False]  # y 0.5 is on the top edge: in
    det_c = pixel_boxes([20, 10, 60, 60])  # centre y 0.35
    assert zone.trigger(det_c, (200, 100), "bottom_center").tolist() == [True]
    assert zone.trigger(det_c, (200, 100), "center").tolist() == [False]
    assert zone.trigger(Detections.empty(), (200, 100)).shape == (0,)
    with pytest.raises(ValueError, match="frame size"):
        zone.trigger(det, (0, 100))


def test_anchors() -> None:
    xyxy = np.array([[0.1, 0.2, 0.3, 0.6]], np.float32)
    assert anchors(xyxy, "bottom_center")[0].tolist() == pytest.approx([0.2, 0.6])
    assert anchors(xyxy, "center")[0].tolist() == pytest.approx([0.2, 0.4])


@pytest.mark.parametrize(
    ("window", "local", "inside"),
    [
        (TimeWindow(start=time(7), end=time(9)), datetime(2025, 9, 22, 8, 59), True),
        (TimeWindow(start=time(7), end=time(9)), datetime(2025, 9, 22, 9, 0), False),  # half-open
        (TimeWindow(start=time(7), end=time(9)), datetime(2025, 9, 22, 7, 0), True),
        (TimeWindow(days=frozenset({5, 6}), start=time(7), end=time(9)), datetime(2025, 9, 22, 8), False),  # Mon
        (TimeWindow(days=frozenset({5, 6}), start=time(7), end=time(9)), datetime(2025, 9, 27, 8), True),  # Sat
        (TimeWindow(days=frozenset({4}), start=time(22), end=time(6)), datetime(2025, 9, 26, 23), True),  # Fri
        (TimeWindow(days=frozenset({4}), start=time(22), end=time(6)), datetime(2025, 9, 27, 5), True),  # Sat am
        (TimeWindow(days=frozenset({4}), start=time(22), end=time(6)), datetime(2025, 9, 26, 5), False),  # Fri am
        (TimeWindow(days=frozenset({4}), start=time(22), end=time(6)), datetime(2025, 9, 27, 6), False),
    ],
)
def test_time_windows(window: TimeWindow, local: datetime, inside: bool) -> None:
    assert window.contains(local) is inside


def test_time_window_validation() -> None:
    with pytest.raises(ValidationError, match="empty"):
        TimeWindow(start=time(7), end=time(7))
    with pytest.raises(ValidationError, match="less than or equal to 6"):
        TimeWindow.model_validate({"days": [7], "start": "07:00", "end": "09:00"})
    with pytest.raises(ValidationError, match="Extra inputs"):
        TimeWindow.model_validate({"start": "07:00", "end": "09:00", "weekday": 1})


def test_zone_activity_is_read_in_the_site_time_zone() -> None:
    zone = PolygonZone(SQUARE, kind="no_parking", windows=[TimeWindow(start=time(7), end=time(9))], tz=SH)
    assert zone.active_at(datetime(2025, 9, 22, 0, 30, tzinfo=UTC))  # 08:30 in Shanghai
    assert not zone.active_at(datetime(2025, 9, 22, 8, 30, tzinfo=UTC))  # 16:30 in Shanghai
    assert PolygonZone(SQUARE, kind="wall").active_at(datetime(2025, 9, 22, tzinfo=UTC))  # no windows: always
    with pytest.raises(ValueError, match="timezone-aware"):
        zone.active_at(datetime(2025, 9, 22, 8))


def test_locate_picks_the_first_active_zone_of_the_kinds() -> None:
    t = datetime(2025, 9, 22, 12, tzinfo=SH)
    night = PolygonZone(SQUARE, kind="no_parking", id="night", windows=[TimeWindow(start=time(22), end=time(6))])
    zones = [
        PolygonZone(SQUARE, kind="wall", id="wall"),
        night,
        PolygonZone(SQUARE, kind="fire_lane", id="lane"),
        PolygonZone(SQUARE, kind="sidewalk", id="walk"),
    ]
    points = np.array([(0.4, 0.4), (0.9, 0.9)], np.float32)
    assert locate(points, zones, ("no_parking", "fire_lane", "sidewalk"), t).tolist() == [2, -1]
    no_parking: tuple[ZoneKind, ...] = ("no_parking",)
    bin_point: tuple[ZoneKind, ...] = ("bin_point",)
    assert locate(points, zones, no_parking, t.replace(hour=23)).tolist() == [1, -1]
    assert locate(points, zones, bin_point, t).tolist() == [-1, -1]


def test_draw_zones_outlines_without_touching_the_input() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    out = draw_zones(image, [PolygonZone(SQUARE, kind="wall", id="w")])
    assert image.sum() == 0
    assert out[20, 80].tolist() == [0, 200, 255]  # on the top edge (y 0.2 * 99, x 0.4 * 199)
    assert out[40, 80].tolist() == [0, 0, 0]  # inside, not filled
