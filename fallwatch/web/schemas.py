"""What the API accepts and returns (separate input and public shapes).

The public shapes of stored things (events, alerts, users, tokens) read the store's
frozen views by attribute (`from_attributes`), so a field is named once, in the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fallwatch.i18n import LocaleName
from fallwatch.serve.auth import USERNAME_PATTERN
from fallwatch.serve.status import CameraStatus
from fallwatch.types import AlertKind, AlertStatus, CameraOrigin, EventState, Role

# Ids are PostgreSQL `integer` columns (SQLite allows more): a larger one is refused with
# 422 before the database sees it.
MAX_ROW_ID = 2**31 - 1


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a time without a zone is taken as UTC, as the store keeps it."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""Every time the API answers with: ISO 8601 in UTC with its zone ("...Z"), never a bare
local-looking "2026-11-25T14:39:36" that a reader could take for their own zone."""


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CameraStatsPublic(BaseModel):
    connection: str = Field(
        description="connecting, connected, disconnected, stalled (open but no decodable "
        "frame for read_timeout_s), ended or stopped."
    )
    analysis_fps: float = Field(description="Frames analysed per second, last few seconds.")
    target_fps: float
    source_fps: float = Field(description="Frames per second read from the source.")
    frames: int
    analysed: int
    dropped: int = Field(description="Frames read but not analysed since the worker started.")
    dropped_per_s: float | None = Field(
        None,
        description="Frames read but not analysed per second, last ~10 s (newer frames "
        "replace older ones by design); None until the worker has sent figures for 1 s.",
    )
    inference_ms: float
    latency_ms: float = Field(description="Capture to annotated frame, milliseconds.")
    reconnects: int
    stalls: int = Field(0, description="Times no frame came for read_timeout_s (worker's life).")
    last_error: str | None
    retry_in_s: float | None
    people: int
    age_s: float = Field(description="Seconds since these figures were taken.")
    rate_mode: str = Field(
        "full",
        description="'full': analysed at analysis_fps; 'idle': at idle_fps (the motion "
        "gate found no motion and nobody in view).",
    )
    rate_reason: str = Field(
        "gating off",
        description="Why the camera runs at that rate: 'person down', 'person in view', "
        "'motion', 'no motion' or 'gating off'.",
    )
    idle_fps: float | None = Field(
        None, description="The camera's idle analysis rate; None when gating is off."
    )


class CameraPublic(BaseModel):
    id: str
    name: str
    location: str
    source: str = Field(description="Stream URL (password hidden) or file path.")
    source_kind: str = Field(description="'stream' or 'file'.")
    analysis_fps: float
    privacy: bool
    enabled: bool
    paused: bool
    origin: CameraOrigin = Field(
        description="'config': defined in the config file; 'api': added here."
    )
    worker: str = Field(
        description="Worker process state: starting, running, restarting, paused, stopped."
    )
    worker_message: str
    restarts: int
    status: CameraStatus = Field(
        description="What the camera is doing: live, paused (by an operator), disabled (in "
        "its config), no_signal, stalled (open but no frames), starting, restarting, ended "
        "(a file without loop) or stopped. Only 'live' means the picture is current."
    )
    status_reason: str = Field(description="Why, in one line ('' when live).")
    alarm_event_id: int | None = Field(
        None,
        description="The newest open alarm on this camera (set in the camera list; None "
        "when there is none).",
    )
    stats: CameraStatsPublic | None
    config: dict[str, Any] = Field(description="The full camera config (password hidden).")


class ActionInput(Input):
    note: str | None = Field(None, max_length=2000, description="Free text kept with the event.")


class Stored(BaseModel):
    """A public shape read from one of the store's views (`model_validate(view)`)."""

    model_config = ConfigDict(from_attributes=True)


class EventPublic(Stored):
    id: int
    camera_id: str
    camera_name: str
    location: str | None
    kind: str = Field(description="fall or found_down.")
    state: EventState
    track_id: int
    created_at: UtcDatetime
    down_from_at: UtcDatetime
    fall_seen_at: UtcDatetime | None
    alerted_at: UtcDatetime | None
    acknowledged_at: UtcDatetime | None
    acknowledged_by: str | None
    resolved_at: UtcDatetime | None
    resolved_by: str | None
    recovered_at: UtcDatetime | None = Field(
        description="When the person was seen up again (the event stays open until acknowledged)."
    )
    down_score: float
    notes: str | None
    snapshot_url: str | None
    clip_url: str | None = Field(
        description="None until the clip is written (post_s after the alert)."
    )
    alerts_total: int
    alerts_delivered: int
    alerts_failed: int


class AttemptPublic(Stored):
    id: int
    started_at: UtcDatetime
    finished_at: UtcDatetime | None
    ok: bool | None
    http_status: int | None
    provider_answer: str | None
    provider_message_id: str | None
    error: str | None


class AlertPublic(Stored):
    id: str
    event_id: int
    kind: AlertKind
    channel: str
    recipient: str
    status: AlertStatus
    attempts: int
    next_attempt_at: UtcDatetime
    last_error: str | None
    provider_message_id: str | None
    created_at: UtcDatetime
    delivered_at: UtcDatetime | None
    attempt_log: list[AttemptPublic]


class UserCreate(Input):
    username: str = Field(pattern=USERNAME_PATTERN, description="Login name.")
    password: str = Field(min_length=8, max_length=1024, description="At least 8 characters.")
    role: Role = Role.VIEWER


class UserPatch(Input):
    role: Role | None = None
    disabled: bool | None = Field(
        None, description="True ends the user's sessions and blocks login."
    )
    password: str | None = Field(None, min_length=8, max_length=1024)


class UserPublic(Stored):
    id: int
    username: str
    role: Role
    disabled: bool
    created_at: UtcDatetime
    last_login_at: UtcDatetime | None
    locale: LocaleName | None = Field(
        None, description="Language of the pages; null: the server's default."
    )


class ProfilePatch(Input):
    locale: LocaleName | None = Field(
        description="Language of your pages: 'en' or 'ko'; null: the server's default."
    )


class MePublic(BaseModel):
    name: str = Field(description="User name, or 'token:<name>' for an API token.")
    role: Role
    via: str = Field(description="'session' or 'token'.")
    locale: str = Field(description="Language the pages are shown in now ('en', 'ko').")


class TokenCreate(Input):
    name: str = Field(min_length=1, max_length=64, description="What the token is for.")
    role: Role = Role.VIEWER


class TokenPublic(Stored):
    id: int
    name: str
    prefix: str
    role: Role
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None
    revoked_at: UtcDatetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="Shown once: send it as 'Authorization: Bearer <token>'.")


class HealthzPublic(BaseModel):
    status: str = Field(description="'ok', or 'database unreachable' (with 503).")


class HealthPublic(BaseModel):
    status: str = Field(description="'ok', or 'degraded' when the database or a camera is down.")
    database: bool
    uptime_s: float
    cameras: dict[str, str] = Field(description="Camera id -> worker state / connection.")
    camera_status: dict[str, str] = Field(
        description="Camera id -> the status the dashboard shows (live, paused, disabled, "
        "no_signal, stalled, starting, restarting, ended, stopped)."
    )
    alerts: dict[str, int] = Field(description="Alerts per delivery status.")
    open_events: int


# --- error answers, as the handlers in web.app write them ------------------------------


class ErrorPublic(BaseModel):
    detail: str = Field(description="What went wrong, in one line.")


class FieldErrorPublic(BaseModel):
    loc: list[str | int] = Field(description="Where: 'path', 'query' or 'body', then names.")
    msg: str
    type: str


class ValidationErrorPublic(ErrorPublic):
    """422: `detail` names each bad field in one line; `errors` lists them."""

    errors: list[FieldErrorPublic]


_ERROR_TEXT = {
    400: "The body is not valid JSON (or not UTF-8).",
    401: "No credentials, or an unknown or revoked API token.",
    403: "The caller's role is too low, or a cookie request lacks the CSRF token.",
    404: "No such item (or no such file yet).",
    409: "Conflicts with what is stored (a name taken, a camera from the config file).",
    413: "The request body is over web.max_body_bytes.",
    422: "A path, query or body field is invalid.",
    503: "The database does not answer.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error status codes, with the body each one has."""
    return {
        code: {
            "model": ValidationErrorPublic if code == 422 else ErrorPublic,
            "description": _ERROR_TEXT[code],
        }
        for code in codes
    }
