"""Announcements from the main process's threads to web clients (SSE), without blocking.

`publish` may be called from any thread; each subscriber is an asyncio queue in the web
server's event loop, fed with `call_soon_threadsafe`. A subscriber that does not keep up
(a stalled browser tab) loses its oldest notices rather than holding anyone up; the page
reloads its lists when it reconnects, so nothing is lost for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Self


class NoticeKind(StrEnum):
    EVENT_NEW = "event_new"
    """A fall or found-down event was recorded: the page shows the banner and beeps."""
    EVENT_CHANGED = "event_changed"
    """Acknowledged, resolved, person up again, clip ready."""
    CAMERA_CHANGED = "camera_changed"
    """Added, edited, paused, removed, or its worker state changed."""


JsonValue = str | int | float | bool


@dataclass(frozen=True)
class EventNewNotice:
    """A new fall or found-down event (the page's banner and beep)."""

    KIND: ClassVar[NoticeKind] = NoticeKind.EVENT_NEW
    id: int
    camera_id: str
    camera_name: str
    location: str
    event_kind: str
    """The event's `EventKind` value; sent as `kind`."""
    down_for_s: float

    def data(self) -> dict[str, JsonValue]:
        return {
            "id": self.id,
            "camera_id": self.camera_id,
            "camera_name": self.camera_name,
            "location": self.location,
            "kind": self.event_kind,
            "down_for_s": self.down_for_s,
        }


@dataclass(frozen=True)
class EventChangedNotice:
    """An event changed: acknowledged or resolved (`state`), clip written, person up again.

    Fields left None are not sent, so the JSON is what the page has always received.
    """

    KIND: ClassVar[NoticeKind] = NoticeKind.EVENT_CHANGED
    id: int
    camera_id: str
    state: str | None = None
    clip: bool | None = None

    def data(self) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = {"id": self.id, "camera_id": self.camera_id}
        if self.state is not None:
            data["state"] = self.state
        if self.clip is not None:
            data["clip"] = self.clip
        return data


@dataclass(frozen=True)
class CameraNotice:
    """A camera was added, edited, paused, resumed or removed (`change`), or its worker
    changed state (`worker` and `message`). Fields left None are not sent."""

    KIND: ClassVar[NoticeKind] = NoticeKind.CAMERA_CHANGED
    camera_id: str
    change: str | None = None
    worker: str | None = None
    message: str | None = None

    def data(self) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = {"camera_id": self.camera_id}
        for key, value in (
            ("change", self.change),
            ("worker", self.worker),
            ("message", self.message),
        ):
            if value is not None:
                data[key] = value
        return data


NoticeBody = EventNewNotice | EventChangedNotice | CameraNotice


@dataclass(frozen=True)
class Notice:
    """One published notice: its body and a number that grows with each notice."""

    body: NoticeBody
    id: int = 0

    @property
    def kind(self) -> NoticeKind:
        return self.body.KIND

    @property
    def data(self) -> dict[str, JsonValue]:
        """The JSON object the web clients receive."""
        return self.body.data()


class NoticeBus:
    def __init__(self, queue_size: int = 100) -> None:
        self.queue_size = queue_size
        self._lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Notice]]] = []
        self._ids = itertools.count(1)

    def publish(self, body: NoticeBody) -> Notice:
        notice = Notice(body, next(self._ids))
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            # RuntimeError: that loop is closed, the subscriber is going away.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._offer, queue, notice)
        return notice

    @staticmethod
    def _offer(queue: asyncio.Queue[Notice], notice: Notice) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(notice)

    def subscribe(self) -> Subscription:
        """Notices from now on, in the calling event loop; `close()` the subscription after."""
        sub = Subscription(self, asyncio.get_running_loop(), asyncio.Queue(self.queue_size))
        with self._lock:
            self._subscribers.append((sub.loop, sub.queue))
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if (sub.loop, sub.queue) in self._subscribers:
                self._subscribers.remove((sub.loop, sub.queue))

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)


class Subscription:
    def __init__(
        self,
        bus: NoticeBus,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[Notice],
    ) -> None:
        self.bus = bus
        self.loop = loop
        self.queue = queue

    async def next(self, timeout_s: float) -> Notice | None:
        """The next notice, or None after `timeout_s` without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout_s)
        except TimeoutError:
            return None

    def close(self) -> None:
        self.bus._remove(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
