"""Config of `fallwatch serve`: cameras, storage, recording, web, workers and notify.

One YAML file (see `fallwatch.example.yaml`), read by `fallwatch.config.loader`. Secrets
are never written in it: a string may be a `${ENV_VAR}` reference, and a few settings
have `FALLWATCH_*` environment overrides (see the loader). The JSON schema of this model
is what `fallwatch config schema` prints.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

from fallwatch.config.base import Section
from fallwatch.config.cluster import ClusterConfig
from fallwatch.config.detector import DetectorConfig, PoseDetectorConfig
from fallwatch.config.fall import FallConfig
from fallwatch.config.motion import MotionConfig
from fallwatch.config.notify import NotifyConfig
from fallwatch.config.secrets import Secret
from fallwatch.i18n import LocaleName

CAMERA_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_CAMERA_ID = re.compile(CAMERA_ID_PATTERN)
STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
# Stream URLs in the JSON schema (and so in the API's OpenAPI document): one of the
# schemes, optional ASCII user info, a host name or IPv4 address, optional port and path.
# A little stricter than the validator (IPv6 hosts pass it), never looser.
STREAM_URL_PATTERN = (
    r"^(rtsps?|https?)://([A-Za-z0-9._~%!$&'()*+,;=:{}-]*@)?"
    r"[A-Za-z0-9$_{}~-][A-Za-z0-9.$_{}~%-]*(:[0-9]{1,5})?([/?#]\S*)?$"
)
# "Exactly one source; loop only with a file", as JSON schema (the model validator's rule).
_ONE_SOURCE_SCHEMA: JsonDict = {
    "oneOf": [
        {
            "required": ["url"],
            "properties": {
                "url": {"type": "string"},
                "path": {"type": "null"},
                "loop": {"const": False},
            },
        },
        {"required": ["path"], "properties": {"path": {"type": "string"}, "url": {"type": "null"}}},
    ]
}


DEFAULT_IDLE_FPS = 1.0


class CameraConfig(Section):
    """One camera: where its picture comes from and how it is analysed."""

    model_config = ConfigDict(json_schema_extra=_ONE_SOURCE_SCHEMA)

    id: str = Field(
        pattern=CAMERA_ID_PATTERN,
        description="Unique id used in URLs, events and notification routes: lower case "
        "letters, digits, '-' and '_', at most 64, e.g. 'ward-3-bed-2'.",
    )
    name: str = Field("", max_length=128, description="Label shown on the dashboard ('' = id).")
    location: str = Field(
        "",
        max_length=256,
        description="Where the camera is, quoted in alerts ('Ward 3, room 12').",
    )
    url: str | None = Field(
        None,
        max_length=2048,
        json_schema_extra={"pattern": STREAM_URL_PATTERN},
        description="Live stream: rtsp://, rtsps:// (through FFmpeg) or http(s):// MJPEG. "
        "Credentials belong in a ${ENV_VAR} reference, e.g. 'rtsp://admin:${CAM1_PASSWORD}@10.0.0.5/stream1'. "
        "Give url or path, not both.",
    )
    path: Path | None = Field(
        None,
        description="Video file played as if it were a camera, paced at the file's frame "
        "rate (demos, tests, benchmarks). Give url or path, not both.",
    )
    loop: bool = Field(
        False,
        description="Play a file source again from the start when it ends (path only).",
    )
    analysis_fps: float = Field(
        5.0,
        gt=0,
        le=30,
        description="Frames per second analysed (detector, tracker, fall rules). Newer "
        "frames replace older ones, so a camera never falls behind; 5 fps sees a fall and "
        "keeps four cameras on two cores.",
    )
    idle_fps: float = Field(
        DEFAULT_IDLE_FPS,
        gt=0,
        le=30,
        description="Frames per second analysed while nothing happens: no motion, no "
        "person in view, nobody down (see motion). At most analysis_fps (the default is "
        "lowered to a slower analysis_fps); equal to it turns motion gating off. Motion "
        "or a person brings the camera back to analysis_fps at once.",
    )
    motion: MotionConfig = Field(
        default_factory=MotionConfig,
        description="The motion gate that picks between idle_fps and analysis_fps.",
    )
    detector: DetectorConfig = Field(
        default_factory=lambda: PoseDetectorConfig(num_threads=1),
        description="Detector plugin for this camera. One thread by default: cameras run "
        "in parallel worker processes, so more threads each would only contend.",
    )
    fall: FallConfig = Field(
        default_factory=FallConfig,
        description="When someone counts as fallen: confirm_s, found_down_s, ignore zones.",
    )
    privacy: bool = Field(
        False,
        description="Show and store skeletons on a black background instead of the picture "
        "(live view, snapshots and clips); the raw view is then refused.",
    )
    enabled: bool = Field(True, description="False: configured but not watched.")
    jpeg_quality: int = Field(
        75,
        ge=30,
        le=95,
        description="JPEG quality of live frames, snapshots and clips.",
    )
    max_width_px: int = Field(
        960,
        ge=160,
        le=3840,
        description="Live frames, snapshots and clips wider than this are scaled down, "
        "pixels. Analysis always sees the full frame (zones are in its pixels); this bounds "
        "the JPEG cost and the bandwidth per viewer.",
    )

    @field_validator("url")
    @classmethod
    def _stream_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in STREAM_SCHEMES or not parts.hostname:
            raise ValueError(
                f"must be a {', '.join(s + '://' for s in STREAM_SCHEMES)} URL with a host"
            )
        return v

    @model_validator(mode="after")
    def _one_source(self) -> CameraConfig:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one source: url (a stream) or path (a video file)")
        if self.loop and self.path is None:
            raise ValueError("loop applies to a file source (path), not to a stream url")
        # The default (1) must not reject a camera analysed below 1 fps, also where a
        # stored camera is re-validated with every field written out (an API edit).
        if self.idle_fps > self.analysis_fps and self.idle_fps != DEFAULT_IDLE_FPS:
            raise ValueError(
                f"idle_fps ({self.idle_fps:g}) must be <= analysis_fps ({self.analysis_fps:g})"
            )
        return self

    @property
    def idle_rate_fps(self) -> float:
        """The idle rate in force: idle_fps, never above analysis_fps."""
        return min(self.idle_fps, self.analysis_fps)

    @property
    def gated(self) -> bool:
        """True when the motion gate may drop the camera to its idle rate."""
        return self.motion.enabled and self.idle_rate_fps < self.analysis_fps

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def source(self) -> str:
        """The stream URL or file path, as a string."""
        return self.url if self.url is not None else str(self.path)


class ReconnectConfig(Section):
    """How a lost stream is retried: exponential backoff between attempts, for ever."""

    initial_s: float = Field(0.5, gt=0, le=60, description="First wait after a failure, seconds.")
    max_s: float = Field(30.0, gt=0, le=600, description="Longest wait between attempts, seconds.")
    read_timeout_s: float = Field(
        5.0,
        gt=0,
        le=120,
        description="No frame for this long counts as a lost connection, seconds.",
    )

    @model_validator(mode="after")
    def _order(self) -> ReconnectConfig:
        if self.max_s < self.initial_s:
            raise ValueError(f"max_s ({self.max_s}) must be >= initial_s ({self.initial_s})")
        return self


class WorkersConfig(Section):
    """The per-camera worker processes and their supervisor."""

    stall_s: float = Field(
        30.0,
        ge=2,
        le=600,
        description="A running worker with no heartbeat for this long (a hung decoder or "
        "model) is killed and restarted, seconds.",
    )
    start_timeout_s: float = Field(
        120.0,
        ge=5,
        le=3600,
        description="A new worker that has not sent its first heartbeat after this long "
        "(process start, imports, model loading; slow on a busy machine) is restarted, seconds.",
    )
    restart_backoff_max_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Longest wait before restarting a worker that keeps crashing, seconds "
        "(the wait doubles from 1 s per crash in a row).",
    )
    reconnect: ReconnectConfig = Field(default_factory=ReconnectConfig)


class RecordingConfig(Section):
    """Snapshots and clips kept with each event, under `<data_dir>/media`."""

    pre_s: float = Field(
        5.0,
        ge=0,
        le=60,
        description="Seconds of video before the alert kept in its clip.",
    )
    post_s: float = Field(
        5.0,
        ge=0,
        le=60,
        description="Seconds of video after the alert kept in its clip.",
    )
    retention_days: float = Field(
        30.0,
        gt=0,
        le=3650,
        description="Snapshots and clips older than this are deleted (the event rows stay).",
    )
    max_total_mb: float = Field(
        2048.0,
        gt=0,
        le=10_000_000,
        description="Media kept in all, MiB; the oldest files go first when it is exceeded.",
    )


class LoginConfig(Section):
    """Guessing passwords: failed logins lock a user name and a client address for a
    while, the lock doubling with each further failure; password checks run a few at a
    time (each costs 64 MiB)."""

    max_failures_per_user: int = Field(
        5,
        ge=1,
        le=1000,
        description="Failed logins for one user name within window_s before further "
        "attempts for it are refused (429) for lockout_s.",
    )
    max_failures_per_address: int = Field(
        20,
        ge=1,
        le=10_000,
        description="Failed logins from one client address within window_s (whatever "
        "the user name) before further attempts from it are refused.",
    )
    window_s: int = Field(
        900, ge=1, le=86_400, description="Failures older than this are forgotten."
    )
    lockout_s: float = Field(
        10.0, gt=0, le=3600, description="First lock; each further failure doubles it."
    )
    lockout_max_s: float = Field(
        900.0, gt=0, le=86_400, description="The longest lock, whatever the failures."
    )
    hash_concurrency: int = Field(
        2,
        ge=1,
        le=64,
        description="Password checks (argon2id, 64 MiB each) run at once; more wait.",
    )
    hash_wait_s: float = Field(
        5.0,
        ge=0,
        le=60,
        description="How long a login waits for a password-check slot before 503.",
    )


class WebConfig(Section):
    """The dashboard and REST API."""

    host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address to listen on; 0.0.0.0 for every interface (put TLS in front).",
    )
    port: int = Field(8080, ge=1, le=65535, description="TCP port.")
    secret_key: Secret | None = Field(
        None,
        description="Key signing session cookies and CSRF tokens, at least 32 characters, "
        "as a ${ENV_VAR} reference (never written in the file). None: a random key kept "
        "in <data_dir>/secret_key.",
    )
    session_max_age_s: int = Field(
        12 * 3600,
        ge=60,
        le=90 * 86_400,
        description="Sessions expire after this many seconds.",
    )
    secure_cookies: bool = Field(
        False, description="Mark cookies Secure (only sent over HTTPS): set behind TLS."
    )
    mjpeg_max_fps: float = Field(
        10.0,
        gt=0,
        le=30,
        description="Most frames per second sent to one live-view client.",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        le=1024**3,
        description="Largest request body accepted, bytes: a longer one is answered 413 "
        "as it is read (a declared Content-Length at once), before logins or parsing.",
    )
    login: LoginConfig = Field(default_factory=LoginConfig)
    default_locale: LocaleName | None = Field(
        None,
        description="Language of the pages for users who have not chosen one: 'en' "
        "(English) or 'ko' (Korean). None: the browser's language (Accept-Language), "
        "else English.",
    )

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, v: Secret | None) -> Secret | None:
        if v is not None and len(v.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return v


class ServerConfig(Section):
    """Everything `fallwatch serve` needs."""

    data_dir: Path = Field(
        Path("fallwatch-data"),
        description="Directory for the SQLite database, snapshots, clips and the session "
        "key; relative paths are relative to the config file.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. 'postgresql+psycopg://fallwatch:${PGPASSWORD}@db/fallwatch'. "
        "None: SQLite file fallwatch.db in data_dir.",
    )
    web: WebConfig = Field(default_factory=WebConfig)
    workers: WorkersConfig = Field(default_factory=WorkersConfig)
    recording: RecordingConfig = Field(default_factory=RecordingConfig)
    cameras: list[CameraConfig] = Field(
        default_factory=list,
        description="Cameras from the file. More can be added in the web UI or API; "
        "those are kept in the database.",
    )
    notify: NotifyConfig = Field(
        default_factory=NotifyConfig,
        description="Alert channels, routes and policies (see docs/notifications.md).",
    )
    cluster: ClusterConfig = Field(
        default_factory=ClusterConfig,
        description="Where camera workers run: local processes (default) or actors on a "
        "Ray cluster (see docs/cluster.md).",
    )

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, v: str | None) -> str | None:
        if v is None:
            return v
        scheme = v.split(":", 1)[0]
        if not (scheme.startswith(("sqlite", "postgresql"))):
            raise ValueError("must be a sqlite:///path or postgresql+psycopg://user@host/db URL")
        return v

    @model_validator(mode="after")
    def _unique_camera_ids(self) -> ServerConfig:
        ids = [c.id for c in self.cameras]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"cameras: duplicate ids {dupes}")
        return self

    @model_validator(mode="after")
    def _cluster_database(self) -> ServerConfig:
        if self.cluster.engine == "ray" and not (self.database_url or "").startswith("postgresql"):
            raise ValueError(
                "cluster.engine 'ray' needs a PostgreSQL database_url "
                "(postgresql+psycopg://...): SQLite is a file on one machine and cannot be "
                "shared between nodes"
            )
        return self


def is_camera_id(value: str) -> bool:
    return bool(_CAMERA_ID.match(value))
