"""Who is making a request, as the access checks see it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.lifecycle import REACHED_UNIT, CaseState
from service.store.models import Role


class Scope(StrEnum):
    """What an API token may do."""

    INGEST = "ingest"  # push camera frames and photo batches


@dataclass(frozen=True)
class Principal:
    """A signed-in user (``role`` set) or an API token (``role`` None, ``scopes`` set).

    ``name`` is what the case log and the audit log record as the actor. ``grids`` is None when the principal
    sees every grid, else the grids it is limited to (unit handlers: their cameras). ``units`` is None when the
    principal sees every case, else the units whose dispatched cases it sees and acts on (a unit handler's: its own
    unit and the units responsible for its grids).
    """

    name: str
    role: Role | None
    token_id: int
    grids: frozenset[str] | None = None
    scopes: frozenset[Scope] = frozenset()
    units: frozenset[str] | None = None

    def sees_case(self, unit_id: str | None, state: str) -> bool:
        """Whether a case dispatched to ``unit_id`` and now in ``state`` is visible: to a unit handler only once the
        centre confirmed and dispatched it to one of its units (re-dispatched elsewhere, it is gone)."""
        if self.units is None:
            return True
        return unit_id is not None and unit_id in self.units and CaseState(state) in REACHED_UNIT

    def sees_grid(self, grid_id: str | None) -> bool:
        """Whether a case of ``grid_id`` is visible (a case of no grid only to principals without limits)."""
        return self.grids is None or (grid_id is not None and grid_id in self.grids)
