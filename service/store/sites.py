"""Mirroring the site configuration into the store.

Cases refer to units, grids, cameras, places and zones, so a row is never deleted: what the
configuration no longer lists is marked inactive and comes back to life, updated, if listed again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.core.site import SiteConfig
from service.core.site import Zone as ZoneConfig
from service.store.models import Camera, Grid, Place, Unit, Zone

_Row = TypeVar("_Row", Unit, Grid, Camera, Place)


def _upsert(session: Session, model: type[_Row], key: str, values: dict[str, Any]) -> None:
    row = session.get(model, key)
    if row is None:
        session.add(model(id=key, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


def _deactivate_missing(
    session: Session, model: type[Unit | Grid | Camera | Place], keep: set[str], at: datetime
) -> None:
    session.execute(
        update(model).where(model.id.not_in(keep), model.active.is_(True)).values(active=False, synced_at=at)
    )


def _sync_zones(session: Session, owner: str, owner_id: str, zones: list[ZoneConfig], at: datetime) -> None:
    column = Zone.camera_id if owner == "camera" else Zone.place_id
    existing = {z.key: z for z in session.scalars(select(Zone).where(column == owner_id))}
    for cfg in zones:
        values = {
            "kind": str(cfg.kind),
            "polygon": [list(p) for p in cfg.polygon],
            "windows": [w.model_dump(mode="json") for w in cfg.active],
            "active": True,
            "synced_at": at,
        }
        row = existing.pop(cfg.id, None)
        if row is None:
            session.add(Zone(key=cfg.id, **{f"{owner}_id": owner_id}, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
    for stale in existing.values():
        if stale.active:
            stale.active, stale.synced_at = False, at


def sync_site(session: Session, cfg: SiteConfig, at: datetime | None = None) -> None:
    """Upsert every unit, grid, camera, place and zone of ``cfg``; deactivate the ones it dropped.

    Flushes but does not commit: the caller owns the transaction.
    """
    at = at or datetime.now(UTC)
    for u in cfg.units:
        _upsert(session, Unit, u.id, {"name": u.name, "contact": u.contact, "active": True, "synced_at": at})
    # Grids first without parents, then parents: a child may be listed before its parent.
    for g in cfg.grids:
        polygon = [list(p) for p in g.polygon] if g.polygon else None
        grid = {"name": g.name, "level": g.level, "unit_id": g.unit, "polygon": polygon, "parent_id": None}
        _upsert(session, Grid, g.id, {**grid, "active": True, "synced_at": at})
    session.flush()
    for g in cfg.grids:
        _upsert(session, Grid, g.id, {"parent_id": g.parent})
    for c in cfg.cameras:
        lat, lon = (c.location.lat, c.location.lon) if c.location else (None, None)
        camera = {"name": c.name, "source": c.source, "grid_id": c.grid, "lat": lat, "lon": lon}
        _upsert(
            session,
            Camera,
            c.id,
            {**camera, "sample_fps": c.sample_fps, "enabled": c.enabled, "active": True, "synced_at": at},
        )
    for p in cfg.places:
        place = {"name": p.name, "grid_id": p.grid, "lat": p.lat, "lon": p.lon, "radius_m": p.radius_m}
        _upsert(session, Place, p.id, {**place, "active": True, "synced_at": at})
    session.flush()
    for c in cfg.cameras:
        _sync_zones(session, "camera", c.id, c.zones, at)
    for p in cfg.places:
        _sync_zones(session, "place", p.id, p.zones, at)
    for model, keep in (
        (Camera, {c.id for c in cfg.cameras}),
        (Place, {p.id for p in cfg.places}),
        (Grid, {g.id for g in cfg.grids}),
        (Unit, {u.id for u in cfg.units}),
    ):
        _deactivate_missing(session, model, keep, at)
    # Zones of cameras/places that left the configuration go with them.
    session.execute(
        update(Zone)
        .where(Zone.active.is_(True))
        .where(
            Zone.camera_id.in_(select(Camera.id).where(Camera.active.is_(False)))
            | Zone.place_id.in_(select(Place.id).where(Place.active.is_(False)))
        )
        .values(active=False, synced_at=at)
    )
    session.flush()
