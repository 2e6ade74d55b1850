"""Editing the site configuration at run time (the API's site endpoints).

Every change builds a whole new :class:`SiteConfig` and validates it (cross references included) before
anything is touched; then, in one store transaction, the store is synced, the change audited and the YAML file
rewritten atomically (a failed write rolls the store back). Only then is it made current in the context's site
registry, which every reader goes through and which tells the camera runner (and through it the Ray camera
workers). Edits are serialised by a lock, so two admins cannot lose each other's change.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from domain.errors import UnknownItemError
from service.auth import audit
from service.context import Context
from service.core.site import Camera, Grid, Place, SiteConfig, Unit, Zone, dump_site
from service.store.sites import sync_site
from vision.stream.reader import redact_source

SiteItem = Unit | Grid | Camera | Place


class Collection(StrEnum):
    """The editable lists of a site."""

    UNITS = "units"
    GRIDS = "grids"
    CAMERAS = "cameras"
    PLACES = "places"


ZONE_OWNERS = (Collection.CAMERAS, Collection.PLACES)


def write_site_atomically(cfg: SiteConfig, path: Path) -> None:
    """Write the YAML next to ``path`` and rename it over: readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        dump_site(cfg, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SiteEditor:
    """Applies validated changes to the site of an open context; ``path`` is the YAML file kept in step."""

    def __init__(self, ctx: Context, path: Path | None) -> None:
        self.ctx, self.path = ctx, path
        self._lock = threading.Lock()

    @property
    def site(self) -> SiteConfig:
        return self.ctx.sites.current

    def item(self, collection: Collection, item_id: str) -> SiteItem:
        for item in getattr(self.site, collection):
            if item.id == item_id:
                return item  # type: ignore[no-any-return]
        raise UnknownItemError(f"no {collection.rstrip('s')} {item_id!r}")

    def replace_site(self, new: SiteConfig, actor: str) -> SiteConfig:
        """Replace the whole configuration."""
        return self._apply(lambda _: new.model_dump(), actor, "site.replace", "site", {})

    def put(self, collection: Collection, item: SiteItem, actor: str) -> SiteConfig:
        """Add ``item`` to ``collection`` or replace the item with its id."""

        def change(data: dict[str, Any]) -> dict[str, Any]:
            items = [i for i in data[collection] if i["id"] != item.id]
            position = next((n for n, i in enumerate(data[collection]) if i["id"] == item.id), len(items))
            items.insert(position, item.model_dump())  # keep the file's order for a replaced item
            return {**data, collection: items}

        details = {"item": _redacted(item)}
        return self._apply(change, actor, f"site.put_{collection.rstrip('s')}", f"{collection}:{item.id}", details)

    def delete(self, collection: Collection, item_id: str, actor: str) -> SiteConfig:
        """Remove an item; refused (invalid configuration) while other items refer to it."""
        self.item(collection, item_id)

        def change(data: dict[str, Any]) -> dict[str, Any]:
            return {**data, collection: [i for i in data[collection] if i["id"] != item_id]}

        return self._apply(change, actor, f"site.delete_{collection.rstrip('s')}", f"{collection}:{item_id}", {})

    def put_zones(self, owner: Collection, owner_id: str, zones: Sequence[Zone], actor: str) -> SiteConfig:
        """Replace the zones of a camera or a place."""
        if owner not in ZONE_OWNERS:
            raise ValueError(f"only {' and '.join(ZONE_OWNERS)} have zones")
        current = self.item(owner, owner_id)
        updated = current.model_copy(update={"zones": list(zones)})
        details = {"zones": [z.model_dump(mode="json") for z in zones]}
        return self._apply(
            lambda data: {**data, owner: [updated.model_dump() if i["id"] == owner_id else i for i in data[owner]]},
            actor,
            f"site.put_zones_{owner.rstrip('s')}",
            f"{owner}:{owner_id}",
            details,
        )

    def _apply(
        self,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        actor: str,
        action: str,
        target: str,
        details: dict[str, Any],
    ) -> SiteConfig:
        with self._lock:
            new = SiteConfig.model_validate(change(self.site.model_dump()))  # ValidationError: nothing changed
            with self.ctx.store.transaction() as session:
                sync_site(session, new)
                audit.record(session, actor, action, target, details)
                if self.path is not None:
                    write_site_atomically(new, self.path)
            self.ctx.sites.replace(new)
            return new


def _redacted(item: SiteItem) -> dict[str, Any]:
    data = item.model_dump(mode="json")
    if isinstance(item, Camera):
        data["source"] = redact_source(item.source)
    return data
