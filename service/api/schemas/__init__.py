"""Request and response models of the API. Requests forbid unknown fields and bound every size."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

# Instants the API takes: aware, and within years the store and date arithmetic handle (year 1 with a positive
# offset is year 0 in UTC: an OverflowError deep in the database driver, i.e. a 500, without this bound).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    try:
        inside = EARLIEST <= value.astimezone(UTC) < LATEST
    except OverflowError:
        inside = False
    if not inside:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year} (UTC)")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]


class Request(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    """Base of response bodies, built from ORM rows or dataclasses by attribute."""

    model_config = ConfigDict(from_attributes=True)


Item = TypeVar("Item")


class Page(Response, Generic[Item]):
    """One page of a list: ``items`` from ``offset`` on, and how many there are in all."""

    items: list[Item]
    total: int
    limit: int
    offset: int
