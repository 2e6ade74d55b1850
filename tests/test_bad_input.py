"""Bad input through the real API and the real CLI: broken, odd and hostile images (tests.hostile_inputs), hostile
zip entries and archives, wrong content types, malformed multipart and JSON, oversized fields and headers.

Every one gets a clear 4xx, or a per-file error while the rest goes on; nothing answers 5xx, and nothing is written
outside the data directory: the tree around it is snapshotted before and after, the files inside it must have the
server's own names, and the paths the hostile names point at must not exist.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.batches.store import batches_with_pending_items
from service.core.site import dump_site
from tests.api_fixtures import Api, batch_app
from tests.conftest import ROOT
from tests.hostile_inputs import (
    HOSTILE_FILES,
    OK,
    HostileEntry,
    HostileFile,
    build_zip,
    escape_targets,
    hostile_entries,
    hostile_zip,
    photo,
    png_bomb,
    tree,
    truncated,
    zip_bomb,
)
from tests.stream_fixtures import wait_for
from tests.test_batches import BATCH_SITE, PLACE, wait_done
from vision.detector import Detector

pytest_plugins = ["tests.db_fixtures"]

MARKER = f"gw-escape-{uuid.uuid4().hex[:10]}"
# What the server itself names the files it writes under the data directory.
SERVER_NAMES = re.compile(
    r"(gridwatch\.db(-wal|-shm|-journal)?"
    r"|runtime-choice\.json"  # auto's measured choice of CPU runtime (vision/engines/tuning.py)
    r"|batches/[0-9a-f]{32}/\d{6}\.(jpg|jpeg|jpe|png|webp|bmp|bin)"
    r"|evidence/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,8}"
    r"|evidence-private/.+\.jpg)"
)


@dataclass
class Env:
    """The app on a SQLite store inside its data directory, and the folder around that directory."""

    api: Api
    root: Path  # holds data/ and site.yaml only

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _batches_done(self) -> bool:
        with self.api.ctx.store.session() as session:
            return not batches_with_pending_items(session)

    @contextmanager
    def nothing_escapes(self) -> Iterator[None]:
        """Whatever happens in the block writes only server-named files inside the data directory."""
        outside = {k: v for k, v in tree(self.root).items() if not k.startswith("data/")}
        top = {p.name for p in Path("/tmp").iterdir()} | {p.name for p in ROOT.iterdir()}
        yield
        # The batch worker may still be judging an accepted photo, its evidence half-written under a temp name: look
        # once every batch is done (a condition, not a pause).
        wait_for(self._batches_done, 120, "the batch worker to finish the accepted photos", interval=0.1)
        after = {k: v for k, v in tree(self.root).items() if not k.startswith("data/")}
        assert after == outside, "files appeared or changed beside the data directory"
        stray = [k for k in tree(self.data_dir) if not SERVER_NAMES.fullmatch(k)]
        assert not stray, f"files the server did not name (temp or partial files, client names): {stray}"
        assert not [p for p in escape_targets(MARKER) if os.path.lexists(p)], "a hostile entry escaped"
        new_top = ({p.name for p in Path("/tmp").iterdir()} | {p.name for p in ROOT.iterdir()}) - top
        assert not [n for n in new_top if MARKER in n]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, detector: Detector) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("bad-input")
    with batch_app(root, detector) as api:
        yield Env(api, root)


def _upload(env: Env, files: list[tuple[str, bytes]], **data: str) -> Any:
    parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
    return env.api.client.post("/api/v1/batches", headers=env.api.as_("operator"), files=parts, data=data)


def _items(env: Env, batch_id: str) -> list[dict[str, Any]]:
    body = env.api.client.get(f"/api/v1/batches/{batch_id}/items", headers=env.api.as_("operator")).json()
    return list(body["items"])


# ---- files through POST /batches -----------------------------------------------------------------------


@pytest.mark.parametrize("case", HOSTILE_FILES, ids=str)
def test_upload_of_each_hostile_file_gives_a_per_file_outcome(env: Env, case: HostileFile) -> None:
    with env.nothing_escapes():
        response = _upload(env, [(case.name, case.build())], place=PLACE)
        assert response.status_code == 202, response.text
        done = wait_done(env.api.client, env.api.as_("operator"), response.json()["id"], timeout=120)
    (item,) = _items(env, done["id"])
    if case.expect == OK:
        assert item["state"] == "done" and done["failed"] == 0, item
    else:
        assert item["state"] == "failed" and case.expect in item["error"], item
        assert done["errors"][0]["error"] == item["error"]
    assert item["name"] == case.name[:255]


@pytest.fixture(scope="module")
def zip_batch(env: Env) -> dict[str, Any]:
    """One upload of a zip holding every hostile entry, processed."""
    with env.nothing_escapes():
        response = _upload(env, [("patrol 巡查.zip", hostile_zip(hostile_entries(MARKER)))], place=PLACE)
        assert response.status_code == 202, response.text
        return wait_done(env.api.client, env.api.as_("operator"), response.json()["id"], timeout=120)


@pytest.mark.parametrize("entry", hostile_entries(MARKER), ids=str)
def test_each_hostile_zip_entry_is_refused_by_name_with_its_reason(
    zip_batch: dict[str, Any], entry: HostileEntry
) -> None:
    shown = f"patrol 巡查.zip/{entry.name}"
    refused = {r["name"]: r["error"] for r in zip_batch["rejected"]}
    if entry.expect == OK:
        assert shown not in refused and zip_batch["processed"] == zip_batch["total"] == 1
    else:
        assert entry.expect in refused[shown], refused


HOSTILE_ARCHIVES = [
    ("truncated-zip", "day2.zip", lambda: truncated(build_zip([("a.jpg", photo()), ("b.jpg", photo())]), 0.6)),
    ("zero-byte-zip", "empty.zip", bytes),
    ("text-as-zip", "notes.zip", lambda: b"PK is how this text begins, and nothing else of a zip"),
    ("whole-zip-bomb", "bomb.zip", zip_bomb),
]


@pytest.mark.parametrize(("name", "build"), [a[1:] for a in HOSTILE_ARCHIVES], ids=[a[0] for a in HOSTILE_ARCHIVES])
def test_a_broken_or_bombing_archive_is_a_per_file_error(env: Env, name: str, build: Callable[[], bytes]) -> None:
    with env.nothing_escapes():
        response = _upload(env, [(name, build()), ("good.jpg", photo())], place=PLACE)
        assert response.status_code == 202, response.text
        body = response.json()
    assert body["total"] == 1 and len(body["rejected"]) == 1
    assert re.search(r"unreadable zip|zip bomb|corrupt archive|over the limit", body["rejected"][0]["error"]), body[
        "rejected"
    ]


# ---- the handling photo: POST /cases/{id}/handle -------------------------------------------------------


@pytest.fixture(scope="module")
def case_id(env: Env) -> int:
    return env.api.open_case("cam-1", "bad-input")


@pytest.mark.parametrize("case", HOSTILE_FILES, ids=str)
def test_handling_photo_is_checked_before_anything_is_kept(env: Env, case_id: int, case: HostileFile) -> None:
    files = {"photo": (case.name, case.build(), "image/jpeg")}
    with env.nothing_escapes():
        response = env.api.client.post(
            f"/api/v1/cases/{case_id}/handle", headers=env.api.as_("operator"), files=files, data={"note": "done"}
        )
    if case.expect == OK:
        assert response.status_code == 409, response.text  # the photo passes; the case is not dispatched yet
    else:
        assert response.status_code == 422 and case.expect in response.json()["detail"], response.text


# ---- requests: content types, multipart, JSON, sizes, headers ------------------------------------------

BOUNDARY = "gwboundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def _part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


def _multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@dataclass(frozen=True)
class BadRequest:
    """A request as a broken or hostile client sends it, and the 4xx statuses that are a clear answer to it."""

    id: str
    method: str
    path: str
    expect: frozenset[int]
    body: bytes | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    caller: str | None = "operator"

    def __str__(self) -> str:
        return self.id


def _bad(id: str, method: str, path: str, *expect: int, **kwargs: Any) -> BadRequest:
    return BadRequest(id, method, path, frozenset(expect), **kwargs)


_JSON = "application/json"
BATCHES, CASES = "/api/v1/batches", "/api/v1/cases"
BAD_REQUESTS = [
    # photo batches
    _bad("batch-json-body", "POST", BATCHES, 415, body=b'{"files": []}', content_type=_JSON),
    _bad("batch-text-body", "POST", BATCHES, 415, body=b"hello", content_type="text/plain"),
    _bad("batch-no-content-type", "POST", BATCHES, 415, body=b"hello"),
    _bad("batch-multipart-no-boundary", "POST", BATCHES, 415, body=b"x", content_type="multipart/form-data"),
    _bad(
        "batch-multipart-garbage", "POST", BATCHES, 400, 422, body=b"\x00\xff garbage \r\n\r\n", content_type=MULTIPART
    ),
    _bad(
        "batch-multipart-truncated",
        "POST",
        BATCHES,
        400,
        422,
        body=_multipart(_part("files", photo(), "a.jpg"))[:-200],
        content_type=MULTIPART,
    ),
    _bad(
        "batch-empty-multipart", "POST", BATCHES, 400, 422, body=f"--{BOUNDARY}--\r\n".encode(), content_type=MULTIPART
    ),
    _bad(
        "batch-place-oversized",
        "POST",
        BATCHES,
        413,
        body=_multipart(_part("place", b"p" * 5000), _part("files", photo(), "a.jpg")),
        content_type=MULTIPART,
    ),
    _bad(
        "batch-too-many-fields",
        "POST",
        BATCHES,
        413,
        body=_multipart(*[_part(f"f{i}", b"v") for i in range(40)], _part("files", photo(), "a.jpg")),
        content_type=MULTIPART,
    ),
    *[
        _bad(
            f"batch-lat-{value}",
            "POST",
            BATCHES,
            422,
            body=_multipart(_part("lat", value.encode()), _part("lon", b"121.4"), _part("files", photo(), "a.jpg")),
            content_type=MULTIPART,
        )
        for value in ("nan", "inf", "-1e999", "95", "abc", "1_0e400")
    ],
    _bad(
        "batch-unknown-place",
        "POST",
        BATCHES,
        422,
        body=_multipart(_part("place", "不存在".encode()), _part("files", photo(), "a.jpg")),
        content_type=MULTIPART,
    ),
    _bad(
        "batch-declared-length-huge",
        "POST",
        BATCHES,
        413,
        body=_multipart(_part("files", photo(), "a.jpg")),
        content_type=MULTIPART,
        headers=(("content-length-override", str(10**13)),),
    ),
    _bad("batch-bad-id", "GET", f"{BATCHES}/..%2F..%2Fetc%2Fpasswd", 404, 422),
    _bad("batch-items-bad-state", "GET", f"{BATCHES}/{'0' * 32}/items?state=bogus", 422),
    # the handling photo
    _bad(
        "handle-no-photo",
        "POST",
        f"{CASES}/1/handle",
        422,
        body=_multipart(_part("note", b"n")),
        content_type=MULTIPART,
    ),
    _bad("handle-json", "POST", f"{CASES}/1/handle", 422, body=b'{"photo": "x"}', content_type=_JSON),
    _bad(
        "handle-note-oversized",
        "POST",
        f"{CASES}/1/handle",
        422,
        body=_multipart(_part("note", b"n" * 5000), _part("photo", png_bomb(), "p.png")),
        content_type=MULTIPART,
    ),
    _bad("handle-case-id-huge", "POST", f"{CASES}/99999999999999999999/handle", 422),
    # JSON endpoints
    _bad(
        "login-malformed-json",
        "POST",
        "/api/v1/auth/login",
        422,
        body=b'{"username": "admin", ',
        content_type=_JSON,
        caller=None,
    ),
    _bad("login-json-array", "POST", "/api/v1/auth/login", 422, body=b"[1, 2, 3]", content_type=_JSON, caller=None),
    _bad(
        "login-not-utf8",
        "POST",
        "/api/v1/auth/login",
        400,
        422,
        body=b'{"username": "\xff\xfe"}',
        content_type=_JSON,
        caller=None,
    ),
    _bad(
        "login-name-oversized",
        "POST",
        "/api/v1/auth/login",
        422,
        body=json.dumps({"username": "a" * 100_000, "password": "x"}).encode(),
        content_type=_JSON,
        caller=None,
    ),
    _bad(
        "login-form-encoded",
        "POST",
        "/api/v1/auth/login",
        422,
        body=b"username=a&password=b",
        content_type="application/x-www-form-urlencoded",
        caller=None,
    ),
    _bad("action-malformed-json", "POST", f"{CASES}/1/actions/file", 422, body=b"{note: 'x'}", content_type=_JSON),
    _bad("action-unknown", "POST", f"{CASES}/1/actions/explode", 422, body=b"{}", content_type=_JSON),
    _bad(
        "action-note-oversized",
        "POST",
        f"{CASES}/1/actions/file",
        422,
        body=json.dumps({"note": "n" * 10_000}).encode(),
        content_type=_JSON,
    ),
    _bad(
        "bulk-too-many-ids",
        "POST",
        f"{CASES}/actions",
        422,
        body=json.dumps({"case_ids": list(range(1, 100_001)), "action": "file"}).encode(),
        content_type=_JSON,
    ),
    _bad(
        "bulk-ids-wrong-type",
        "POST",
        f"{CASES}/actions",
        422,
        body=json.dumps({"case_ids": ["1; DROP TABLE cases"], "action": "file"}).encode(),
        content_type=_JSON,
    ),
    _bad(
        "verdict-deeply-nested",
        "POST",
        f"{CASES}/verdicts",
        400,
        422,
        body=b'{"items": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        content_type=_JSON,
    ),
    _bad("site-malformed-json", "PUT", "/api/v1/site", 422, body=b'{"units": [', content_type=_JSON, caller="admin"),
    _bad("site-null", "PUT", "/api/v1/site", 422, body=b"null", content_type=_JSON, caller="admin"),
    _bad(
        "site-camera-id-traversal",
        "PUT",
        "/api/v1/site/cameras/..%2F..%2Fetc",
        404,
        422,
        body=b"{}",
        content_type=_JSON,
        caller="admin",
    ),
    _bad(
        "user-name-oversized",
        "POST",
        "/api/v1/users",
        422,
        body=json.dumps({"name": "名" * 10_000, "role": "viewer", "password": "12345678"}).encode(),
        content_type=_JSON,
        caller="admin",
    ),
    _bad("cases-bad-date", "GET", f"{CASES}?since=yesterday", 422),
    _bad("cases-naive-date", "GET", f"{CASES}?since=2026-01-01T00:00:00", 422),
    _bad("cases-since-year-1", "GET", f"{CASES}?since=0001-01-01T00:00:00%2B00:01", 422),
    _bad("observations-until-year-9999", "GET", "/api/v1/observations?until=9999-12-31T23:59:59-01:00", 422),
    _bad("kpis-end-year-1", "GET", "/api/v1/reports/kpis?end=0001-01-02T00:00:00Z", 422),
    _bad(
        "extend-deadline-year-1",
        "POST",
        f"{CASES}/1/actions/extend",
        422,
        body=b'{"deadline": "0001-01-01T00:00:00+08:00"}',
        content_type=_JSON,
    ),
    _bad("cases-limit-negative", "GET", f"{CASES}?limit=-1", 422),
    _bad("cases-offset-huge", "GET", f"{CASES}?offset={10**30}", 422),
    _bad("cases-grid-many", "GET", f"{CASES}?" + "&".join(["grid=g"] * 500), 422),
    _bad("evidence-not-sha", "GET", "/api/v1/evidence/..%2F..%2Fgridwatch.db", 404, 422),
    # headers
    _bad(
        "auth-basic-scheme", "GET", f"{CASES}", 401, headers=(("authorization", "Basic YWRtaW46YWRtaW4="),), caller=None
    ),
    _bad("auth-empty-bearer", "GET", f"{CASES}", 401, headers=(("authorization", "Bearer "),), caller=None),
    _bad("auth-huge-token", "GET", f"{CASES}", 401, headers=(("authorization", "Bearer " + "x" * 8000),), caller=None),
    _bad("auth-unicode-token", "GET", f"{CASES}", 401, headers=(("authorization", "Bearer ключ"),), caller=None),
]


@pytest.mark.parametrize("bad", BAD_REQUESTS, ids=str)
def test_bad_request_gets_a_clear_4xx(env: Env, bad: BadRequest) -> None:
    headers = {k: v for k, v in bad.headers if k != "content-length-override"}
    if bad.caller is not None:
        headers |= env.api.as_(bad.caller)
    if bad.content_type is not None:
        headers["content-type"] = bad.content_type
    override = dict(bad.headers).get("content-length-override")
    if override is not None:
        headers["content-length"] = override
    env.api.client.cookies.clear()
    with env.nothing_escapes():
        response = env.api.client.request(
            bad.method, bad.path, content=bad.body, headers={k: v.encode("utf-8") for k, v in headers.items()}
        )
    assert response.status_code in bad.expect, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["code"] and "Traceback" not in response.text


# ---- the CLI: gridwatch detect and gridwatch scan as real processes ------------------------------------


@pytest.fixture(scope="module")
def cli_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every hostile file, loose (each in its own folder, named as sent) and in a hostile zip."""
    folder = tmp_path_factory.mktemp("cli-inputs")
    for i, case in enumerate(HOSTILE_FILES):
        sub = folder / f"{i:02d}"
        sub.mkdir()
        (sub / case.name[:200]).write_bytes(case.build())
    (folder / "patrol.zip").write_bytes(hostile_zip(hostile_entries(MARKER)))
    return folder


def _cli(command: str, inputs: Path, data_dir: Path, *extra: str) -> tuple[int, list[dict[str, Any]], str]:
    paths = [str(p / n) for p in sorted(inputs.glob("[0-9]*")) for n in sorted(os.listdir(p))]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRIDWATCH_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", command, *paths, str(inputs / "patrol.zip"), "--format", "jsonl", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, lines, done.stderr


def _key(path: str) -> str:
    """A loose file by its name, a zip entry as ``patrol.zip/<entry name>``."""
    head, zipped, entry = path.partition("patrol.zip/")
    return f"patrol.zip/{entry}" if zipped else Path(head).name


@pytest.fixture(scope="module", params=["detect", "scan"])
def cli_run(
    request: pytest.FixtureRequest, cli_inputs: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, dict[str, dict[str, Any]], str, Path]:
    """One real run of ``gridwatch detect`` / ``gridwatch scan`` over every input: exit status, the line of each
    file by name, stderr, and the folder that held the data directory (checked to hold nothing else)."""
    root = tmp_path_factory.mktemp(f"cli-{request.param}")
    site = root / "site.yaml"
    dump_site(BATCH_SITE, site)
    outside = tree(root)
    extra = ("--site", str(site), "--place", PLACE) if request.param == "scan" else ()
    code, lines, stderr = _cli(request.param, cli_inputs, root / "data", *extra)
    assert tree(root).keys() - {k for k in tree(root) if k.startswith("data/")} == outside.keys()
    stray = [k for k in tree(root / "data") if not SERVER_NAMES.fullmatch(k)]
    assert not stray and not [p for p in escape_targets(MARKER) if os.path.lexists(p)]
    named = {_key(rec["path"]): rec for rec in lines}
    return code, named, stderr, root


@pytest.mark.parametrize("case", HOSTILE_FILES, ids=str)
def test_cli_reports_each_hostile_file_on_its_line(
    cli_run: tuple[int, dict[str, dict[str, Any]], str, Path], case: HostileFile
) -> None:
    code, by_name, stderr, _ = cli_run
    assert code == 0 and "Traceback" not in stderr, stderr[-2000:]
    rec = by_name[case.name[:200]]
    if case.expect == OK:
        assert "error" not in rec, rec
    else:
        assert case.expect in rec["error"], rec


def test_cli_reads_hostile_zip_entries_in_place_without_writing_them(
    cli_run: tuple[int, dict[str, dict[str, Any]], str, Path],
) -> None:
    """The CLI reads archives in place (never extracts): only image-named entries are tried, by their names."""
    _, by_name, _, _ = cli_run
    for entry in hostile_entries(MARKER):
        rec = by_name.get(f"patrol.zip/{entry.name}")
        if entry.expect == OK:
            assert rec is not None and "error" not in rec, rec
        elif entry.id == "bomb":
            assert rec is not None and "error" in rec, rec  # inflated, within the read limit, and not an image
