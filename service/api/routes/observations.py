"""Sightings (observations): every frame or photo that opened or updated a case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from domain.taxonomy import Violation
from service.api.deps import AnyUser, SessionDep
from service.api.schemas import Instant, Page
from service.api.schemas.cases import ObservationOut
from service.cases import queries
from service.core.site import Slug

router = APIRouter(tags=["observations"])
SlugList = Annotated[list[Slug], Query(max_length=100)]


@router.get("/observations", response_model=Page[ObservationOut])
def list_observations(
    principal: AnyUser,
    session: SessionDep,
    case_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    violation: Annotated[list[Violation], Query(max_length=len(Violation))] = [],  # noqa: B006 - FastAPI copies it
    camera: SlugList = [],  # noqa: B006
    place: SlugList = [],  # noqa: B006
    since: Annotated[Instant | None, Query(description="seen at or after (ISO 8601 with offset)")] = None,
    until: Annotated[Instant | None, Query(description="seen before")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page[ObservationOut]:
    """Sightings, newest first; a unit handler sees those of the cases dispatched to its unit only."""
    filters = queries.ObservationFilter(
        case_id=case_id,
        violations=violation,
        camera_ids=camera,
        place_ids=place,
        since=since,
        until=until,
        units_visible=principal.units,
    )
    rows, total = queries.list_observations(session, filters, limit=limit, offset=offset)
    return Page[ObservationOut](
        items=[ObservationOut.model_validate(o) for o in rows], total=total, limit=limit, offset=offset
    )
