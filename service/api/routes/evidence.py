"""Evidence pictures: always the privacy-safe rendition (faces and plates pixelated); the original file only to
an admin, and only where ``GRIDWATCH_KEEP_ORIGINALS`` allows originals to leave the store.

A picture is served to a principal who sees one of the cases it belongs to (unit handlers: their grids).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from domain.errors import ImageError
from service.api.deps import AnyUser, CtxDep, SessionDep
from service.api.errors import not_found
from service.evidence_privacy import PrivateEvidence, visible_evidence
from service.evidence_render import original_extension
from service.store.models import Role

router = APIRouter(tags=["evidence"])

Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="sha256 of the evidence file")]
_MEDIA = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "bmp": "image/bmp"}
_CACHE = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}


@router.get(
    "/evidence/{sha256}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 403: {"description": "original not allowed"}},
    summary="an evidence picture, faces and licence plates pixelated",
)
async def evidence(
    sha256: Sha256Path,
    request: Request,
    ctx: CtxDep,
    session: SessionDep,
    principal: AnyUser,
    original: Annotated[bool, Query(description="the untouched original (admin, keep_originals only)")] = False,
) -> Response:
    row = await run_in_threadpool(visible_evidence, session, sha256, principal.units)
    if row is None:
        not_found(f"evidence {sha256}")
    if original:
        if principal.role is not Role.ADMIN or not ctx.settings.keep_originals:
            raise HTTPException(403, "originals are served only to admins, and only with keep_originals set")
        data = await run_in_threadpool(ctx.evidence.read, row.sha256, row.ext)
        media = _MEDIA.get(row.ext, "application/octet-stream")
        return Response(data, media_type=media, headers=_CACHE)
    renditions: PrivateEvidence = request.app.state.private_evidence
    try:
        data = await run_in_threadpool(renditions.rendition, row.sha256, row.ext)
    except ImageError as exc:
        raise HTTPException(422, f"evidence {sha256} is not a picture: {exc}") from None
    return Response(data, media_type=_MEDIA[original_extension("JPEG")], headers=_CACHE)
