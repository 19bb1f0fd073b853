"""Live MJPEG per camera and the server-sent notice stream.

MJPEG reads the newest frame from the live hub (never a worker queue) at most
`web.mjpeg_max_fps`, and sends a frame only when there is a new one: a slow viewer just
gets fewer frames. Privacy cameras have no raw view.

Workers send the raw picture only while someone looks at it (`CameraService.want_raw`):
a raw view asks again on every pass of its loop, so raw frames start with the worker's
next analysed frame (the view waits for it) and stop a few seconds after it closes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse

from fallwatch.pipeline.packets import FramePacket
from fallwatch.serve.cameras import CameraService
from fallwatch.web.api.deps import BusDep, CamerasDep, HubDep, ServerDep, Viewer
from fallwatch.web.schemas import errors

router = APIRouter(tags=["live"], responses=errors(401, 422))

BOUNDARY = "fallwatchframe"
KEEPALIVE_S = 15.0

View = Literal["annotated", "raw"]


def _frame_bytes(packet: FramePacket, view: View) -> bytes | None:
    return packet.annotated_jpeg if view == "annotated" else packet.raw_jpeg


def _check_view(cameras: CameraService, camera_id: str, view: View) -> None:
    entry = cameras.get(camera_id)
    if view == "raw" and entry.config.privacy:
        raise HTTPException(
            403,
            f"camera {camera_id!r} is a privacy camera: only the skeleton view is shown",
        )


@router.get(
    "/api/cameras/{camera_id}/live.mjpg",
    summary="Live MJPEG (multipart/x-mixed-replace)",
    response_class=StreamingResponse,
    responses={200: {"content": {"multipart/x-mixed-replace": {}}}, **errors(403, 404)},
)
async def live(
    camera_id: str,
    request: Request,
    server: ServerDep,
    cameras: CamerasDep,
    hub: HubDep,
    _: Viewer,
    view: Annotated[
        View, Query(description="annotated (skeletons, states) or raw (the picture)")
    ] = "annotated",
) -> StreamingResponse:
    _check_view(cameras, camera_id, view)
    period_s = 1.0 / server.config.web.mjpeg_max_fps

    async def frames() -> AsyncIterator[bytes]:
        last_seq = -1
        while True:
            if view == "raw":
                cameras.want_raw(camera_id)
            packet = hub.latest(camera_id)
            if packet is not None and packet.seq != last_seq:
                data = _frame_bytes(packet, view)
                if data is not None:
                    last_seq = packet.seq
                    yield (
                        (
                            f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n"
                            f"X-Captured-At: {packet.captured_at:.3f}\r\n\r\n"
                        ).encode()
                        + data
                        + b"\r\n"
                    )
            await asyncio.sleep(period_s)

    return StreamingResponse(
        frames(),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/api/cameras/{camera_id}/latest.jpg",
    summary="The newest frame as one JPEG",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, **errors(403, 404)},
)
def latest(
    camera_id: str,
    cameras: CamerasDep,
    hub: HubDep,
    _: Viewer,
    view: Annotated[View, Query()] = "annotated",
) -> Response:
    _check_view(cameras, camera_id, view)
    packet = cameras.raw_or_latest(camera_id) if view == "raw" else hub.latest(camera_id)
    data = None if packet is None else _frame_bytes(packet, view)
    if packet is None or data is None:
        raise HTTPException(404, f"no frame from camera {camera_id!r} yet")
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store", "X-Seq": str(packet.seq)},
    )


@router.get(
    "/api/stream",
    summary="Server-sent events: event_new, event_changed, camera_changed",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def notices(request: Request, bus: BusDep, _: Viewer) -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        with bus.subscribe() as subscription:
            while True:
                notice = await subscription.next(KEEPALIVE_S)
                if notice is None:
                    yield ": keepalive\n\n"  # proxies drop idle connections
                    continue
                yield f"id: {notice.id}\nevent: {notice.kind.value}\ndata: {json.dumps(notice.data)}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
