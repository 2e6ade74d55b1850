"""Site configuration: the shipped example, defaults, round trips and clear errors for bad files."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from domain.errors import SiteConfigError
from domain.taxonomy import Violation
from service.core.site import (
    DEFAULT_DEADLINES,
    Deadline,
    SiteConfig,
    default_site,
    dump_site,
    haversine_m,
    load_site,
    parse_site,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "site.example.yaml"

BASE = """
units: [{id: office, name: Office}]
grids: [{id: g1, name: Grid 1, unit: office}]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_loads() -> None:
    site = load_site(EXAMPLE)
    assert [g.id for g in site.grids] == ["hepingli", "hepingli-north", "hepingli-south"]
    assert [c.id for c in site.cameras] == ["north-gate", "south-bins"]
    assert site.camera("south-bins").sample_fps == 0.5
    assert site.unit(site.grid(site.camera("south-bins").grid).unit).id == "sanitation"
    assert site.rules.parking.dwell_s == 600 and site.rules.garbage.persistence.k == 4
    assert site.rules.garbage.persistence.window_s == 600 and site.rules.debris.persistence.k == 6  # untouched
    assert date(2025, 9, 28) in site.calendar.extra_workdays and site.calendar.is_workday(date(2025, 9, 28))
    assert not site.calendar.is_workday(date(2025, 10, 1))
    # the file overrides one deadline; the others keep their defaults
    assert site.deadlines[Violation.EXPOSED_GARBAGE] == Deadline(amount=1, unit="working_days")
    assert site.deadlines[Violation.BIN_OVERFLOW] == DEFAULT_DEADLINES[Violation.BIN_OVERFLOW]
    night = site.camera("south-bins").zones[2]
    assert night.kind == "no_parking" and night.active[0].start == time(22, 0)


def test_example_zones_and_places() -> None:
    site = load_site(EXAMPLE)
    zones = site.zones_by_camera()
    assert [z.id for z in zones["south-bins"]] == ["bin-point", "lane-wall", "night-no-parking"]
    night = zones["south-bins"][2]
    assert night.active_at(datetime(2025, 9, 22, 15, tzinfo=UTC))  # 23:00 in Shanghai
    assert not night.active_at(datetime(2025, 9, 22, 4, tzinfo=UTC))  # 12:00 in Shanghai
    corner = site.place("market-lane-corner")
    assert site.place_near(39.9613, 116.4161) == corner  # about 14 m away
    assert site.place_near(39.9650, 116.4161) is None  # about 420 m away
    assert site.place_zones("market-lane-corner") == []


def test_haversine() -> None:
    assert haversine_m(39.9, 116.4, 40.9, 116.4) == pytest.approx(111_195, rel=1e-3)  # one degree of latitude
    assert haversine_m(39.9, 116.4, 39.9, 116.4) == 0.0


def test_round_trips(tmp_path: Path) -> None:
    site = load_site(EXAMPLE)
    dump_site(site, tmp_path / "out.yaml")
    assert load_site(tmp_path / "out.yaml") == site
    as_json = json.loads(site.model_dump_json())
    assert as_json["calendar"]["periods"][0] == {"start": "08:30:00", "end": "12:00:00"}
    assert SiteConfig.model_validate(as_json) == site


def test_default_site() -> None:
    site = default_site()
    assert [u.id for u in site.units] == ["default"] and [g.id for g in site.grids] == ["default"]
    assert site.cameras == [] and site.zones_by_camera() == {}
    assert site.calendar.timezone == "Asia/Shanghai" and site.calendar.day_seconds == 7.5 * 3600
    assert site.deadlines == DEFAULT_DEADLINES
    assert site.deadlines[Violation.EXPOSED_GARBAGE] == Deadline(amount=4, unit="working_hours")
    assert site.deadlines[Violation.FACADE_GRAFFITI] == Deadline(amount=3, unit="working_days")
    assert parse_site({}) == SiteConfig()


def test_unquoted_times_are_times_not_base_60_numbers(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, BASE + "calendar: {periods: [{start: 08:00, end: 13:30}]}\n"))
    assert site.calendar.periods[0].end == time(13, 30)


def test_models_are_frozen() -> None:
    site = default_site()
    with pytest.raises(ValueError, match="frozen"):
        site.name = "x"


CAMERA = "cameras: [{id: c1, name: Cam, source: rtsp://h/s, grid: g1, zones: [%s]}]\n"
ZONE = "{id: z1, kind: fire_lane, polygon: [[0, 0.5], [1, 0.5], [1, 1]]}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "colour: red\n", "colour: Extra inputs are not permitted"),
        (BASE + CAMERA % ZONE.replace("}", ", speed: 3}"), "cameras[0].zones[0].speed: Extra inputs"),
        (BASE + CAMERA % ZONE.replace("fire_lane", "lake"), "cameras[0].zones[0].kind: Input should be"),
        (BASE + CAMERA % ZONE.replace("[1, 1]", "[0.5, 0.5]"), "cameras[0].zones[0].polygon: zone polygon has no area"),
        (BASE + CAMERA % ZONE.replace("[1, 1]", "[1, 1.5]"), "cameras[0].zones[0].polygon[2][1]: Input should be less"),
        (BASE + CAMERA % ZONE.replace(", [1, 1]", ""), "cameras[0].zones[0].polygon: List should have at least 3"),
        (BASE + CAMERA % f"{ZONE}, {ZONE}", "cameras[0].zones: duplicate zone id 'z1'"),
        (BASE + CAMERA.replace("rtsp://h/s", "ftp://h/s") % "", "cameras[0].source: source must be an rtsp://"),
        (BASE + CAMERA.replace("g1,", "g1, sample_fps: 60,") % "", "cameras[0].sample_fps: Input should be less"),
        (BASE + CAMERA.replace("g1,", "g1, sample_fps: 0,") % "", "cameras[0].sample_fps: Input should be greater"),
        (BASE + CAMERA.replace("grid: g1", "grid: g9") % "", "cameras[c1].grid: unknown grid 'g9' (known: g1)"),
        (BASE + CAMERA.replace("id: c1", "id: Cam 1") % "", "cameras[0].id: String should match pattern"),
        (BASE + (CAMERA % "") * 2, ":5:1: invalid YAML: duplicate key 'cameras'"),
        (BASE.replace("grids: [", "grids: [{id: g1, name: Again, unit: office}, "), "duplicate grid id 'g1'"),
        (BASE.replace("unit: office", "unit: nobody"), "grids[g1].unit: unknown unit 'nobody' (known: office)"),
        (BASE.replace("unit: office}", "unit: office, parent: g1}"), "grids[g1].parent: grid is its own ancestor"),
        (BASE + "places: [{id: p, name: P, grid: g1, lat: 95, lon: 116}]\n", "places[0].lat: Input should be less"),
        (BASE + "calendar: {timezone: Mars/Olympus}\n", "calendar.timezone: unknown time zone 'Mars/Olympus'"),
        (BASE + "calendar: {workdays: [0, 7]}\n", "calendar.workdays[1]: Input should be less than or equal to 6"),
        (BASE + "calendar: {workdays: []}\n", "calendar.workdays: Frozenset should have at least 1 item"),
        (
            BASE + "calendar: {periods: [{start: '13:00', end: '17:00'}, {start: '08:00', end: '13:30'}]}\n",
            "calendar.periods: working periods must be in order and not overlap",
        ),
        (BASE + "calendar: {periods: [{start: '12:00', end: '08:00'}]}\n", "working period must start before it ends"),
        (
            BASE + "calendar: {holidays: [2025-10-01], extra_workdays: [2025-10-01]}\n",
            "calendar: dates both holiday and make-up working day: 2025-10-01",
        ),
        (
            BASE + "deadlines: {littering: {amount: 1, unit: working_days}}\n",
            "deadlines.littering.[key]: Input should be",
        ),
        (
            BASE + "deadlines: {debris: {amount: 0, unit: working_days}}\n",
            "deadlines.debris.amount: Input should be greater",
        ),
        (BASE + "deadlines: {debris: {amount: 1, unit: weeks}}\n", "deadlines.debris.unit: Input should be"),
        (
            BASE + "rules: {parking: {keep_conf: 0.5, min_conf: 0.4}}\n",
            "rules.parking: keep_conf (0.5) must not exceed",
        ),
        (BASE + "rules: {debris: {persistence: {k: 5, n: 3}}}\n", "rules.debris.persistence: k (5) must not exceed n"),
        (BASE + "rules: {parking: {dwell_s: -1}}\n", "rules.parking.dwell_s: Input should be greater than 0"),
        (BASE + "rules: {graffiti: {labels: []}}\n", "rules.graffiti.labels: Tuple should have at least 1 item"),
        (
            BASE + "rules: {parking: {zone_kinds: [sidewalk, sidewalk]}}\n",
            "zone_kinds: listed more than once: sidewalk",
        ),
    ],
)
def test_invalid_files_name_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SiteConfigError) as err:
        load_site(path)
    assert str(err.value).startswith(f"{path}")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("units: [a\n  b: c\n", ":2:4: invalid YAML"),
        ("", "the site file is empty"),
        ("- just\n- a list\n", "must be a mapping, got list"),
        ("units: [{id: x, name: X}]\n\tgrids: []\n", "invalid YAML"),
    ],
)
def test_unparseable_files(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SiteConfigError, match=message) as err:
        load_site(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SiteConfigError, match="cannot read site file"):
        load_site(tmp_path / "nope.yaml")


def test_lookups_name_what_is_missing() -> None:
    with pytest.raises(KeyError, match="unknown camera 'c9'"):
        default_site().camera("c9")
