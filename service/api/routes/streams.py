"""Camera streams: per-camera status and a privacy-blurred live snapshot. Any signed-in role may read them; a unit
handler sees the cameras of its grids only (another grid's camera is 404, as if it did not exist)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool

from service.api.deps import AnyUser
from service.auth.principal import Principal
from service.workers.cameras import CameraRunner, CameraStatus

router = APIRouter(prefix="/cameras", tags=["cameras"])


def get_cameras(request: Request) -> CameraRunner:
    cameras: CameraRunner | None = getattr(request.app.state, "cameras", None)
    if cameras is None:
        raise HTTPException(503, "camera streams are not running")
    return cameras


CamerasDep = Annotated[CameraRunner, Depends(get_cameras)]


def _visible(cameras: CameraRunner, camera_id: str, principal: Principal) -> CameraStatus:
    try:
        status = cameras.camera_status(camera_id)
    except KeyError:
        status = None
    if status is None or not principal.sees_grid(status.grid):
        raise HTTPException(404, f"no camera {camera_id!r}")
    return status


@router.get("/status", response_model=list[CameraStatus], summary="every camera's stream status")
def all_status(principal: AnyUser, cameras: CamerasDep) -> list[CameraStatus]:
    return [s for s in cameras.status() if principal.sees_grid(s.grid)]


@router.get("/{camera_id}/status", response_model=CameraStatus, summary="one camera's stream status")
def camera_status(camera_id: str, principal: AnyUser, cameras: CamerasDep) -> CameraStatus:
    return _visible(cameras, camera_id, principal)


@router.get(
    "/{camera_id}/snapshot.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the latest frame, faces and plates blurred"},
        404: {"description": "no such camera"},
        503: {"description": "the camera has delivered no frame yet (or is disabled)"},
    },
    summary="the camera's latest frame as a blurred JPEG",
)
async def snapshot(camera_id: str, principal: AnyUser, cameras: CamerasDep) -> Response:
    _visible(cameras, camera_id, principal)
    data = await run_in_threadpool(cameras.snapshot, camera_id)  # blur and JPEG encoding: off the event loop
    if data is None:
        raise HTTPException(503, f"camera {camera_id!r} has no frame yet", headers={"Retry-After": "2"})
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
