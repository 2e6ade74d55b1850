"""Webhook subscriptions (admin): add, list, remove, and each one's delivery log."""

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
from service.integrations.webhooks import add_webhook
from service.store.models import Webhook, WebhookDelivery

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


class WebhookIn(Request):
    url: AnyHttpUrl
    secret: str = Field(min_length=16, max_length=128, description="HMAC-SHA256 key shared with the receiver")
    actions: list[str] = Field(default=[], max_length=32, description="case-log actions to send; empty = all")


class WebhookOut(Response):
    id: int
    url: str
    actions: list[str]
    active: bool
    created_by: str
    created_at: datetime


class DeliveryOut(Response):
    id: int
    case_event_id: int
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


@router.post("", response_model=WebhookOut, status_code=201, summary="subscribe a URL to case events from now on")
def create(body: WebhookIn, principal: Admin, ctx: CtxDep) -> WebhookOut:
    with ctx.store.transaction() as s:
        now = ctx.manager.clock()
        hook = add_webhook(s, str(body.url), body.secret, body.actions, actor=principal.name, now=now)
        audit.record(s, principal.name, "webhook.add", f"webhook:{hook.id}", {"url": hook.url}, now)
        return WebhookOut.model_validate(hook)


@router.get("", response_model=list[WebhookOut])
def list_all(_: Admin, session: SessionDep) -> list[WebhookOut]:
    return [WebhookOut.model_validate(h) for h in session.scalars(select(Webhook).order_by(Webhook.id))]


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
