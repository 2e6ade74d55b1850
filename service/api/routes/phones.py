"""Phone numbers read on small ads, aggregated across cases: the numbers enforcement calls first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import AnyUser, SessionDep
from service.api.schemas import Response
from service.cases.phones import phone_report

router = APIRouter(tags=["reports"])


class PhoneOut(Response):
    number: str
    kind: str
    cases: list[int]
    grids: list[str]
    sightings: int
    first_seen: datetime
    last_seen: datetime


@router.get("/reports/phones", response_model=list[PhoneOut], summary="phone numbers on posters -> cases")
def phones(
    principal: AnyUser,
    session: SessionDep,
    min_cases: Annotated[int, Query(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[PhoneOut]:
    """Every number read on the caller's visible cases, on most cases first."""
    report = phone_report(session, units_visible=principal.units, min_cases=min_cases)
    return [PhoneOut.model_validate(p) for p in report[:limit]]
