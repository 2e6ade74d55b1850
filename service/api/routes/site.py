"""The site configuration: units, grids, cameras (with zones) and places (with zones).

Everyone signed in reads it (camera URLs with their password hidden, except for admins); only admins change
it. A change is validated as a whole configuration (an unknown grid, a duplicate id or a grid still in use is
a 422 naming the field), then stored, written back to the site YAML and applied to running cameras.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import Field

from service.api.deps import Admin, AnyUser
from service.api.errors import not_found
from service.auth.principal import Principal
from service.core.site import Camera, Grid, Place, SiteConfig, Slug, Unit, Zone
from service.site_editor import Collection, SiteEditor, SiteItem
from service.store.models import Role
from vision.stream.reader import redact_source

router = APIRouter(tags=["site"])
Zones = Annotated[list[Zone], Field(max_length=200)]
ZoneOwner = Literal[Collection.CAMERAS, Collection.PLACES]
ItemId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


def _editor(request: Request) -> SiteEditor:
    editor: SiteEditor = request.app.state.site_editor
    return editor


def _shown(item: SiteItem, role: Role | None) -> SiteItem:
    if isinstance(item, Camera) and role is not Role.ADMIN:
        return item.model_copy(update={"source": redact_source(item.source)})
    return item


def _visible(item: SiteItem, principal: Principal) -> bool:
    """A unit handler sees the cameras of its own grids only, as it sees only their cases."""
    return not isinstance(item, Camera) or principal.sees_grid(item.grid)


@router.get("/site", response_model=SiteConfig)
def get_site(_: Admin, request: Request) -> SiteConfig:
    """The whole configuration, as the site YAML holds it."""
    return _editor(request).site


@router.put("/site", response_model=SiteConfig)
def put_site(body: SiteConfig, principal: Admin, request: Request) -> SiteConfig:
    """Replace the whole configuration."""
    return _editor(request).replace_site(body, principal.name)


@router.get("/site/{collection}", response_model=list[Unit | Grid | Camera | Place])
def list_items(collection: Collection, principal: AnyUser, request: Request) -> list[SiteItem]:
    items: list[SiteItem] = getattr(_editor(request).site, collection)
    return [_shown(i, principal.role) for i in items if _visible(i, principal)]


@router.get("/site/{collection}/{item_id}", response_model=Unit | Grid | Camera | Place)
def get_item(collection: Collection, item_id: ItemId, principal: AnyUser, request: Request) -> SiteItem:
    item = _editor(request).item(collection, item_id)
    if not _visible(item, principal):
        not_found(f"{collection} {item_id}")
    return _shown(item, principal.role)


def _put(request: Request, collection: Collection, item_id: str, item: SiteItem, actor: str) -> SiteItem:
    if item.id != item_id:
        raise HTTPException(422, f"id: the body's id {item.id!r} differs from the path's {item_id!r}")
    _editor(request).put(collection, item, actor)
    return item


@router.put("/site/units/{item_id}", response_model=Unit)
def put_unit(item_id: Slug, body: Unit, principal: Admin, request: Request) -> SiteItem:
    """Add or replace a responsible unit."""
    return _put(request, Collection.UNITS, item_id, body, principal.name)


@router.put("/site/grids/{item_id}", response_model=Grid)
def put_grid(item_id: Slug, body: Grid, principal: Admin, request: Request) -> SiteItem:
    """Add or replace a grid (its unit and parent must exist)."""
    return _put(request, Collection.GRIDS, item_id, body, principal.name)


@router.put("/site/cameras/{item_id}", response_model=Camera)
def put_camera(item_id: Slug, body: Camera, principal: Admin, request: Request) -> SiteItem:
    """Add or replace a camera (its grid must exist); running cameras pick the change up at once."""
    return _put(request, Collection.CAMERAS, item_id, body, principal.name)


@router.put("/site/places/{item_id}", response_model=Place)
def put_place(item_id: Slug, body: Place, principal: Admin, request: Request) -> SiteItem:
    """Add or replace a patrol place (its grid must exist)."""
    return _put(request, Collection.PLACES, item_id, body, principal.name)


@router.put("/site/{owner}/{item_id}/zones", response_model=list[Zone])
def put_zones(owner: ZoneOwner, item_id: ItemId, body: Zones, principal: Admin, request: Request) -> list[Zone]:
    """Replace the zones of a camera or a place (the zone editor's save)."""
    _editor(request).put_zones(owner, item_id, body, principal.name)
    return body


@router.delete("/site/{collection}/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(collection: Collection, item_id: ItemId, principal: Admin, request: Request) -> None:
    """Remove an item (kept inactive in the store for the cases that name it); refused while in use."""
    _editor(request).delete(collection, item_id, principal.name)
