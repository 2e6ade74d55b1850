"""The centre corrects where a case is: its place or position (which give its grid), its grid, its responsible
unit. Resolved against the site as a sighting is (:func:`~service.cases.placement.locate`), and logged with what
changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import CaseError
from service.cases.placement import locate
from service.core.site import SiteConfig
from service.store.models import Case


@dataclass(frozen=True)
class Relocation:
    """The corrections asked for; None keeps the current value. A place or a position (both ``lat`` and ``lon``)
    also re-derives the grid, and a grid its unit, unless those are given too."""

    place_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    grid_id: str | None = None
    unit_id: str | None = None

    def empty(self) -> bool:
        return all(v is None for v in (self.place_id, self.lat, self.lon, self.grid_id, self.unit_id))


_FIELDS = ("place_id", "lat", "lon", "grid_id", "unit_id")


def relocate(case: Case, change: Relocation, site: SiteConfig) -> str:
    """Apply ``change`` to ``case``; returns what changed, ``"grid_id: a -> b; ..."`` (empty when nothing did).
    :class:`CaseError` for an unknown place, grid or unit, half a position, or moving a camera's case."""
    if change.empty():
        raise CaseError("say what to correct: place_id, lat and lon, grid_id or unit_id")
    if (change.lat is None) != (change.lon is None):
        raise CaseError("a position needs both lat and lon")
    moves = change.place_id is not None or change.lat is not None
    if moves and case.camera_id is not None:
        raise CaseError(f"case {case.id} is camera {case.camera_id}'s: correct its grid or unit, not its place")
    new = {f: getattr(case, f) for f in _FIELDS}
    if moves:
        where = locate(site, place_id=change.place_id, lat=change.lat, lon=change.lon)
        new |= {"place_id": where.place_id, "lat": where.lat, "lon": where.lon}
        new |= {"grid_id": where.grid_id, "unit_id": where.unit_id}
    if change.grid_id is not None:
        new["grid_id"], new["unit_id"] = change.grid_id, _known(site, "grid", change.grid_id)
    if change.unit_id is not None:
        _known(site, "unit", change.unit_id)
        new["unit_id"] = change.unit_id
    changed = [f"{f}: {getattr(case, f)} -> {new[f]}" for f in _FIELDS if new[f] != getattr(case, f)]
    for f in _FIELDS:
        setattr(case, f, new[f])
    return "; ".join(changed)


def _known(site: SiteConfig, kind: str, item_id: str) -> str:
    """The grid's unit (for a grid), or the unit id itself; :class:`CaseError` when the site has no such item."""
    try:
        return site.grid(item_id).unit if kind == "grid" else site.unit(item_id).id
    except KeyError:
        raise CaseError(f"unknown {kind} {item_id!r}: not in the site configuration") from None
