"""Request and response models of the API. Requests forbid unknown fields and bound every size."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Request(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    """Base of response bodies, built from ORM rows or dataclasses by attribute."""

    model_config = ConfigDict(from_attributes=True)
