"""Who is making a request, as the access checks see it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.store.models import Role


class Scope(StrEnum):
    """What an API token may do."""

    INGEST = "ingest"  # push camera frames and photo batches


@dataclass(frozen=True)
class Principal:
    """A signed-in user (``role`` set) or an API token (``role`` None, ``scopes`` set).

    ``name`` is what the case log and the audit log record as the actor. ``grids`` is None when the principal
    sees every grid, else the grids it is limited to (unit handlers).
    """

    name: str
    role: Role | None
    token_id: int
    grids: frozenset[str] | None = None
    scopes: frozenset[Scope] = frozenset()

    def sees_grid(self, grid_id: str | None) -> bool:
        """Whether a case of ``grid_id`` is visible (a case of no grid only to principals without limits)."""
        return self.grids is None or (grid_id is not None and grid_id in self.grids)
