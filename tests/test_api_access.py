"""Every endpoint against every kind of caller: anonymous, viewer, operator, a unit handler of the unit the case is
dispatched to and one of another unit, admin, and an ingest API token; on SQLite and PostgreSQL.

A caller the endpoint admits must get past the checks (any answer but 401, 403 and 404: the action itself may
be illegal for the case's state, 409, or the body refused, 422); anyone else gets exactly the refusal listed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from domain.taxonomy import Violation
from service.cases.manual import ManualReport
from service.cases.placement import locate
from service.core.site import Unit
from service.store.models import CaseSource, RequestKind
from tests.api_fixtures import Api
from tests.conftest import SAMPLES
from tests.db_fixtures import SITE, T0

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]

CALLERS = ("anonymous", "viewer", "operator", "handler_east", "handler_west", "admin", "ingest")
USERS = frozenset({"viewer", "operator", "handler_east", "handler_west", "admin"})
STAFF = frozenset({"operator", "admin"})
ADMIN = frozenset({"admin"})
PUBLIC = frozenset(CALLERS)


@dataclass(frozen=True)
class Endpoint:
    """``{case}`` in the path is a case dispatched to u-east, which handler_west must not even see (404);
    ``{request}`` is a unit's pending request on another east case."""

    method: str
    path: str
    admits: frozenset[str]
    json: Any = None
    photo: bool = False
    hidden_from: frozenset[str] = field(default_factory=frozenset)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


_SITE = SITE.model_dump(mode="json")
EAST_LAT, EAST_LON = 31.2250, 121.4700  # inside g-east's polygon, at no place: cases there never merge
_MANUAL = {
    "source": "hotline",
    "violation": "debris",
    "description": "a caller: sofas by the gate",
    "lat": str(EAST_LAT),
    "lon": str(EAST_LON),
}
_EAST = frozenset({"handler_west"})
ENDPOINTS = [
    Endpoint("GET", "/healthz", PUBLIC),
    Endpoint("GET", "/readyz", PUBLIC),
    Endpoint("GET", "/metrics", PUBLIC),
    Endpoint("GET", "/api/v1/auth/me", PUBLIC - {"anonymous"}),
    Endpoint("POST", "/api/v1/auth/logout", PUBLIC - {"anonymous"}),
    Endpoint("GET", "/api/v1/users", ADMIN),
    Endpoint("POST", "/api/v1/users", ADMIN, json={"name": "matrix", "role": "viewer", "password": "matrix-passw0rd"}),
    Endpoint("PATCH", "/api/v1/users/matrix", ADMIN, json={"active": True}),
    Endpoint("POST", "/api/v1/users/viewer/revoke-sessions", ADMIN),
    Endpoint("GET", "/api/v1/tokens", ADMIN),
    Endpoint("POST", "/api/v1/tokens", ADMIN, json={"name": "box", "scopes": ["ingest"], "days": 1}),
    Endpoint("DELETE", "/api/v1/tokens/1", ADMIN),
    Endpoint("GET", "/api/v1/audit", ADMIN),
    Endpoint("GET", "/api/v1/cases", USERS),
    Endpoint("GET", "/api/v1/cases/{case}", USERS, hidden_from=_EAST),
    Endpoint("POST", "/api/v1/cases/{case}/actions/file", STAFF, json={"note": "n"}, hidden_from=_EAST),
    Endpoint("POST", "/api/v1/cases/{case}/actions/send_back", STAFF | {"handler_east"}, hidden_from=_EAST),
    Endpoint("POST", "/api/v1/cases/{case}/handle", STAFF | {"handler_east"}, photo=True, hidden_from=_EAST),
    Endpoint("POST", "/api/v1/cases/actions", USERS, json={"case_ids": [1], "action": "file"}),
    Endpoint("POST", "/api/v1/cases/{case}/verdicts", STAFF, json={"verdict": "confirm"}),
    Endpoint("POST", "/api/v1/cases/verdicts", STAFF, json={"items": [{"case_id": 1, "verdict": "confirm"}]}),
    Endpoint("POST", "/api/v1/cases/{case}/supervise", STAFF, json={"note": "n"}),
    Endpoint(
        "POST",
        "/api/v1/cases/{case}/requests",
        STAFF | {"handler_east"},
        json={"kind": "defer", "reason": "r"},
        hidden_from=_EAST,
    ),
    Endpoint("GET", "/api/v1/requests", USERS),
    Endpoint("POST", "/api/v1/requests/{request}/approve", STAFF),
    Endpoint("POST", "/api/v1/requests/{request}/refuse", STAFF),
    Endpoint("PATCH", "/api/v1/cases/{case}/placement", STAFF, json={"grid_id": "s1"}),
    Endpoint("POST", "/api/v1/cases/manual", STAFF, photo=True),
    Endpoint("GET", "/api/v1/units/workload", USERS),
    Endpoint("GET", "/api/v1/reports/exposure", USERS),
    Endpoint("GET", "/api/v1/reports/quality", USERS),
    Endpoint(
        "POST",
        "/api/v1/quality/misses",
        STAFF,
        json={"camera_id": "cam-1", "seen_at": "2026-03-02T09:00:00+08:00", "violation": "exposed_garbage"},
    ),
    Endpoint("GET", "/api/v1/quality/misses", USERS),
    Endpoint("GET", "/api/v1/observations", USERS),
    Endpoint("GET", "/api/v1/reports/kpis", USERS),
    Endpoint("GET", "/api/v1/reports/ranking", USERS),
    Endpoint("GET", "/api/v1/site", ADMIN),
    Endpoint("PUT", "/api/v1/site", ADMIN, json=_SITE),
    Endpoint("GET", "/api/v1/site/grids", USERS),
    Endpoint("GET", "/api/v1/site/cameras/cam-1", USERS, hidden_from=_EAST),  # an east camera
    Endpoint("GET", "/api/v1/reports/phones", USERS),
    Endpoint("PUT", "/api/v1/site/units/u-east", ADMIN, json=Unit(id="u-east", name="East office").model_dump()),
    Endpoint("PUT", "/api/v1/site/grids/g-west", ADMIN, json=SITE.grid("g-west").model_dump(mode="json")),
    Endpoint("PUT", "/api/v1/site/cameras/cam-2", ADMIN, json=SITE.camera("cam-2").model_dump(mode="json")),
    Endpoint("PUT", "/api/v1/site/places/p-market", ADMIN, json=SITE.place("p-market").model_dump(mode="json")),
    Endpoint("PUT", "/api/v1/site/cameras/cam-1/zones", ADMIN, json=[]),
    Endpoint("DELETE", "/api/v1/site/grids/g-east", ADMIN),
]


def _east_case(api: Api) -> int:
    """A new hand-filed case in g-east, dispatched to u-east (a camera case could join an earlier one)."""
    where = locate(SITE, lat=EAST_LAT, lon=EAST_LON)
    report = ManualReport(CaseSource.INSPECTOR, Violation.DEBRIS, where, T0, "access table")
    return api.dispatch(api.ctx.manager.open_manual(report, actor="operator").id)


@pytest.fixture
def east_case(api: Api) -> int:
    """A fresh case per test: an earlier caller's send_back or handle must not change what the next one sees."""
    return _east_case(api)


@pytest.fixture(scope="module")
def east_request(api: Api) -> int:
    case_id = _east_case(api)
    return api.ctx.manager.request(case_id, RequestKind.DEFER, actor="handler_east", reason="waiting for a crane").id


def _headers(api: Api, caller: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "ingest":
        return {"Authorization": f"Bearer {api.ingest_token()}"}
    return api.as_(caller)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_endpoint_admits_exactly_its_callers(
    api: Api, east_case: int, east_request: int, endpoint: Endpoint, caller: str
) -> None:
    api.client.cookies.clear()
    files = {"photo": ("fix.jpg", io.BytesIO((SAMPLES / "bin_point_street.jpg").read_bytes()), "image/jpeg")}
    response = api.client.request(
        endpoint.method,
        endpoint.path.format(case=east_case, request=east_request),
        headers=_headers(api, caller),
        json=endpoint.json,
        files=files if endpoint.photo else None,
        data=_MANUAL if endpoint.photo and "manual" in endpoint.path else None,
    )
    if caller == "anonymous" and caller not in endpoint.admits:
        expected: int | None = 401
    elif caller in endpoint.hidden_from:
        expected = 404
    elif caller not in endpoint.admits:
        expected = 403
    else:
        expected = None
    if expected is None:
        assert response.status_code not in (401, 403, 404) and response.status_code < 500, response.text
    else:
        assert response.status_code == expected, response.text
        assert response.json()["code"] in ("unauthorized", "forbidden", "not_found")


def test_every_route_is_in_the_table(api: Api, east_case: int, east_request: int) -> None:
    """A new route with one of these tags (from the OpenAPI document) must be added to the table above. Login
    takes no credentials, so it is left out (tests/test_auth.py)."""
    tags = {"auth", "admin", "cases", "observations", "reports", "site", "health"}
    concrete = [(e.method, e.path.format(case=east_case, request=east_request)) for e in ENDPOINTS] + [
        ("POST", "/api/v1/auth/login")
    ]
    missing = [
        f"{method.upper()} {template}"
        for template, operations in api.app.openapi()["paths"].items()
        for method, operation in operations.items()
        if tags & set(operation.get("tags", []))
        if not any(
            m == method.upper() and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) for m, path in concrete
        )
    ]
    assert not missing, f"routes missing from the access table: {missing}"
