"""The attacks on ``gridwatch serve`` over HTTP that the independent attack found (issue 14), against the real
process on a loopback port with raw sockets where the attack lives below HTTP clients: huge and endless bodies,
bodies sent before authentication, and the other faults of the HTTP surface.
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cli.serve import server_config
from service.api.headers import SecurityHeaders
from service.app import create_app
from service.core.config import Settings
from service.core.site import dump_site
from service.store.db import open_store
from tests.db_fixtures import SITE
from tests.service_process import ServiceProcess, free_port
from vision.detector import Detector

# The server's bound on slow headers and bodies here, and how long a slow client below keeps dribbling at most: the
# server must cut it off well before it would have finished (no timing beyond that).
SLOW_BOUND_S = 2
DRIBBLE_S = 0.5
DRIBBLES = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    root = tmp_path_factory.mktemp("attack-http")
    site = root / "site.yaml"
    dump_site(SITE, site)
    env = {"GRIDWATCH_SITE": str(site), "GRIDWATCH_THREADS": "1", "GRIDWATCH_MAX_BODY_BYTES": str(64 * 1024)}
    env |= {"GRIDWATCH_HEADER_TIMEOUT_S": str(SLOW_BOUND_S), "GRIDWATCH_BODY_TIMEOUT_S": str(SLOW_BOUND_S)}
    with ServiceProcess(root, env) as service:
        yield service


def raw(server: ServiceProcess, head: str, body: bytes = b"", *, timeout: float = 10.0) -> tuple[bytes, float]:
    """Send ``head`` (request line and headers) and ``body`` on a fresh connection; the answer's bytes as far as
    the server sends them before closing or ``timeout``, and the seconds until its first byte."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        start = time.monotonic()
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = sock.recv(65536)
        first = time.monotonic() - start
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and len(answer) > 2000:
                    break
        except TimeoutError:
            pass
    return answer, first


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


# ---- 3. bodies are bounded and wait for authentication --------------------------------------------------


def test_a_huge_anonymous_login_body_is_refused_before_it_is_read(server: ServiceProcess) -> None:
    head = f"POST /api/v1/auth/login HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: {400 << 20}\n"
    answer, first = raw(server, head, b'{"username": "')
    assert status(answer) == 413 and first < 5.0, answer[:300]


def test_a_chunked_body_is_cut_off_at_the_limit(server: ServiceProcess) -> None:
    head = "POST /api/v1/auth/login HTTP/1.1\nHost: x\nContent-Type: application/json\nTransfer-Encoding: chunked\n"
    chunk = b"a" * 16384
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8))  # 128 KiB, twice the limit
    answer, _ = raw(server, head, body)
    assert status(answer) == 413, answer[:300]


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/cases/verdicts", "/api/v1/webhooks"])
def test_an_anonymous_body_to_a_protected_route_is_refused_before_it_is_read(server: ServiceProcess, path: str) -> None:
    # 60 KiB declared (under the size limit), 10 bytes sent: a server that read the body first would wait for it.
    head = f"POST {path} HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: {60 * 1024}\n"
    answer, first = raw(server, head, b'{"name": "', timeout=8.0)
    assert status(answer) == 401 and first < 5.0, answer[:300]
    forged = head + "Authorization: Bearer gw_not-a-real-token\n"
    answer, first = raw(server, forged, b'{"name": "', timeout=8.0)
    assert status(answer) == 401 and first < 5.0, answer[:300]


def test_a_signed_in_admin_still_posts_bodies(server: ServiceProcess) -> None:
    server.add_user("body-check", "viewer", "correct-horse-battery")


# ---- 13. a client dropping mid-upload is no server error ----------------------------------------------------


def test_a_client_dropping_mid_upload_leaves_no_traceback(server: ServiceProcess) -> None:
    token = server.login()["Authorization"]
    boundary = "gwdrop"
    head = (
        f"POST /api/v1/batches HTTP/1.1\nHost: x\nAuthorization: {token}\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\nContent-Length: {10 << 20}\n"
    )
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'.encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + part + b"\xff\xd8" * 50_000)
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    while "cut off by the client" not in server.log_tail(20_000) and time.monotonic() < deadline:
        time.sleep(0.2)
    log = server.log_tail(20_000)
    assert "cut off by the client" in log
    assert "Traceback" not in log and "unhandled error" not in log
    assert not any((server.data_dir / "batches").glob("*/*"))


# ---- 6. no open redirect after login --------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/%5C127.0.0.1:19999/pwned.html",
        "/%5C%5Cevil.example/x",
        "//evil.example/",
        "/%09/evil.example/",
        "https://evil.example/",
    ],
)
def test_the_login_page_sends_users_only_to_this_site(server: ServiceProcess, target: str) -> None:
    page = httpx.get(f"{server.url}/login?next={target}").text
    assert 'data-next="/"' in page, re.findall(r'data-next="[^"]*"', page)


def test_the_login_page_keeps_a_local_destination(server: ServiceProcess) -> None:
    page = httpx.get(f"{server.url}/login?next=/cases%3Fstate%3Dfiled").text
    assert 'data-next="/cases?state=filed"' in page


# ---- 9. security headers: no framing, a content policy, no referrer to other sites ----------------------


@pytest.mark.parametrize("path", ["/login", "/review", "/api/v1/cases", "/healthz", "/static/app.js"])
def test_every_response_forbids_framing_and_carries_a_content_policy(server: ServiceProcess, path: str) -> None:
    headers = server.login()
    response = httpx.get(f"{server.url}{path}", headers=headers, follow_redirects=False)
    assert response.headers["x-frame-options"] == "DENY"
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline' ;" not in policy
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers  # plain HTTP here: HSTS only when configured


def test_hsts_is_sent_when_configured() -> None:
    app = FastAPI()
    app.add_middleware(SecurityHeaders, hsts_seconds=31_536_000)
    response = TestClient(app).get("/nothing")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


# ---- 10. readiness tells no one where the database is -------------------------------------------------------


def test_readyz_names_no_database_host_or_port(tmp_path: Path, detector: Detector) -> None:
    app = create_app(Settings(data_dir=tmp_path, model=detector.path), detector=detector)
    with TestClient(app) as client:
        app.state.ctx.store.dispose()
        app.state.ctx.store = open_store("postgresql+psycopg://gw:pw@10.11.12.13:5999/none", migrate=False)
        down = client.get("/readyz")
    assert down.status_code == 503 and down.json()["database"] == "unreachable"
    assert "10.11.12.13" not in down.text and "5999" not in down.text


# ---- 12. weak passwords and the command line's name ------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["12345678", "password", " " * 8, "  abc   ", "87654321", "aaaaaaaa", "qwertyuiop", "Password1", "weak-1"],
)
def test_weak_passwords_are_refused(server: ServiceProcess, password: str) -> None:
    body = {"name": "weakling", "role": "viewer", "password": password, "grids": []}
    response = httpx.post(f"{server.url}/api/v1/users", json=body, headers=server.login())
    assert response.status_code == 422, response.text


def test_no_user_may_be_named_cli(server: ServiceProcess) -> None:
    for name in ("cli", "CLI"):
        body: dict[str, object] = {"name": name, "role": "admin", "password": "correct-horse-battery", "grids": []}
        response = httpx.post(f"{server.url}/api/v1/users", json=body, headers=server.login())
        assert response.status_code == 422, response.text


# ---- 14. the SQLite store is private to its owner ------------------------------------------------------------


def test_the_sqlite_store_is_readable_by_its_owner_only(server: ServiceProcess) -> None:
    for path in server.data_dir.glob("gridwatch.db*"):
        assert path.stat().st_mode & 0o777 == 0o600, f"{path.name}: {oct(path.stat().st_mode)}"


# ---- 11. a spoofed X-Forwarded-For does not reset the login limit ------------------------------------------


def test_rotating_forwarded_headers_do_not_escape_the_login_limit(server: ServiceProcess) -> None:
    codes = []
    for n in range(8):
        headers = {"X-Forwarded-For": f"203.0.113.{n}"}
        body = {"username": "spray-target", "password": f"wrong-guess-{n}"}
        codes.append(httpx.post(f"{server.url}/api/v1/auth/login", json=body, headers=headers).status_code)
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes


# ---- slow clients: headers and bodies are bounded in time ------------------------------------------------------


def dribble(sock: socket.socket, pieces: Iterator[bytes]) -> tuple[bytes, int]:
    """Send one piece every DRIBBLE_S seconds until the server answers (or DRIBBLES pieces); the answer, read to
    the connection's end, and how many pieces went out."""
    sent = 0
    for piece in pieces:
        if select.select([sock], [], [], DRIBBLE_S)[0] or sent == DRIBBLES:
            break
        sock.sendall(piece)
        sent += 1
    sock.settimeout(10.0)
    answer = b""
    try:
        while chunk := sock.recv(65536):  # the server closes the connection after its 408
            answer += chunk
    except ConnectionResetError:
        # a piece sent just as the server closed lies unread in its socket, so its kernel ends the connection with
        # a reset instead of a FIN; what the server sent before (its 408) has already been read
        pass
    return answer, sent


def test_a_connection_that_sends_nothing_is_closed(server: ServiceProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        answer, _ = dribble(sock, iter(()))
    assert status(answer) == 408


def test_headers_sent_a_byte_at_a_time_get_408(server: ServiceProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        answer, sent = dribble(sock, (b"X" for _ in range(1000)))
    assert status(answer) == 408 and sent < DRIBBLES, (answer[:200], sent)


def test_a_body_sent_a_byte_at_a_time_gets_408(server: ServiceProcess) -> None:
    head = (
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head.encode())
        answer, sent = dribble(sock, (b" " for _ in range(200)))
    assert status(answer) == 408 and sent < DRIBBLES, (answer[:200], sent)
    assert b'"code":"timeout"' in answer and b"connection: close" in answer.lower()


def _upload_head(server: ServiceProcess, boundary: str) -> bytes:
    token = server.login()["Authorization"]
    head = (
        f"POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {10 << 20}\r\n\r\n"
    )
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'
    return (head + part).encode()


def test_an_upload_that_stalls_gets_408_but_a_slow_steady_one_goes_on(server: ServiceProcess) -> None:
    head = _upload_head(server, "gwslow")  # signed in first: an idle new connection would meet the header bound
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head)
        # a piece every DRIBBLE_S: slow, but never a pause as long as the bound, so longer than it in all
        steady = (b"\xff" * 100 for _ in range(3 * SLOW_BOUND_S * int(1 / DRIBBLE_S)))
        answer, sent = dribble(sock, itertools.chain(steady, (b"" for _ in range(DRIBBLES))))
    assert sent >= 3 * SLOW_BOUND_S * int(1 / DRIBBLE_S), (answer[:200], sent)  # the steady part went through
    assert status(answer) == 408, answer[:300]  # then nothing came (empty pieces) and the server gave up


# ---- 14. after a 500 the keep-alive connection still serves the next request ---------------------------------


@pytest.fixture
def failing_server(tmp_path: Path, detector: Detector) -> Iterator[int]:
    """``gridwatch serve``'s uvicorn settings in this process, on an app with one route that fails as a bug would."""
    settings = Settings(data_dir=tmp_path, model=detector.path)
    app = create_app(settings, detector=detector)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/broken", broken)
    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started, "the server did not start"
    yield port
    server.should_exit = True
    thread.join(60)


def test_a_500_keeps_the_connection_for_the_next_request(failing_server: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", failing_server, timeout=30)
    connection.request("GET", "/api/v1/broken")
    failed = connection.getresponse()
    assert failed.status == 500 and json.loads(failed.read())["code"] == "internal"
    assert not failed.will_close
    sock = connection.sock
    connection.request("GET", "/healthz")  # on the same socket: http.client reconnects only after a close
    answer = connection.getresponse()
    assert answer.status == 200 and answer.read()
    assert connection.sock is sock
    connection.close()
