"""Request and response models of the API. Requests forbid unknown fields and bound every size."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict


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
