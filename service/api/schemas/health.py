"""Health and readiness."""

from __future__ import annotations

from typing import Literal

from service.api.schemas import Response


class Health(Response):
    status: Literal["ok"]


class Readiness(Response):
    ready: bool
    database: str
    migrations: str
    model: str
