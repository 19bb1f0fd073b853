"""Typed notices reach subscribers as the same JSON objects the page has always received."""

from __future__ import annotations

import asyncio
import json

from fallwatch.serve.bus import (
    CameraNotice,
    EventChangedNotice,
    EventNewNotice,
    NoticeBus,
    NoticeKind,
)


def test_each_notice_serialises_to_the_web_json() -> None:
    new = EventNewNotice(7, "lobby", "Lobby", "Ground floor", "fall", 12.3)
    assert new.KIND is NoticeKind.EVENT_NEW
    assert json.dumps(new.data()) == json.dumps(
        {
            "id": 7,
            "camera_id": "lobby",
            "camera_name": "Lobby",
            "location": "Ground floor",
            "kind": "fall",
            "down_for_s": 12.3,
        }
    )
    assert EventChangedNotice(7, "lobby").data() == {"id": 7, "camera_id": "lobby"}
    assert list(EventChangedNotice(7, "lobby", state="acknowledged").data().items()) == [
        ("id", 7),
        ("camera_id", "lobby"),
        ("state", "acknowledged"),
    ]
    assert EventChangedNotice(7, "lobby", clip=True).data() == {
        "id": 7,
        "camera_id": "lobby",
        "clip": True,
    }
    assert CameraNotice("lobby", change="paused").data() == {
        "camera_id": "lobby",
        "change": "paused",
    }
    assert list(CameraNotice("lobby", worker="running", message="").data()) == [
        "camera_id",
        "worker",
        "message",
    ]


def test_subscribers_get_numbered_notices_from_other_threads() -> None:
    bus = NoticeBus()

    async def scenario() -> list[tuple[int, str, dict[str, object]]]:
        with bus.subscribe() as sub:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, bus.publish, CameraNotice("lobby", change="added"))
            await loop.run_in_executor(None, bus.publish, EventChangedNotice(1, "lobby", clip=True))
            got = [await sub.next(2.0), await sub.next(2.0)]
        assert bus.subscribers == 0
        return [(n.id, n.kind.value, dict(n.data)) for n in got if n is not None]

    assert asyncio.run(scenario()) == [
        (1, "camera_changed", {"camera_id": "lobby", "change": "added"}),
        (2, "event_changed", {"id": 1, "camera_id": "lobby", "clip": True}),
    ]
