"""Webhook subscriptions (admin): add, list (with each one's latest delivery), test, remove, and the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AnyHttpUrl, Field
from sqlalchemy import select

from service.api.deps import Admin, CtxDep, SessionDep
from service.api.errors import not_found
from service.api.schemas import Request, Response
from service.auth import audit
from service.integrations.webhooks import add_webhook, send_test, webhook_statuses
from service.store.models import Webhook, WebhookDelivery

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


class WebhookIn(Request):
    url: AnyHttpUrl
    secret: str = Field(min_length=16, max_length=128, description="HMAC-SHA256 key shared with the receiver")
    actions: list[str] = Field(default=[], max_length=32, description="case-log actions to send; empty = all")


class DeliveryOut(Response):
    id: int
    case_event_id: int
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class WebhookOut(Response):
    id: int
    url: str
    actions: list[str]
    active: bool
    created_by: str
    created_at: datetime
    last_delivery: DeliveryOut | None = None
    failed_deliveries: int = 0


class TestOut(Response):
    """The receiver's answer to a test message: ``status`` None when it did not answer."""

    ok: bool
    status: int | None
    error: str | None


@router.post("", response_model=WebhookOut, status_code=201, summary="subscribe a URL to case events from now on")
def create(body: WebhookIn, principal: Admin, ctx: CtxDep) -> WebhookOut:
    with ctx.store.transaction() as s:
        now = ctx.manager.clock()
        hook = add_webhook(s, str(body.url), body.secret, body.actions, actor=principal.name, now=now)
        audit.record(s, principal.name, "webhook.add", f"webhook:{hook.id}", {"url": hook.url}, now)
        return WebhookOut.model_validate(hook)


@router.get("", response_model=list[WebhookOut], summary="every webhook (removed ones too), its latest delivery")
def list_all(_: Admin, session: SessionDep) -> list[WebhookOut]:
    return [
        WebhookOut.model_validate(w.hook).model_copy(
            update={
                "last_delivery": DeliveryOut.model_validate(w.last) if w.last else None,
                "failed_deliveries": w.failed,
            }
        )
        for w in webhook_statuses(session, include_removed=True)
    ]


@router.post("/{webhook_id}/test", response_model=TestOut, summary="send a signed test message now; audited")
def test(webhook_id: IdPath, principal: Admin, ctx: CtxDep) -> TestOut:
    """POST ``{"test": true, ...}`` (event ``test``) to the webhook at once and report the receiver's answer; the
    outbox is not involved and a failure is not retried."""
    with ctx.store.session() as s:
        hook = s.get(Webhook, webhook_id)
        if hook is None or not hook.active:
            not_found(f"webhook {webhook_id}")
        s.expunge(hook)  # sent after the session is closed: no connection held while the receiver answers
    now = ctx.manager.clock()
    result = send_test(hook, now)
    with ctx.store.transaction() as s:
        details = {"url": hook.url, "status": result.status, "error": result.error}
        audit.record(s, principal.name, "webhook.test", f"webhook:{hook.id}", details, now)
    return TestOut(ok=result.ok, status=result.status, error=result.error)


@router.delete("/{webhook_id}", status_code=204, summary="stop sending (the delivery log is kept)")
def remove(webhook_id: IdPath, principal: Admin, ctx: CtxDep) -> None:
    with ctx.store.transaction() as s:
        hook = s.get(Webhook, webhook_id)
        if hook is None:
            not_found(f"webhook {webhook_id}")
        hook.active = False
        audit.record(s, principal.name, "webhook.remove", f"webhook:{hook.id}", {"url": hook.url}, ctx.manager.clock())


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut], summary="delivery log, newest first")
def deliveries(
    webhook_id: IdPath, _: Admin, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[DeliveryOut]:
    if session.get(Webhook, webhook_id) is None:
        not_found(f"webhook {webhook_id}")
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    rows = session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit))
    return [DeliveryOut.model_validate(d) for d in rows]
