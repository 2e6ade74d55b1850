"""Site configuration: units, grids (网格), cameras with zones, patrol places, rule thresholds, the working
calendar and the deadline per violation type.

Strict pydantic models (unknown keys rejected, bounded numbers), loaded from YAML with :func:`load_site`,
written with :func:`dump_site`, and JSON-serialisable with ``model_dump(mode="json")`` for the API. Models are
frozen: configuration is loaded once and passed down; edit it with ``model_copy``/re-validation.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.errors import SiteConfigError
from domain.taxonomy import Violation
from vision.rules.config import RulesConfig
from vision.stream.reader import redact_source
from vision.zones import PolygonZone, TimeWindow, Weekday, ZoneKind

Slug = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$",
        description="lower-case letters, digits, '_', '-', '.'; up to 64 characters",
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Lon = Annotated[float, Field(ge=-180.0, le=180.0)]
Lat = Annotated[float, Field(ge=-90.0, le=90.0)]
Unit01 = Annotated[float, Field(ge=0.0, le=1.0)]

_URL_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(_Strict):
    """A responsible unit (责任单位)."""

    id: Slug
    name: Name
    contact: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class Grid(_Strict):
    """A management grid (网格) and the unit responsible for it; cameras and places name their grid."""

    id: Slug
    name: Name
    level: Literal["street", "community", "building"] | None = None
    parent: Slug | None = None
    unit: Slug
    polygon: Annotated[list[tuple[Lon, Lat]], Field(min_length=3, description="WGS84 (lon, lat)")] | None = None


def _shoelace_area(points: Iterable[tuple[float, float]]) -> float:
    pts = list(points)
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True))) / 2


class Zone(_Strict):
    """A zone on a camera view or a place's photos: a normalised polygon ((0,0) top-left, (1,1) bottom-right).

    ``active``: when the zone applies, in the site's time zone; empty means always.
    """

    id: Slug
    kind: ZoneKind
    polygon: Annotated[list[tuple[Unit01, Unit01]], Field(min_length=3)]
    active: list[TimeWindow] = Field(default_factory=list)

    @field_validator("polygon")
    @classmethod
    def _has_area(cls, polygon: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if _shoelace_area(polygon) <= 1e-9:
            raise ValueError("zone polygon has no area (its points are collinear or repeated)")
        return polygon

    def polygon_zone(self, tz: ZoneInfo) -> PolygonZone:
        """The vision-side zone, with its time windows read in ``tz``."""
        return PolygonZone(self.polygon, kind=self.kind, id=self.id, windows=self.active, tz=tz)


def _unique_zone_ids(zones: list[Zone]) -> list[Zone]:
    dup = sorted(k for k, n in Counter(z.id for z in zones).items() if n > 1)
    if dup:
        raise ValueError(f"duplicate zone id {', '.join(map(repr, dup))}")
    return zones


Zones = Annotated[list[Zone], AfterValidator(_unique_zone_ids)]


class Location(_Strict):
    lat: Lat
    lon: Lon


class Camera(_Strict):
    """A camera: where its frames come from, where it is, and its zones."""

    id: Slug
    name: Name
    source: Annotated[str, Field(min_length=1, max_length=2000, description="rtsp://, http(s):// or a file path")]
    detect_source: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=2000,
            description="low-resolution stream the detector watches (the camera's sub-stream); the main source is "
            "then opened only for evidence",
        ),
    ] = None
    grid: Slug
    location: Location | None = None
    sample_fps: Annotated[float, Field(gt=0.0, le=30.0)] = 1.0
    zones: Zones = Field(default_factory=list)
    enabled: bool = True
    tiles: Literal["auto", "on", "off"] = Field(
        default="off",
        description="also detect on overlapping tiles (small things in large frames, about 5x the time); auto: "
        "frames at least twice the model input",
    )

    @field_validator("source", "detect_source")
    @classmethod
    def _known_scheme(cls, source: str | None) -> str | None:
        if source is None:
            return None
        shown = redact_source(source)
        if _SCHEME.match(source) and not source.lower().startswith(_URL_SCHEMES):
            raise ValueError(f"source must be an rtsp://, rtsps://, http(s):// URL or a file path, got {shown!r}")
        if source.lower().startswith(_URL_SCHEMES):
            # Checked here, in full, so that a bad URL is refused on save instead of killing its camera's reader.
            if any(c.isspace() or not c.isprintable() for c in source):
                raise ValueError(f"camera URL {shown!r} holds spaces or control characters")
            try:
                parts = urlsplit(source)
                _ = parts.port  # raises for a port that is not a number in 0-65535
            except ValueError as exc:
                raise ValueError(f"malformed camera URL {shown!r}: {exc}") from None
            if not parts.hostname:
                raise ValueError(f"camera URL {shown!r} names no host")
        return source


class Place(_Strict):
    """A named patrol point (点位): photos taken within ``radius_m`` of it get its grid and zones."""

    id: Slug
    name: Name
    grid: Slug
    lat: Lat
    lon: Lon
    radius_m: Annotated[float, Field(gt=0.0, le=10_000.0)] = 50.0
    zones: Zones = Field(default_factory=list)


class WorkPeriod(_Strict):
    """A working period of a day, local wall-clock time, ``start < end`` on the same day."""

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> WorkPeriod:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working periods are local wall-clock times; leave the UTC offset out")
        if self.start >= self.end:
            raise ValueError(f"working period must start before it ends: {self.start} - {self.end}")
        return self

    @property
    def seconds(self) -> float:
        return (datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)).total_seconds()


class WorkCalendar(_Strict):
    """When the clock of a working-time deadline runs.

    A date is a working day when it is a make-up working day (调休), or when it is one of ``workdays`` and not
    a holiday. Working time is the ``periods`` of a working day in ``timezone``.
    """

    timezone: str = "Asia/Shanghai"
    workdays: Annotated[frozenset[Weekday], Field(min_length=1)] = frozenset(range(5))
    periods: Annotated[list[WorkPeriod], Field(min_length=1)] = Field(
        default_factory=lambda: [
            WorkPeriod(start=time(8, 30), end=time(12, 0)),
            WorkPeriod(start=time(13, 30), end=time(17, 30)),
        ]
    )
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = Field(default=frozenset(), description="make-up working days (调休)")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r} (use an IANA name such as 'Asia/Shanghai')") from exc
        return name

    @field_validator("periods")
    @classmethod
    def _sorted_apart(cls, periods: list[WorkPeriod]) -> list[WorkPeriod]:
        for a, b in pairwise(periods):
            if b.start < a.end:
                raise ValueError(f"working periods must be in order and not overlap: {a.end} > {b.start}")
        return periods

    @model_validator(mode="after")
    def _days_disjoint(self) -> WorkCalendar:
        both = sorted(self.holidays & self.extra_workdays)
        if both:
            raise ValueError(f"dates both holiday and make-up working day: {', '.join(map(str, both))}")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def day_seconds(self) -> float:
        """Working seconds in a working day (one working day of a deadline)."""
        return sum(p.seconds for p in self.periods)

    def is_workday(self, day: date) -> bool:
        return day in self.extra_workdays or (day.weekday() in self.workdays and day not in self.holidays)


class Deadline(_Strict):
    """How long a responsible unit has to handle a case, counted from dispatch (派遣)."""

    amount: Annotated[float, Field(gt=0.0, le=10_000.0)]
    unit: Literal["working_hours", "working_days", "calendar_hours"]


DEFAULT_DEADLINES: dict[Violation, Deadline] = {
    Violation.EXPOSED_GARBAGE: Deadline(amount=4, unit="working_hours"),
    Violation.BIN_OVERFLOW: Deadline(amount=4, unit="working_hours"),
    Violation.DEBRIS: Deadline(amount=1, unit="working_days"),
    Violation.MOTOR_PARKING: Deadline(amount=2, unit="working_hours"),
    Violation.NON_MOTOR_PARKING: Deadline(amount=2, unit="working_hours"),
    Violation.FLYPOSTING: Deadline(amount=1, unit="working_days"),
    Violation.FACADE_GRAFFITI: Deadline(amount=3, unit="working_days"),
}


def _duplicates(kind: str, ids: Iterable[str]) -> list[str]:
    dup = sorted(k for k, n in Counter(ids).items() if n > 1)
    return [f"duplicate {kind} id {d!r}" for d in dup]


def _unknown(field: str, value: str | None, known: set[str], kind: str) -> list[str]:
    if value is None or value in known:
        return []
    return [f"{field}: unknown {kind} {value!r} (known: {', '.join(sorted(known)) or 'none'})"]


class SiteConfig(_Strict):
    """The whole site. ``deadlines`` given in a file override :data:`DEFAULT_DEADLINES` type by type."""

    name: Name = "GridWatch site"
    units: list[Unit] = Field(default_factory=list)
    grids: list[Grid] = Field(default_factory=list)
    cameras: list[Camera] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    rules: RulesConfig = RulesConfig()
    calendar: WorkCalendar = WorkCalendar()
    deadlines: dict[Violation, Deadline] = Field(default_factory=lambda: dict(DEFAULT_DEADLINES))

    @field_validator("deadlines")
    @classmethod
    def _complete_deadlines(cls, given: dict[Violation, Deadline]) -> dict[Violation, Deadline]:
        return {**DEFAULT_DEADLINES, **given}

    @model_validator(mode="after")
    def _cross_references(self) -> SiteConfig:
        units = {u.id for u in self.units}
        grids = {g.id for g in self.grids}
        errors = [
            *_duplicates("unit", (u.id for u in self.units)),
            *_duplicates("grid", (g.id for g in self.grids)),
            *_duplicates("camera", (c.id for c in self.cameras)),
            *_duplicates("place", (p.id for p in self.places)),
        ]
        for g in self.grids:
            errors += _unknown(f"grids[{g.id}].unit", g.unit, units, "unit")
            errors += _unknown(f"grids[{g.id}].parent", g.parent, grids, "grid")
        for c in self.cameras:
            errors += _unknown(f"cameras[{c.id}].grid", c.grid, grids, "grid")
        for p in self.places:
            errors += _unknown(f"places[{p.id}].grid", p.grid, grids, "grid")
        errors += self._parent_cycles()
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def _parent_cycles(self) -> list[str]:
        parent = {g.id: g.parent for g in self.grids}
        errors = []
        for start in parent:
            seen, node = {start}, parent[start]
            while node is not None and node in parent:
                if node == start:
                    errors.append(f"grids[{start}].parent: grid is its own ancestor")
                    break
                if node in seen:
                    break
                seen.add(node)
                node = parent[node]
        return errors

    def grid(self, grid_id: str) -> Grid:
        return _by_id(self.grids, grid_id, "grid")

    def unit(self, unit_id: str) -> Unit:
        return _by_id(self.units, unit_id, "unit")

    def camera(self, camera_id: str) -> Camera:
        return _by_id(self.cameras, camera_id, "camera")

    def place(self, place_id: str) -> Place:
        return _by_id(self.places, place_id, "place")

    def zones_by_camera(self) -> dict[str, list[PolygonZone]]:
        """Vision-side zones of every enabled camera, time windows in the calendar's time zone."""
        return {c.id: [z.polygon_zone(self.calendar.tz) for z in c.zones] for c in self.cameras if c.enabled}

    def place_zones(self, place_id: str) -> list[PolygonZone]:
        return [z.polygon_zone(self.calendar.tz) for z in self.place(place_id).zones]

    def place_near(self, lat: float, lon: float) -> Place | None:
        """The nearest place whose radius holds (lat, lon), or None."""
        best: tuple[float, Place] | None = None
        for p in self.places:
            d = haversine_m(lat, lon, p.lat, p.lon)
            if d <= p.radius_m and (best is None or d < best[0]):
                best = (d, p)
        return best[1] if best else None


_Item = TypeVar("_Item", Unit, Grid, Camera, Place)


def _by_id(items: list[_Item], item_id: str, kind: str) -> _Item:
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(f"unknown {kind} {item_id!r}")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


def default_site() -> SiteConfig:
    """A valid site with one unit and one grid and no cameras: what runs when no site file is given."""
    return SiteConfig(
        units=[Unit(id="default", name="Default unit")],
        grids=[Grid(id="default", name="Default grid", unit="default")],
    )


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML without YAML 1.1 base-60 numbers, so ``13:30`` stays the string '13:30' (not 810), and with
    duplicate mapping keys refused (plain PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_YamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def format_validation_error(source: str, exc: ValidationError) -> str:
    """One line per error: ``source: field.path: message (got value)``."""
    lines = []
    for err in exc.errors(include_url=False):
        msg = str(err["msg"]).removeprefix("Value error, ")
        got = "" if err["type"] in ("value_error", "missing") else f" (got {err['input']!r:.80})"
        lines.append(f"{source}: {_loc(tuple(err['loc']))}: {msg}{got}")
    return "\n".join(lines)


def parse_site(data: Any, source: str = "<site>") -> SiteConfig:
    """Validate already-parsed data (a mapping from YAML or JSON); errors raise :class:`SiteConfigError`."""
    if not isinstance(data, dict):
        raise SiteConfigError(f"{source}: the site configuration must be a mapping, got {type(data).__name__}")
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise SiteConfigError(format_validation_error(source, exc)) from exc


def load_site(path: str | Path) -> SiteConfig:
    """Read and validate a YAML site file. Unreadable files, YAML syntax errors and invalid fields raise
    :class:`SiteConfigError` naming the file (with line and column for syntax errors) and the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteConfigError(f"{path}: cannot read site file: {exc}") from exc
    try:
        data = yaml.load(text, Loader=_YamlLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SiteConfigError(f"{where}: invalid YAML: {problem}") from exc
    if data is None:
        raise SiteConfigError(f"{path}: the site file is empty")
    return parse_site(data, str(path))


def dump_site(cfg: SiteConfig, path: str | Path) -> None:
    """Write ``cfg`` as YAML that :func:`load_site` reads back to an equal configuration."""
    data = cfg.model_dump(mode="json")
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
