"""Where a sighting is in the world, resolved once from the site: camera or place, grid, responsible unit, position.

Vision reports what, when and where in the frame; the camera worker and the photo scan call :func:`locate` once per
camera or photo, and the case manager takes the :class:`Placement` as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from domain.errors import CaseError
from service.core.site import SiteConfig
from vision.zones import PolygonZone, points_in_polygon

_LEVEL_DEPTH = {None: 0, "street": 1, "community": 2, "building": 3}
_Item = TypeVar("_Item")


@dataclass(frozen=True)
class Placement:
    """Where a sighting is.

    Attributes:
        camera_id: the site camera that saw it (its cases are told apart by their boxes), else None.
        place_id: the patrol place it is at (named, or the place whose radius holds the position), else None.
        grid_id: the grid it falls in (the camera's or place's grid, else the most specific grid holding the
            position, else the site's only grid), else None.
        unit_id: the grid's responsible unit, else None.
        lat, lon: WGS84 degrees (the photo's GPS, else the camera's or place's position), else None.
        zones: the zones of the camera or place, normalised to its frames (the rules' input), empty when none.
    """

    camera_id: str | None = None
    place_id: str | None = None
    grid_id: str | None = None
    unit_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    zones: tuple[PolygonZone, ...] = ()

    def lock_keys(self, radius_m: float) -> list[str]:
        """The writer locks a sighting here takes, sorted (one order: no lock cycles): its camera, its place and the
        cells of a ``2 * radius_m`` grid that a disc of ``radius_m`` around it touches. Two sightings that can
        match each other (same camera, same place, or at most ``radius_m`` apart) share at least one key, so they
        are written one after the other; sightings elsewhere are written in parallel."""
        keys = [f"camera:{self.camera_id}"] if self.camera_id is not None else []
        if self.place_id is not None:
            keys.append(f"place:{self.place_id}")
        if self.lat is not None and self.lon is not None:
            cell = 2 * radius_m / 111_000.0  # degrees of latitude; longitude cells widen with 1/cos(lat)
            cell_lon = cell / max(math.cos(math.radians(self.lat)), 1e-6)
            reach, reach_lon = cell / 2, cell_lon / 2
            rows = {math.floor((self.lat + d) / cell) for d in (-reach, reach)}
            cols = {math.floor((self.lon + d) / cell_lon) for d in (-reach_lon, reach_lon)}
            keys += [f"cell:{r}:{c}" for r in rows for c in cols]
        return sorted(keys) or ["nowhere"]


def locate(
    site: SiteConfig,
    *,
    camera_id: str | None = None,
    place_id: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Placement:
    """Resolve a camera, a named place, or a position (in that order of precedence) against ``site``.

    A position alone takes the nearest place whose radius holds it. On a site of one grid, a sighting no camera,
    place or grid polygon places is in that grid (and goes to its unit). Raises :class:`CaseError` for a camera or place
    the site does not have.
    """
    tz = site.calendar.tz
    grid_id: str | None = None
    zones: tuple[PolygonZone, ...] = ()
    if camera_id is not None:
        camera = _known(site.camera, camera_id, "camera")
        grid_id, zones = camera.grid, tuple(z.polygon_zone(tz) for z in camera.zones)
        if lat is None and camera.location is not None:
            lat, lon = camera.location.lat, camera.location.lon
    if place_id is None and lat is not None and lon is not None:
        near = site.place_near(lat, lon)
        place_id = near.id if near else None
    if place_id is not None:
        place = _known(site.place, place_id, "place")
        grid_id = grid_id or place.grid
        if camera_id is None:  # a camera's frames have the camera's zones, never a place's
            zones = tuple(z.polygon_zone(tz) for z in place.zones)
        if lat is None:
            lat, lon = place.lat, place.lon
    if grid_id is None and lat is not None and lon is not None:
        grid_id = _grid_at(site, lat, lon)
    if grid_id is None and len(site.grids) == 1:  # a one-grid site: everything happens in it
        grid_id = site.grids[0].id
    unit_id = site.grid(grid_id).unit if grid_id is not None else None
    return Placement(camera_id, place_id, grid_id, unit_id, lat, lon, zones)


def _known(find: Callable[[str], _Item], item_id: str, kind: str) -> _Item:
    """``find(item_id)``, with a site lookup's KeyError made a :class:`CaseError`."""
    try:
        return find(item_id)
    except KeyError:
        raise CaseError(f"unknown {kind} {item_id!r}: not in the site configuration") from None


def _grid_at(site: SiteConfig, lat: float, lon: float) -> str | None:
    """The most specific grid whose (lon, lat) polygon holds the point."""
    point = np.array([[lon, lat]], np.float32)  # float32 as vision's zones: ~1 m, enough for grids
    inside = [g for g in site.grids if g.polygon and points_in_polygon(point, np.asarray(g.polygon, np.float32))[0]]
    return max(inside, key=lambda g: (_LEVEL_DEPTH.get(g.level, 0), g.id)).id if inside else None
