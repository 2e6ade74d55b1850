"""Violation rules on synthetic detection sequences: minutes of frames replayed through a clock parameter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from domain.taxonomy import LABEL_NAMES, Violation
from vision.detections import Detections
from vision.rules.config import GarbageRule, Persistence, RulesConfig, StaticRule
from vision.rules.engine import RuleEngine, RuleOutput
from vision.rules.events import ClearEvent, ViolationEvent
from vision.rules.photo import photo_violations
from vision.zones import PolygonZone, TimeWindow

NAMES = LABEL_NAMES  # the trained detector's labels
W, H = 1000, 500
SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 9, 22, 9, 0, tzinfo=SH)

Box = tuple[float, float, float, float]
Item = tuple[str, float, Box]

CAR: Box = (0.30, 0.60, 0.45, 0.80)  # bottom centre (0.375, 0.80): in the fire lane
PILE: Box = (0.60, 0.10, 0.70, 0.20)
BIN: Box = (0.10, 0.20, 0.16, 0.35)
PERSON: Box = (0.58, 0.02, 0.72, 0.30)  # stands in front of PILE

FIRE_LANE = PolygonZone([(0, 0.5), (1, 0.5), (1, 1), (0, 1)], kind="fire_lane", id="fire-lane")
BIN_POINT = PolygonZone([(0.5, 0.0), (0.8, 0.0), (0.8, 0.4), (0.5, 0.4)], kind="bin_point", id="bin-point")
WALL = PolygonZone([(0.0, 0.0), (0.4, 0.0), (0.4, 0.4), (0.0, 0.4)], kind="wall", id="wall")


def dets(*items: Item) -> Detections:
    """Detections from (label, score, normalised box) triples, in pixels of a W x H frame."""
    if not items:
        return Detections.empty(NAMES)
    xyxy = np.array([box for _, _, box in items], np.float32) * np.array([W, H, W, H], np.float32)
    score = np.array([s for _, s, _ in items], np.float32)
    return Detections(xyxy, score, np.array([NAMES.index(label) for label, _, _ in items], np.int32), NAMES)


def replay(
    engine: RuleEngine, frames: Callable[[int], Sequence[Item]], seconds: int, step_s: int = 1, camera: str = "cam"
) -> list[tuple[int, RuleOutput]]:
    """Feed ``frames(s)`` at s = 0, step_s, ... < seconds; returns the (s, output) of frames with events."""
    out = []
    for s in range(0, seconds, step_s):
        result = engine.step(camera, T0 + timedelta(seconds=s), dets(*frames(s)), (W, H))
        if result.violations or result.cleared:
            out.append((s, result))
    return out


def violations(log: list[tuple[int, RuleOutput]]) -> list[tuple[int, ViolationEvent]]:
    return [(s, v) for s, r in log for v in r.violations]


def cleared(log: list[tuple[int, RuleOutput]]) -> list[tuple[int, ClearEvent]]:
    return [(s, c) for s, r in log for c in r.cleared]


def engine(zones: Sequence[PolygonZone] = (FIRE_LANE,), cfg: RulesConfig | None = None) -> RuleEngine:
    return RuleEngine(cfg or RulesConfig(), {"cam": zones})


# ---- parking ---------------------------------------------------------------------------------------------------


def test_car_staying_in_fire_lane_fires_once_after_dwell() -> None:
    log = violations(replay(engine(), lambda s: [("car", 0.8, CAR)], 600))
    assert len(log) == 1
    s, event = log[0]
    assert s == 300  # default dwell 300 s, 10 minutes parked, update every 1800 s
    assert event.violation is Violation.MOTOR_PARKING and event.rule == "parking.fire_lane"
    assert event.label == "car" and event.zone_id == "fire-lane"
    assert event.first_seen == T0 and event.last_seen == T0 + timedelta(seconds=300)
    assert event.observations == 301 and event.confidence == pytest.approx(0.8)
    assert event.bbox == pytest.approx(CAR) and event.thresholds["dwell_s"] == 300


@pytest.mark.parametrize(
    ("label", "violation"),
    [
        ("truck", Violation.MOTOR_PARKING),
        ("motorcycle", Violation.NON_MOTOR_PARKING),
        ("bicycle", Violation.NON_MOTOR_PARKING),
    ],
)
def test_vehicle_types(label: str, violation: Violation) -> None:
    log = violations(replay(engine(), lambda s: [(label, 0.7, CAR)], 400, step_s=5))
    assert [(s, v.violation, v.label) for s, v in log] == [(300, violation, label)]


@pytest.mark.parametrize("speed", [0.02, 0.004, 0.0008])  # frame widths per second: driving, rolling, creeping
def test_moving_vehicle_never_dwells(speed: float) -> None:
    """Vehicles crossing the fire lane again and again (each pass reaches the same spots as the last one)."""

    def frames(s: int) -> list[Item]:
        dx = (s * speed) % 0.8
        return [("car", 0.9, (0.05 + dx, 0.60, 0.20 + dx, 0.80))]

    assert violations(replay(engine(), frames, 900)) == []


def test_flicker_does_not_reset_dwell() -> None:
    log = violations(replay(engine(), lambda s: [] if s % 3 == 2 else [("car", 0.8, CAR)], 600))
    assert [s for s, _ in log] == [300]
    assert log[0][1].observations == 201  # two of every three frames up to 300 s


def test_gap_longer_than_tolerance_restarts_dwell() -> None:
    # gone from 100 s to 199 s (gap 100 s > gap_s 60 s): the dwell restarts at 200 s
    log = violations(replay(engine(), lambda s: [] if 100 <= s < 200 else [("car", 0.8, CAR)], 600))
    assert [s for s, _ in log] == [500]


def test_jittering_box_is_still_parked() -> None:
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.004, 0.004, size=(600, 4))
    log = violations(replay(engine(), lambda s: [("car", 0.8, tuple(np.add(CAR, jitter[s])))], 600))
    assert [s for s, _ in log] == [300]


@pytest.mark.parametrize(
    ("box", "zones"),
    [
        ((0.30, 0.20, 0.45, 0.45), (FIRE_LANE,)),  # parked above the fire lane
        (CAR, ()),  # no zones on the camera
        (CAR, (PolygonZone(FIRE_LANE.polygon, kind="no_parking", windows=[TimeWindow(start=time(22), end=time(6))]),)),
        (CAR, (PolygonZone(FIRE_LANE.polygon, kind="bin_point"),)),  # a zone no parking rule reads
    ],
)
def test_parking_outside_restricted_zones_is_fine(box: Box, zones: Sequence[PolygonZone]) -> None:
    assert violations(replay(engine(zones), lambda s: [("car", 0.8, box)], 600, step_s=5)) == []


def test_small_and_weak_boxes_are_ignored() -> None:
    tiny: Box = (0.30, 0.78, 0.31, 0.80)  # 0.0002 of the frame < min_area 0.0005
    assert violations(replay(engine(), lambda s: [("car", 0.9, tiny)], 600, step_s=5)) == []
    assert violations(replay(engine(), lambda s: [("car", 0.3, CAR)], 600, step_s=5)) == []  # < min_conf 0.4


def test_weak_sightings_keep_a_parked_car() -> None:
    # opened at 0.8, then 0.3 (>= keep_conf 0.25, < min_conf 0.4): dusk does not lose it
    log = violations(replay(engine(), lambda s: [("car", 0.8 if s < 10 else 0.3, CAR)], 400, step_s=2))
    assert [s for s, _ in log] == [300]


def test_parked_car_leaving_is_cleared_and_updates_are_rate_limited() -> None:
    cfg = RulesConfig.model_validate({"parking": {"update_s": 100, "clear_s": 120}})
    log = replay(engine(cfg=cfg), lambda s: [("car", 0.8, CAR)] if s < 600 else [], 900)
    assert [s for s, _ in violations(log)] == [300, 400, 500]
    (s, clear), *rest = cleared(log)
    assert rest == [] and s == 719  # last seen at 599 s, gone for clear_s
    assert clear.violation is Violation.MOTOR_PARKING and clear.bbox == pytest.approx(CAR)
    assert clear.clear_since == T0 + timedelta(seconds=599) and clear.at == T0 + timedelta(seconds=719)


def test_occluded_parked_car_is_not_cleared() -> None:
    bus: Box = (0.25, 0.55, 0.55, 0.85)  # a bus stopped in front of the car, outside any dwell of its own
    cfg = RulesConfig.model_validate({"parking": {"motor_labels": ["car"]}})

    def frames(s: int) -> list[Item]:
        return [("car", 0.8, CAR)] if s < 400 or s >= 700 else [("bus", 0.8, bus)]

    log = replay(engine(cfg=cfg), frames, 800)
    assert cleared(log) == [] and [s for s, _ in violations(log)] == [300]


# ---- static things ---------------------------------------------------------------------------------------------


def test_garbage_pile_confirms_after_k_of_n_and_clears_after_removal() -> None:
    log = replay(engine(()), lambda s: [("garbage", 0.7, PILE)] if s < 600 else [], 1500, step_s=2)
    (s, event), *more = violations(log)
    # samples of 60 s (600 s / 10): the 6th sample (300-359 s) gives k = 6 hits
    assert more == [] and s == 300
    assert event.violation is Violation.EXPOSED_GARBAGE and event.rule == "garbage.exposed"
    assert event.thresholds["k"] == 6 and event.thresholds["n"] == 10
    (s, clear), *rest = cleared(log)
    # only misses from 600 s; the sample ending at 1200 s completes the 600 s clear window
    assert rest == [] and s == 1200 and clear.clear_since == T0 + timedelta(seconds=600)
    assert clear.violation is Violation.EXPOSED_GARBAGE and clear.bbox == pytest.approx(PILE)


def test_garbage_seen_in_too_few_samples_never_confirms() -> None:
    # seen only in 5 of every 10 minutes: 5 < k = 6
    log = replay(engine(()), lambda s: [("garbage", 0.7, PILE)] if (s // 60) % 2 == 0 else [], 1800, step_s=5)
    assert violations(log) == []


def test_flickering_detection_still_hits_every_sample() -> None:
    log = replay(engine(()), lambda s: [("garbage", 0.7, PILE)] if s % 3 == 0 else [], 400)
    assert [s for s, _ in violations(log)] == [300]


@pytest.mark.parametrize(("occluded", "clears"), [(True, False), (False, True)])
def test_passer_by_hiding_a_pile_is_unknown_not_clear(occluded: bool, clears: bool) -> None:
    """A pile confirmed at 300 s is hidden (undetected) from 400 s to 1400 s. Behind a person that is 'unknown'
    and never clears it; with nobody in front the same missing detections are misses and do clear it."""

    def frames(s: int) -> list[Item]:
        if 400 <= s < 1400:
            return [("person", 0.9, PERSON)] if occluded else []
        return [("garbage", 0.7, PILE)]

    log = replay(engine(()), frames, 1500, step_s=2)
    assert bool(cleared(log)) is clears
    assert [s for s, _ in violations(log)] == [300]


def test_passer_by_during_build_up_does_not_reset_persistence() -> None:
    # person stands in front from 120 s to 240 s: the pile still reaches 6 hit samples by 420 s (2 samples late)
    def frames(s: int) -> list[Item]:
        return [("person", 0.9, PERSON)] if 120 <= s < 240 else [("garbage", 0.7, PILE)]

    assert [s for s, _ in violations(replay(engine(()), frames, 700, step_s=2))] == [420]


def test_lighting_change_lowers_scores_but_keeps_the_slot() -> None:
    log = replay(engine(()), lambda s: [("garbage", 0.6 if s < 60 else 0.3, PILE)], 500, step_s=2)
    assert [s for s, _ in violations(log)] == [300]
    assert violations(log)[0][1].confidence == pytest.approx(0.6)


def test_static_updates_every_update_s_while_seen() -> None:
    cfg = RulesConfig(debris=StaticRule(labels=("debris",), persistence=Persistence(update_s=120)))
    log = replay(engine((), cfg), lambda s: [("debris", 0.7, PILE)], 600, step_s=2)
    assert [(s, v.violation) for s, v in violations(log)] == [(s, Violation.DEBRIS) for s in (300, 420, 540)]


@pytest.mark.parametrize(
    ("items", "zones", "expected"),
    [
        # garbage heaped beside a bin: the bin overflows, reported on the bin's box
        (
            [("garbage", 0.7, (0.16, 0.28, 0.24, 0.36)), ("bin", 0.8, BIN)],
            (),
            [("bin_overflow", "garbage.around_bin", BIN)],
        ),
        ([("bin_overflow", 0.7, BIN)], (), [("bin_overflow", "garbage.bin_overflow", BIN)]),
        ([("garbage", 0.7, PILE)], (BIN_POINT,), [("bin_overflow", "garbage.bin_point", PILE)]),
        ([("garbage", 0.7, PILE), ("bin", 0.8, BIN)], (), [("exposed_garbage", "garbage.exposed", PILE)]),
        ([("debris", 0.7, PILE)], (), [("debris", "debris.piled", PILE)]),
        ([("poster", 0.7, PILE)], (), [("flyposting", "flyposting.poster", PILE)]),
        ([("graffiti", 0.7, PILE)], (), [("facade_graffiti", "graffiti.facade", PILE)]),
        ([("graffiti", 0.7, PILE)], (WALL,), []),  # the camera has wall zones and this is not on one
        ([("graffiti", 0.7, BIN)], (WALL,), [("facade_graffiti", "graffiti.facade", BIN)]),
        ([("person", 0.9, PILE), ("bin", 0.9, BIN)], (), []),
    ],
)
def test_static_rule_table(
    items: list[Item], zones: Sequence[PolygonZone], expected: list[tuple[str, str, Box]]
) -> None:
    log = violations(replay(engine(zones), lambda s: items, 400, step_s=4))
    got = [(v.violation.value, v.rule, v.bbox) for _, v in log]
    assert len(got) == len(expected)
    for (violation, rule, bbox), want in zip(got, expected, strict=True):
        assert (violation, rule) == want[:2] and bbox == pytest.approx(want[2])


def test_overflow_stays_overflow_when_the_bin_flickers() -> None:
    spill: Box = (0.16, 0.28, 0.24, 0.36)

    def frames(s: int) -> list[Item]:
        return [("garbage", 0.7, spill)] + ([("bin", 0.8, BIN)] if s < 30 else [])

    log = violations(replay(engine(()), frames, 400, step_s=2))
    assert [(v.violation, v.rule) for _, v in log] == [(Violation.BIN_OVERFLOW, "garbage.around_bin")]


def test_two_piles_are_two_events_and_cameras_are_independent() -> None:
    other: Box = (0.05, 0.05, 0.15, 0.15)
    e = engine(())
    fired = 0
    for s in range(0, 400, 4):
        t = T0 + timedelta(seconds=s)
        a = e.step("a", t, dets(("garbage", 0.7, PILE), ("garbage", 0.6, other)), (W, H))
        b = e.step("b", t, dets(), (W, H))
        assert b.violations == ()
        if a.violations:
            assert s == 300
            np.testing.assert_allclose(sorted(v.bbox for v in a.violations), sorted([PILE, other]), atol=1e-6)
            fired += 1
    assert fired == 1


def test_time_must_not_go_backwards_until_reset() -> None:
    e = engine()
    e.step("cam", T0, dets(("car", 0.8, CAR)), (W, H))
    with pytest.raises(ValueError, match="backwards"):
        e.step("cam", T0 - timedelta(seconds=1), dets(("car", 0.8, CAR)), (W, H))
    e.reset("cam")
    e.step("cam", T0 - timedelta(seconds=1), dets(("car", 0.8, CAR)), (W, H))
    with pytest.raises(ValueError, match="timezone-aware"):
        e.step("cam", datetime(2025, 9, 22, 10), dets(), (W, H))


def test_reset_forgets_the_dwell() -> None:
    e = engine()
    replay(e, lambda s: [("car", 0.8, CAR)], 250)
    e.reset()
    assert violations(replay(e, lambda s: [("car", 0.8, CAR)], 100)) == []  # would have fired at 300 s


# ---- photo mode ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "zones", "expected"),
    [
        ([("car", 0.8, CAR)], None, []),  # no zones: a car in a photo is not a violation
        ([("car", 0.8, CAR)], [FIRE_LANE], [("motor_parking", "parking.fire_lane")]),
        ([("bicycle", 0.8, CAR)], [FIRE_LANE], [("non_motor_parking", "parking.fire_lane")]),
        ([("car", 0.8, (0.3, 0.1, 0.45, 0.3))], [FIRE_LANE], []),  # outside the zone
        ([("car", 0.3, CAR)], [FIRE_LANE], []),  # below min_conf
        ([("garbage", 0.5, PILE)], None, [("exposed_garbage", "garbage.exposed")]),
        # static rules add no bar of their own above the detector's floor (the model's calibrated thresholds)
        ([("garbage", 0.35, PILE)], None, [("exposed_garbage", "garbage.exposed")]),
        ([("garbage", 0.5, PILE)], [BIN_POINT], [("bin_overflow", "garbage.bin_point")]),
        # two bags beside one bin: one overflowing bin
        (
            [("garbage", 0.6, (0.16, 0.28, 0.22, 0.36)), ("garbage", 0.5, (0.06, 0.3, 0.11, 0.36)), ("bin", 0.8, BIN)],
            None,
            [("bin_overflow", "garbage.around_bin")],
        ),
        (
            [("poster", 0.9, PILE), ("graffiti", 0.8, BIN)],
            None,
            [("flyposting", "flyposting.poster"), ("facade_graffiti", "graffiti.facade")],
        ),
    ],
)
def test_photo_mode(items: list[Item], zones: list[PolygonZone] | None, expected: list[tuple[str, str]]) -> None:
    events = photo_violations(dets(*items), (W, H), T0, zones)
    assert sorted((e.violation.value, e.rule) for e in events) == sorted(expected)


@pytest.mark.parametrize(("score", "opens"), [(0.35, False), (0.45, True)])
def test_a_site_may_ask_static_rules_for_more_than_the_model(score: float, opens: bool) -> None:
    cfg = RulesConfig(garbage=GarbageRule(min_conf=0.4, keep_conf=0.25))
    events = photo_violations(dets(("garbage", score, PILE)), (W, H), T0, cfg=cfg)
    assert [e.rule for e in events] == (["garbage.exposed"] if opens else [])
    for e in events:
        assert e.first_seen == e.last_seen == T0 and e.observations == 1
        assert set(e.thresholds) == {"min_conf", "min_area"}


def test_photo_zone_windows_use_the_time_taken() -> None:
    night = PolygonZone(
        FIRE_LANE.polygon, kind="no_parking", id="night", windows=[TimeWindow(start=time(22), end=time(6))], tz=SH
    )
    car = dets(("car", 0.8, CAR))
    assert photo_violations(car, (W, H), T0, [night]) == []
    (event,) = photo_violations(car, (W, H), T0.replace(hour=23), [night])
    assert event.zone_id == "night" and event.rule == "parking.no_parking"
    with pytest.raises(ValueError, match="timezone-aware"):
        photo_violations(car, (W, H), T0.replace(tzinfo=None), [night])
