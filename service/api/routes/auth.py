"""Sign-in and sign-out, users, API tokens and the audit log.

Login returns a bearer token and also sets it as an HttpOnly cookie for the web UI; everything here but
``/auth/login``, ``/auth/logout`` and ``/auth/me`` is for admins. Every change is audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from service.api.deps import SESSION_COOKIE, Admin, Authenticated, CtxDep, SessionDep
from service.api.errors import not_found
from service.api.schemas import Instant, Page
from service.api.schemas.auth import (
    AuditOut,
    LoginRequest,
    LoginResponse,
    Me,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserName,
    UserOut,
    UserUpdate,
)
from service.auth import audit, tokens, users
from service.auth.login import LoginLimits, LoginRefused, LoginThrottled, sign_in
from service.core.config import Settings
from service.store.models import TokenKind

router = APIRouter(tags=["auth"])
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@router.post(
    "/auth/login",
    response_model=LoginResponse,
    responses={401: {"description": "wrong user name or password"}, 429: {"description": "too many failures"}},
)
def login(body: LoginRequest, request: Request, response: Response, ctx: CtxDep) -> LoginResponse:
    """Exchange a user name and password for a session token (also set as the HttpOnly session cookie)."""
    settings: Settings = request.app.state.settings
    limits: LoginLimits = request.app.state.login_limits
    address = request.client.host if request.client else "unknown"
    lifetime = timedelta(hours=settings.session_hours)
    try:
        done = sign_in(ctx.store, limits, body.username, body.password, address, lifetime)
    except LoginThrottled as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(int(exc.retry_after) + 1)}) from None
    except LoginRefused as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    response.set_cookie(
        SESSION_COOKIE,
        done.token.value,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )
    return LoginResponse(
        access_token=done.token.value, expires_at=done.token.row.expires_at, user=UserOut.model_validate(done.user)
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(principal: Authenticated, response: Response, ctx: CtxDep) -> None:
    """Revoke the token this request was made with and clear the cookie."""
    with ctx.store.transaction() as session:
        token = tokens.get_token(session, principal.token_id)
        if token is not None:
            tokens.revoke(session, token)
            audit.record(session, principal.name, "auth.logout", f"token:{token.id}")
    response.delete_cookie(SESSION_COOKIE)


@router.get("/auth/me", response_model=Me)
def me(principal: Authenticated) -> Me:
    """Who the token belongs to and what it may do."""
    return Me(
        name=principal.name,
        kind=TokenKind.SESSION if principal.role else TokenKind.API,
        role=principal.role,
        grids=sorted(principal.grids) if principal.grids is not None else None,
        scopes=sorted(principal.scopes),
    )


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def list_users(_: Admin, session: SessionDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in users.list_users(session)]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_user(body: UserCreate, principal: Admin, ctx: CtxDep) -> UserOut:
    with ctx.store.transaction() as session:
        user = users.create_user(session, body.name, body.role, body.password, body.grids, unit=body.unit)
        details = {"role": user.role, "grids": body.grids, "unit": body.unit}
        audit.record(session, principal.name, "user.create", f"user:{user.name}", details)
        return UserOut.model_validate(user)


@router.patch("/users/{name}", response_model=UserOut, tags=["admin"])
def update_user(name: UserName, body: UserUpdate, principal: Admin, ctx: CtxDep) -> UserOut:
    """Change a user's role, grids, unit, password or active flag; a new password or deactivation signs it out."""
    with ctx.store.transaction() as session:
        user = users.get_user(session, name) or not_found(f"user {name!r}")
        unit = body.unit if "unit" in body.model_fields_set else ...
        users.update_user(
            session, user, role=body.role, grids=body.grids, unit=unit, password=body.password, active=body.active
        )
        if body.password is not None or body.active is False:
            tokens.revoke_user_sessions(session, user)
        changed = body.model_dump(exclude_unset=True, exclude={"password"}) | (
            {"password": "changed"} if body.password is not None else {}
        )
        audit.record(session, principal.name, "user.update", f"user:{user.name}", changed)
        return UserOut.model_validate(user)


@router.post("/users/{name}/revoke-sessions", status_code=status.HTTP_204_NO_CONTENT, tags=["admin"])
def revoke_sessions(name: UserName, principal: Admin, ctx: CtxDep) -> None:
    """Sign a user out everywhere."""
    with ctx.store.transaction() as session:
        user = users.get_user(session, name) or not_found(f"user {name!r}")
        tokens.revoke_user_sessions(session, user)
        audit.record(session, principal.name, "user.revoke_sessions", f"user:{user.name}")


@router.get("/tokens", response_model=list[TokenOut], tags=["admin"])
def list_tokens(
    _: Admin, session: SessionDep, kind: TokenKind | None = None, include_inactive: bool = False
) -> list[TokenOut]:
    """Tokens, newest first (by default only usable ones)."""
    rows = tokens.list_tokens(session, kind, include_inactive=include_inactive)
    return [TokenOut.model_validate(t) for t in rows]


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_token(body: TokenCreate, principal: Admin, ctx: CtxDep) -> TokenCreated:
    """A new API token for a machine; its secret is in this response only."""
    with ctx.store.transaction() as session:
        issued = tokens.create_api_token(session, body.name, body.scopes, timedelta(days=body.days), principal.name)
        details = {"name": body.name, "scopes": list(body.scopes), "expires_at": issued.row.expires_at.isoformat()}
        audit.record(session, principal.name, "token.create", f"token:{issued.row.id}", details)
        out = TokenOut.model_validate(issued.row)
    return TokenCreated(**out.model_dump(), token=issued.value)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["admin"])
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], principal: Admin, ctx: CtxDep) -> None:
    """Revoke a session or API token (idempotent)."""
    with ctx.store.transaction() as session:
        token = tokens.get_token(session, token_id) or not_found(f"token {token_id}")
        tokens.revoke(session, token)
        audit.record(session, principal.name, "token.revoke", f"token:{token.id}", {"name": token.name})


@router.get("/audit", response_model=Page[AuditOut], tags=["admin"])
def audit_log(
    _: Admin,
    session: SessionDep,
    target: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[Instant | None, Query(description="at or after")] = None,
    until: Annotated[Instant | None, Query(description="before")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AuditOut]:
    """Audit entries, newest first."""
    rows, total = audit.list_entries(
        session, target=target, actor=actor, action=action, since=since, until=until, limit=limit, offset=offset
    )
    return Page[AuditOut](items=[AuditOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)
