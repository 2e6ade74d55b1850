"""Webhooks against a real HTTP server thread: signed bodies that verify, retries with back-off after 500s,
the delivery log, and only events after the subscription; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from domain.lifecycle import Action
from service.cases.manager import CaseManager
from service.integrations.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Backoff,
    WebhookDispatcher,
    add_webhook,
    verify,
)
from service.store.models import DeliveryState, WebhookDelivery
from tests.db_fixtures import T0, picture, sighting

pytest_plugins = ["tests.db_fixtures"]

SECRET = "a-shared-secret-of-32-characters"


class Receiver:
    """A local HTTP server answering with the statuses queued in ``answers`` (then 200), recording requests."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def run_until(dispatcher: WebhookDispatcher, done: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatcher.run_once()
        if callable(done) and done():
            return
        time.sleep(0.02)
    raise AssertionError("webhook deliveries did not finish in time")


def test_signed_deliveries_retry_on_500_then_succeed(manager: CaseManager, receiver: Receiver) -> None:
    store = manager.store
    before = manager.ingest(*sighting(at=T0), [picture("old")], "m1", "sha-old").case.id  # before the subscription
    with store.transaction() as s:
        add_webhook(s, receiver.url, SECRET, [], actor="admin", now=T0)
    case = manager.ingest(*sighting(camera_id="cam-2", at=T0), [picture("new")], "m1", "sha-new").case.id
    manager.act(case, Action.FILE, actor="operator")
    receiver.answers = [500, 500]  # both deliveries fail once, then succeed on a retry
    dispatcher = WebhookDispatcher(store, backoff=Backoff(base_s=0.05, max_s=0.2, attempts=5), timeout_s=5)

    def delivered() -> bool:
        with store.session() as s:
            rows = list(s.scalars(select(WebhookDelivery)))
        return len(rows) == 2 and all(r.state == DeliveryState.DELIVERED for r in rows)

    run_until(dispatcher, delivered)
    with store.session() as s:
        rows = list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.case_event_id)))
    assert [r.attempts for r in rows] == [2, 2] and {r.last_status for r in rows} == {200}
    assert len(receiver.requests) == 4
    actions = []
    for headers, body in receiver.requests:
        stamp, signature = headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()]
        assert verify(SECRET, stamp, body, signature)
        assert not verify("another-secret-of-32-characters!", stamp, body, signature)
        assert not verify(SECRET, stamp, body + b" ", signature)
        payload = json.loads(body)
        assert payload["case"]["id"] == case != before and payload["delivery"] == int(headers[DELIVERY_HEADER.lower()])
        actions.append(payload["event"]["action"])
    assert sorted(actions) == ["file", "file", "open", "open"]


def test_a_dead_receiver_is_given_up_after_the_last_attempt(manager: CaseManager, receiver: Receiver) -> None:
    store = manager.store
    with store.transaction() as s:
        add_webhook(s, receiver.url, SECRET, ["open"], actor="admin", now=T0)
    manager.ingest(*sighting(at=T0), [picture("x")], "m1", "sha-x")
    receiver.answers = [503] * 10
    dispatcher = WebhookDispatcher(store, backoff=Backoff(base_s=0.01, max_s=0.02, attempts=3), timeout_s=5)

    def failed() -> bool:
        with store.session() as s:
            row = s.scalars(select(WebhookDelivery)).one_or_none()
        return row is not None and row.state == DeliveryState.FAILED

    run_until(dispatcher, failed)
    with store.session() as s:
        row = s.scalars(select(WebhookDelivery)).one()
    assert row.attempts == 3 and row.last_status == 503 and row.last_error == "HTTP 503"
    assert len(receiver.requests) == 3
