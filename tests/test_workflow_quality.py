"""The detector's quality from what people said, checked against a hand count: precision (confirmed / reviewed) and
recall (confirmed / (confirmed + reported misses)) per label, per camera and per ISO week, the same in the API and
the CSV export. On SQLite and PostgreSQL.

Cases (first seen in 2026-W10 or W11, Shanghai) and the latest verdict on each:

====  ======  =======  ====  ===========================  ==============
case  camera  label    week  verdicts (in order)          counts as
====  ======  =======  ====  ===========================  ==============
1     cam-1   garbage  W10   confirm                      confirmed
2     cam-1   garbage  W10   reject                       rejected
3     cam-1   garbage  W10   reject, then confirm         confirmed
4     cam-2   car      W10   confirm                      confirmed
5     cam-2   car      W11   relabel (non-motor parking)  relabelled
6     -       garbage  W11   confirm (a patrol photo)     confirmed
7     cam-1   garbage  W11   none                         not reviewed
8     -       -        W10   confirm (a hotline case)     not the detector's
====  ======  =======  ====  ===========================  ==============

Misses: two exposed-garbage misses on cam-1 in W10, one car miss on cam-2 in W11.
All: reviewed 6, confirmed 4, missed 3: precision 4/6, recall 4/7.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from domain.taxonomy import Violation
from service.cases.manual import ManualReport
from service.cases.placement import locate
from service.store.models import CaseSource
from tests.api_fixtures import Api
from tests.db_fixtures import SITE, T0, picture, sighting

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]
W11 = T0 + timedelta(days=7)
PERIOD = {"start": "2026-03-02T00:00:00+08:00", "end": "2026-03-16T00:00:00+08:00"}

# group -> (reviewed, confirmed, rejected, relabelled, missed)
EXPECTED: dict[str | None, dict[str | None, tuple[int, int, int, int, int]]] = {
    None: {None: (6, 4, 1, 1, 3)},
    "label": {"car": (2, 1, 0, 1, 1), "garbage": (4, 3, 1, 0, 2)},
    "camera": {"(photos)": (1, 1, 0, 0, 0), "cam-1": (3, 2, 1, 0, 2), "cam-2": (2, 1, 0, 1, 1)},
    "week": {"2026-W10": (4, 3, 1, 0, 2), "2026-W11": (2, 1, 0, 1, 1)},
}


def _case(api: Api, n: int, at: datetime, label: str = "garbage", **where: Any) -> int:
    violation = Violation.MOTOR_PARKING if label == "car" else Violation.EXPOSED_GARBAGE
    box = (0.05 + 0.15 * n, 0.05, 0.15 + 0.15 * n, 0.15)  # one spot per case: none joins another
    event, placement = sighting(violation, at=at, bbox=box, **where)
    event = dataclasses.replace(event, label=label)
    return api.ctx.manager.ingest(event, placement, [picture(f"q{n}")], "m1", f"sha-quality-{n}").case.id


def _verdict(api: Api, case_id: int, verdict: str, **extra: str) -> None:
    body = {"verdict": verdict, **extra}
    response = api.client.post(f"/api/v1/cases/{case_id}/verdicts", headers=api.as_("operator"), json=body)
    assert response.status_code == 201, response.text


def _miss(api: Api, camera: str, at: datetime, violation: str, label: str | None = None) -> None:
    body = {"camera_id": camera, "seen_at": at.isoformat(), "violation": violation} | (
        {"label": label} if label else {}
    )
    response = api.client.post("/api/v1/quality/misses", headers=api.as_("operator"), json=body)
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def judged(api: Api) -> None:
    cases = [
        _case(api, 1, T0, camera_id="cam-1"),
        _case(api, 2, T0, camera_id="cam-1"),
        _case(api, 3, T0, camera_id="cam-1"),
        _case(api, 4, T0, "car", camera_id="cam-2"),
        _case(api, 5, W11, "car", camera_id="cam-2"),
        _case(api, 6, W11, camera_id=None, place_id="p-market"),
        _case(api, 7, W11, camera_id="cam-1"),
    ]
    hotline = ManualReport(CaseSource.HOTLINE, Violation.DEBRIS, locate(SITE, place_id="p-market"), T0, "a call")
    manual = api.ctx.manager.open_manual(hotline, actor="operator").id
    for case_id, verdict in zip(
        [*cases[:4], cases[5], manual], ["confirm", "reject", "reject", "confirm", "confirm", "confirm"], strict=True
    ):
        _verdict(api, case_id, verdict)
    _verdict(api, cases[2], "confirm")  # the latest verdict counts
    _verdict(api, cases[4], "relabel", violation="non_motor_parking")
    _miss(api, "cam-1", T0 + timedelta(hours=2), "exposed_garbage")
    _miss(api, "cam-1", T0 + timedelta(days=1), "exposed_garbage", "garbage")
    _miss(api, "cam-2", W11 + timedelta(hours=1), "motor_parking", "car")


@pytest.mark.parametrize("by", list(EXPECTED))
def test_quality_matches_the_hand_count(api: Api, judged: None, by: str | None) -> None:
    params = PERIOD | ({"by": by} if by else {})
    rows = api.client.get("/api/v1/reports/quality", headers=api.as_("viewer"), params=params).json()
    got = {r["key"]: (r["reviewed"], r["confirmed"], r["rejected"], r["relabelled"], r["missed"]) for r in rows}
    assert got == EXPECTED[by]
    for r in rows:
        reviewed, confirmed, _, _, missed = EXPECTED[by][r["key"]]
        assert r["precision"] == pytest.approx(confirmed / reviewed if reviewed else None)
        assert r["recall"] == pytest.approx(confirmed / (confirmed + missed) if confirmed + missed else None)
    exported = api.client.get("/api/v1/exports/quality.csv", headers=api.as_("viewer"), params=params)
    table = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {(t["group"], int(t["reviewed"]), int(t["confirmed"]), int(t["missed"])) for t in table} == {
        (r["key"] or "all", r["reviewed"], r["confirmed"], r["missed"]) for r in rows
    }
    assert {t["group"]: t["precision"] for t in table} == {
        (r["key"] or "all"): ("" if r["precision"] is None else str(round(r["precision"], 4))) for r in rows
    }


def test_quality_of_another_period_and_of_a_unit_handlers_cameras(api: Api, judged: None) -> None:
    later = {"start": "2026-03-09T00:00:00+08:00", "end": "2026-03-16T00:00:00+08:00"}
    [week11] = api.client.get("/api/v1/reports/quality", headers=api.as_("viewer"), params=later).json()
    assert (week11["reviewed"], week11["confirmed"], week11["missed"]) == (2, 1, 1)
    east = api.client.get("/api/v1/reports/quality", headers=api.as_("handler_east"), params=PERIOD | {"by": "camera"})
    assert [r["key"] for r in east.json()] == ["cam-1"]  # g-east holds cam-1 only
    empty = {"start": "2020-01-01T00:00:00+08:00", "end": "2020-02-01T00:00:00+08:00"}
    [nothing] = api.client.get("/api/v1/reports/quality", headers=api.as_("viewer"), params=empty).json()
    assert (nothing["reviewed"], nothing["precision"], nothing["recall"]) == (0, None, None)
