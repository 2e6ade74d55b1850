"""Webhooks on case events: every line of the append-only case log, POSTed as signed JSON to each subscriber.

The case log is the outbox: a dispatcher thread turns log entries after a webhook's ``after_event_id`` into
``webhook_deliveries`` rows (one per webhook and event, unique), sends those that are due, and on failure (no
answer, or a status other than 2xx) schedules the next attempt with exponential back-off, until
``max_attempts``. A crash loses nothing: rows pending at start-up are simply sent.

Each request carries ``X-GridWatch-Timestamp`` (Unix seconds) and ``X-GridWatch-Signature: sha256=<hex>``, the
HMAC-SHA256 with the webhook's secret of ``<timestamp>.<body>``; receivers recompute it and refuse stale
timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.store.db import Store
from service.store.models import Case, CaseEvent, DeliveryState, Webhook, WebhookDelivery

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-GridWatch-Signature"
TIMESTAMP_HEADER = "X-GridWatch-Timestamp"
EVENT_HEADER = "X-GridWatch-Event"
DELIVERY_HEADER = "X-GridWatch-Delivery"
TEST_EVENT = "test"  # the event and delivery headers of a test message


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>." + body>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is this secret's signature of ``body`` at ``timestamp`` (constant-time compare)."""
    return timestamp.isdigit() and hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def add_webhook(
    session: Session, url: str, secret: str, actions: Sequence[str], *, actor: str, now: datetime
) -> Webhook:
    """Subscribe ``url`` to case events from now on (``actions`` empty: all of them)."""
    last = session.scalar(select(func.max(CaseEvent.id))) or 0
    hook = Webhook(
        url=url,
        secret=secret,
        actions=sorted(set(actions)),
        active=True,
        after_event_id=last,
        created_by=actor,
        created_at=now,
    )
    session.add(hook)
    session.flush()
    return hook


def enqueue(session: Session, now: datetime) -> int:
    """Create the delivery rows of new case-log entries for every active webhook; returns how many."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = 0
    for hook in session.scalars(select(Webhook).where(Webhook.active.is_(True))):
        done = session.scalar(
            select(func.max(WebhookDelivery.case_event_id)).where(WebhookDelivery.webhook_id == hook.id)
        )
        query = select(CaseEvent.id).where(CaseEvent.id > max(hook.after_event_id, done or 0))
        if hook.actions:
            query = query.where(CaseEvent.action.in_(hook.actions))
        ids = list(session.scalars(query.order_by(CaseEvent.id).limit(1000)))
        if not ids:
            continue
        rows = [
            {
                "webhook_id": hook.id,
                "case_event_id": event_id,
                "state": DeliveryState.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event_id in ids
        ]
        stmt = insert(WebhookDelivery).values(rows)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["webhook_id", "case_event_id"]))
        created += len(rows)
    return created


def payload(event: CaseEvent, case: Case, delivery_id: int) -> dict[str, Any]:
    """The JSON body: the log entry and the case as it is now."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "delivery": delivery_id,
        "event": {
            "id": event.id,
            "case_id": event.case_id,
            "at": iso(event.at),
            "actor": event.actor,
            "action": event.action,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "note": event.note,
        },
        "case": {
            "id": case.id,
            "state": case.state,
            "violation": case.violation,
            "event_code": case.event_code,
            "grid_id": case.grid_id,
            "unit_id": case.unit_id,
            "camera_id": case.camera_id,
            "place_id": case.place_id,
            "lat": case.lat,
            "lon": case.lon,
            "first_seen": iso(case.first_seen),
            "last_seen": iso(case.last_seen),
            "deadline_at": iso(case.deadline_at),
        },
    }


def signed_headers(secret: str, timestamp: int, body: bytes, event: str, delivery: str) -> dict[str, str]:
    """The headers of one POST: the event, the delivery, and the signature of ``body`` at ``timestamp``."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "GridWatch-Webhooks/1",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery,
    }


@dataclass(frozen=True)
class TestResult:
    """What the receiver answered a test message: its HTTP status (None: no answer) and the error, if any."""

    __test__ = False  # not a pytest test class, whatever its name

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def send_test(hook: Webhook, now: datetime, timeout_s: float = 10.0) -> TestResult:
    """POST a signed test message (event ``test``, delivery ``test``) to ``hook`` now, outside the outbox, so an
    admin sees at once whether the receiver answers and accepts the signature; nothing is stored."""
    body = json.dumps({"test": True, "webhook": hook.id, "at": now.isoformat()}).encode()
    headers = signed_headers(hook.secret, int(now.timestamp()), body, TEST_EVENT, TEST_EVENT)
    return TestResult(*post(hook.url, body, headers, timeout_s))


@dataclass(frozen=True)
class WebhookStatus:
    """A webhook with its latest delivery (None before the first) and how many deliveries failed for good."""

    hook: Webhook
    last: WebhookDelivery | None
    failed: int


def webhook_statuses(session: Session, *, include_removed: bool = False) -> list[WebhookStatus]:
    """Webhooks in the order they were added, each with its latest delivery and its count of failed ones."""
    query = select(Webhook).order_by(Webhook.id)
    if not include_removed:
        query = query.where(Webhook.active.is_(True))
    hooks = list(session.scalars(query))
    ids = [h.id for h in hooks]
    latest = select(func.max(WebhookDelivery.id)).where(WebhookDelivery.webhook_id.in_(ids))
    lasts = session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.id.in_(latest.group_by(WebhookDelivery.webhook_id)))
    )
    last = {d.webhook_id: d for d in lasts}
    failed_rows = session.execute(
        select(WebhookDelivery.webhook_id, func.count())
        .where(WebhookDelivery.webhook_id.in_(ids), WebhookDelivery.state == DeliveryState.FAILED)
        .group_by(WebhookDelivery.webhook_id)
    )
    failed = {webhook_id: count for webhook_id, count in failed_rows}
    return [WebhookStatus(h, last.get(h.id), failed.get(h.id, 0)) for h in hooks]


@dataclass(frozen=True)
class Backoff:
    """Attempt n (1-based) failed: wait ``base_s * 2**(n-1)``, at most ``max_s``; give up after ``attempts``."""

    base_s: float = 5.0
    max_s: float = 3600.0
    attempts: int = 10

    def delay(self, attempt: int) -> timedelta:
        return timedelta(seconds=min(self.max_s, self.base_s * 2 ** (attempt - 1)))


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> tuple[int | None, str | None]:
    """POST ``body``; returns (status, error): status None when there was no HTTP answer."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status), None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]


class WebhookDispatcher:
    """The background thread that enqueues and sends deliveries."""

    def __init__(
        self,
        store: Store,
        *,
        backoff: Backoff | None = None,
        poll_s: float = 1.0,
        timeout_s: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.backoff = backoff or Backoff()
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database may be away for a while: deliveries wait in their table
                log.exception("webhook dispatcher failed; retrying")
            self._stop.wait(self.poll_s)

    def run_once(self) -> int:
        """Enqueue new events and send every due delivery once; returns how many were sent successfully."""
        with self.store.transaction() as s:
            enqueue(s, self.clock())
        with self.store.session() as s:
            due = list(
                s.scalars(
                    select(WebhookDelivery.id)
                    .where(WebhookDelivery.state == DeliveryState.PENDING)
                    .where(WebhookDelivery.next_attempt_at <= self.clock())
                    .order_by(WebhookDelivery.id)
                    .limit(100)
                )
            )
        return sum(self._send(delivery_id) for delivery_id in due if not self._stop.is_set())

    def _send(self, delivery_id: int) -> bool:
        with self.store.session() as s:
            delivery = s.get_one(WebhookDelivery, delivery_id)
            hook = s.get_one(Webhook, delivery.webhook_id)
            event = s.get_one(CaseEvent, delivery.case_event_id)
            body = json.dumps(payload(event, s.get_one(Case, event.case_id), delivery.id), ensure_ascii=False)
            url, secret, action = hook.url, hook.secret, event.action
        data = body.encode()
        headers = signed_headers(secret, int(self.clock().timestamp()), data, action, str(delivery_id))
        status, error = post(url, data, headers, self.timeout_s)
        ok = status is not None and 200 <= status < 300
        now = self.clock()
        with self.store.transaction() as s:
            delivery = s.get_one(WebhookDelivery, delivery_id)
            delivery.attempts += 1
            delivery.last_status, delivery.last_error = status, None if ok else error
            if ok:
                delivery.state, delivery.delivered_at = DeliveryState.DELIVERED, now
            elif delivery.attempts >= self.backoff.attempts:
                delivery.state = DeliveryState.FAILED
            else:
                delivery.next_attempt_at = now + self.backoff.delay(delivery.attempts)
        return ok
