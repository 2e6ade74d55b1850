"""Read queries the web UI needs beyond :mod:`service.cases.queries` and :mod:`service.cases.kpi`: a case's pictures
with their boxes, site rows for forms, and the dashboard's weekly counts and recurrence hot spots.

Functions over cases take ``units``: None for a principal who sees every case, else the units whose dispatched
cases it may see (a unit handler), as :func:`service.cases.queries.visible_condition` decides. Cameras are listed
by ``grids`` (a unit handler's cameras are those of its grids).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.cases.kpi import iso_week
from service.cases.queries import visible_condition
from service.store.models import (
    Camera,
    Case,
    CasePhone,
    EvidenceKind,
    EvidenceLink,
    EvidenceRole,
    Grid,
    Observation,
    Place,
    Unit,
    Zone,
)


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tz)


@dataclass(frozen=True)
class Picture:
    """One evidence picture of a case with the box it shows (normalised xyxy; None for handling photos)."""

    sha256: str
    kind: EvidenceKind
    role: EvidenceRole
    at: datetime
    bbox: tuple[float, float, float, float] | None


@dataclass(frozen=True)
class SightingPictures:
    """A sighting's pictures: the original with its box, and the annotated frame and crop where kept."""

    original: Picture | None
    annotated: Picture | None
    crop: Picture | None


def case_pictures(session: Session, case_ids: Sequence[int]) -> dict[int, list[Picture]]:
    """Every picture of the given cases, oldest first."""
    rows = session.execute(
        select(EvidenceLink, Observation.bbox)
        .outerjoin(Observation, Observation.id == EvidenceLink.observation_id)
        .where(EvidenceLink.case_id.in_(case_ids))
        .order_by(EvidenceLink.created_at, EvidenceLink.id)
    ).all()
    out: dict[int, list[Picture]] = defaultdict(list)
    for link, bbox in rows:
        box = (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])) if bbox else None
        kind, role = EvidenceKind(link.kind), EvidenceRole(link.role)
        out[link.case_id].append(Picture(link.sha256, kind, role, link.created_at, box))
    return out


def case_phones(session: Session, case_id: int) -> list[CasePhone]:
    """The phone numbers read on a flyposting case's posters, each with the line of text it was read in, first
    seen first (one row per sighting that read it)."""
    query = select(CasePhone).where(CasePhone.case_id == case_id).order_by(CasePhone.seen_at, CasePhone.id)
    return list(session.scalars(query))


def poster_texts(session: Session, case_id: int) -> list[tuple[datetime, str]]:
    """What was read on a flyposting case's posters, per sighting that read anything: (seen at, text), first first."""
    query = (
        select(Observation.seen_at, Observation.text)
        .where(Observation.case_id == case_id, Observation.text.is_not(None))
        .order_by(Observation.seen_at, Observation.id)
    )
    return [(seen, text) for seen, text in session.execute(query) if text]


def latest_sighting(pictures: Sequence[Picture]) -> SightingPictures:
    """The pictures of the most recent sighting among ``pictures``."""
    latest: dict[EvidenceKind, Picture] = {}
    for picture in pictures:
        if picture.role is EvidenceRole.SIGHTING:
            latest[picture.kind] = picture
    kinds = (EvidenceKind.ORIGINAL, EvidenceKind.ANNOTATED, EvidenceKind.CROP)
    return SightingPictures(*(latest.get(kind) for kind in kinds))


@dataclass(frozen=True)
class SiteOptions:
    """Active site rows for filters and forms, each as (id, name)."""

    grids: list[tuple[str, str]]
    units: list[tuple[str, str]]
    cameras: list[tuple[str, str]]


_SiteRow = TypeVar("_SiteRow", Grid, Unit, Camera)


def site_options(session: Session) -> SiteOptions:
    def rows(model: type[_SiteRow]) -> list[tuple[str, str]]:
        return [(r.id, r.name) for r in session.scalars(select(model).where(model.active.is_(True)).order_by(model.id))]

    return SiteOptions(rows(Grid), rows(Unit), rows(Camera))


@dataclass(frozen=True)
class SiteNames:
    """Display names of site rows by id, inactive ones included (old cases still name them)."""

    grids: dict[str, str]
    units: dict[str, str]
    places: dict[str, str]
    cameras: dict[str, str]

    def grid(self, key: str | None) -> str:
        return self.grids.get(key, key) if key else "-"

    def unit(self, key: str | None) -> str:
        return self.units.get(key, key) if key else "-"

    def place(self, key: str | None) -> str:
        return self.places.get(key, key) if key else "-"

    def camera(self, key: str | None) -> str:
        return self.cameras.get(key, key) if key else "-"


def site_names(session: Session) -> SiteNames:
    def names(model: type[Grid | Unit | Place | Camera]) -> dict[str, str]:
        return {key: name for key, name in session.execute(select(model.id, model.name))}

    return SiteNames(names(Grid), names(Unit), names(Place), names(Camera))


def cameras(session: Session, grids: Collection[str] | None) -> list[Camera]:
    query = select(Camera).where(Camera.active.is_(True)).order_by(Camera.id)
    if grids is not None:
        query = query.where(Camera.grid_id.in_(sorted(grids)))
    return list(session.scalars(query))


def camera_zones(session: Session, camera_id: str) -> list[Zone]:
    return list(
        session.scalars(select(Zone).where(Zone.camera_id == camera_id, Zone.active.is_(True)).order_by(Zone.key))
    )


def weeks_back(now: datetime, tz: tzinfo, weeks: int) -> tuple[datetime, datetime, list[str]]:
    """The last ``weeks`` ISO weeks up to and including ``now``'s: [start, end) and their labels, oldest first."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    start = _local_midnight(monday - timedelta(weeks=weeks - 1), tz)
    end = _local_midnight(monday + timedelta(weeks=1), tz)
    labels = [iso_week(_local_midnight(monday - timedelta(weeks=k), tz), tz) for k in range(weeks - 1, -1, -1)]
    return start, end, labels


@dataclass(frozen=True)
class WeekCounts:
    """Cases opened per (ISO week, key) in a period; ``key`` is a violation or a grid."""

    weeks: list[str]
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def names(self) -> list[str]:
        return sorted({k for _, k in self.counts})


def _opened_per_week(
    session: Session, start: datetime, end: datetime, tz: tzinfo, weeks: list[str], key: Any, *where: Any
) -> WeekCounts:
    # Weeks are labelled here rather than in SQL: SQLite has no time zones.
    rows = session.execute(
        select(Case.created_at, key).where(Case.created_at >= start, Case.created_at < end, *where)
    ).all()
    return WeekCounts(weeks, Counter((iso_week(at, tz), str(k)) for at, k in rows))


def cases_per_type_and_week(
    session: Session, units: frozenset[str] | None, start: datetime, end: datetime, tz: tzinfo, weeks: list[str]
) -> WeekCounts:
    """Cases opened (whatever became of them) per violation and week."""
    return _opened_per_week(session, start, end, tz, weeks, Case.violation, visible_condition(units))


def recurrences_per_grid_and_week(
    session: Session, units: frozenset[str] | None, start: datetime, end: datetime, tz: tzinfo, weeks: list[str]
) -> WeekCounts:
    """Recurrent cases (opened at a closed case's place) per grid and week: where problems keep coming back."""
    recurrent = Case.previous_case_id.is_not(None)
    return _opened_per_week(
        session, start, end, tz, weeks, func.coalesce(Case.grid_id, "-"), visible_condition(units), recurrent
    )


@dataclass(frozen=True)
class HotSpot:
    """A located place where cases recurred, with its name and how many times."""

    lat: float
    lon: float
    name: str
    count: int


def recurrence_hot_spots(
    session: Session, units: frozenset[str] | None, start: datetime, end: datetime
) -> list[HotSpot]:
    """Recurrent cases opened in [start, end) by camera or place (or bare position), most first."""
    where = func.coalesce(Case.camera_id, Case.place_id)
    rows = session.execute(
        select(where, Case.lat, Case.lon, func.count(), Camera.name, Place.name)
        .outerjoin(Camera, Camera.id == Case.camera_id)
        .outerjoin(Place, Place.id == Case.place_id)
        .where(visible_condition(units), Case.previous_case_id.is_not(None))
        .where(Case.created_at >= start, Case.created_at < end)
        .group_by(where, Case.lat, Case.lon, Camera.name, Place.name)
    ).all()
    spots = [
        HotSpot(lat, lon, str(camera or place or key or f"{lat:.4f}, {lon:.4f}"), int(n))
        for key, lat, lon, n, camera, place in rows
        if lat is not None and lon is not None  # a case with no position cannot go on the map
    ]
    return sorted(spots, key=lambda s: (-s.count, s.name))


def _point(name: str, lat: float | None, lon: float | None) -> dict[str, Any] | None:
    """A named map point, or None where there is no position."""
    return None if lat is None or lon is None else {"name": name, "lat": float(lat), "lon": float(lon)}


def _rings(session: Session, grid_ids: Collection[str] | None = None) -> list[dict[str, Any]]:
    return [{"name": name, "ring": [[y, x] for x, y in ring]} for name, ring in grid_outlines(session, grid_ids)]


def site_map(session: Session, units: frozenset[str] | None, open_states: Collection[str]) -> dict[str, Any]:
    """The map's layers as plain JSON: grid polygons ([lat, lon] rings), places, cameras and open cases (points with
    a name), each only where it has a position; the open cases are those ``units`` sees."""
    places = [_point(p.name, p.lat, p.lon) for p in session.scalars(select(Place).where(Place.active.is_(True)))]
    cams = [_point(c.name, c.lat, c.lon) for c in session.scalars(select(Camera).where(Camera.active.is_(True)))]
    query = select(Case.id, Case.violation, Case.lat, Case.lon).where(
        Case.state.in_(list(open_states)), visible_condition(units), Case.lat.is_not(None)
    )
    cases = [dict(_point(str(v), lat, lon) or {}, id=i) for i, v, lat, lon in session.execute(query.limit(2000))]
    return {
        "grids": _rings(session),
        "places": [p for p in places if p],
        "cameras": [c for c in cams if c],
        "cases": cases,
    }


def case_map(session: Session, case: Case) -> dict[str, Any]:
    """One case's map in :func:`site_map`'s layers: its grid's polygon, its place or camera, and the case itself
    (named by its violation), each where it has a position."""
    place = session.get(Place, case.place_id) if case.place_id else None
    camera = session.get(Camera, case.camera_id) if case.camera_id else None
    points = {
        "places": _point(place.name, place.lat, place.lon) if place else None,
        "cameras": _point(camera.name, camera.lat, camera.lon) if camera else None,
        "cases": _point(case.violation, case.lat, case.lon),
    }
    return {"grids": _rings(session, [case.grid_id] if case.grid_id else [])} | {
        layer: [point] if point else [] for layer, point in points.items()
    }


def grid_outlines(
    session: Session, grid_ids: Collection[str] | None = None
) -> list[tuple[str, list[tuple[float, float]]]]:
    """Active grids (of ``grid_ids``; None: all) that have a (lon, lat) polygon, for the map."""
    query = select(Grid).where(Grid.active.is_(True), Grid.polygon.is_not(None)).order_by(Grid.id)
    if grid_ids is not None:
        query = query.where(Grid.id.in_(sorted(grid_ids)))
    # A grid drawn with no corners is stored as an empty list: nothing to draw either.
    return [(g.name, [(float(x), float(y)) for x, y in g.polygon]) for g in session.scalars(query) if g.polygon]
