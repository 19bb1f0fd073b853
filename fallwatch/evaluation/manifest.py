"""The evaluation manifest: labelled clips (and stills) with clear validation errors.

The manifest is JSON (see `data/falls/manifest.json`): a `videos` list (older files call
it `items`), each entry with `file` relative to the manifest, a `label`, an `uncertain`
flag (top level or in `label`), `fps`, `duration_s` and a `source` (its `repo` groups the
clips per source in reports); and an optional `images` section of YOLO-labelled stills.

A clip with several falls lists them in `label.fall_events`, each with its own
`fall_start_s`, `down_from_s` and `down_until_s`, in time order; without it the label's
own three fields are the clip's one fall.

Unlike config sections, these models *ignore* unknown keys rather than forbid them: the
manifest is a dataset description written for people too (sources, licences, notes,
frame indices), and we validate only what scoring reads. A field we do read that is
missing or wrong is an error naming the clip index, its file and the field.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

END = "end"
"""`down_until_s` value meaning the person is still down when the clip ends."""

NonNegative_s = Annotated[float, Field(ge=0)]

MAX_ERRORS_SHOWN = 3


class ManifestError(ValueError):
    """A manifest that cannot be used; the message is one line naming what is wrong."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _check_seconds_or_end(v: Any) -> Any:
    # One clear message instead of one per branch of the union.
    if v is None or v == END or (isinstance(v, int | float) and not isinstance(v, bool)):
        return v
    raise ValueError(f"must be seconds or {END!r}, got {v!r}")


def _until_s(v: float | str) -> float:
    """`down_until_s` for ordering: "end" is later than any time."""
    return float("inf") if v == END else float(v)


def _check_times_in_order(
    fall_start_s: float | None, down_from_s: float, down_until_s: float | str
) -> None:
    """A fall's times as labelled: falling starts, then down, then up (or "end")."""
    if _until_s(down_until_s) < down_from_s:
        raise ValueError(f"down_until_s ({down_until_s}) is before down_from_s ({down_from_s})")
    if fall_start_s is not None and fall_start_s > down_from_s:
        raise ValueError(f"fall_start_s ({fall_start_s}) is after down_from_s ({down_from_s})")


class FallEventLabel(_Record):
    """One fall of a clip that holds several: each is one alert to raise, once."""

    fall_start_s: NonNegative_s | None = Field(None, description="When the falling motion starts.")
    down_from_s: NonNegative_s = Field(description="First moment the person is on the ground.")
    down_until_s: NonNegative_s | Literal["end"] = Field(
        description="When they get up, or 'end' if still down at the end."
    )

    @field_validator("down_until_s", mode="before")
    @classmethod
    def _seconds_or_end(cls, v: Any) -> Any:
        return _check_seconds_or_end(v)

    @model_validator(mode="after")
    def _in_order(self) -> FallEventLabel:
        _check_times_in_order(self.fall_start_s, self.down_from_s, self.down_until_s)
        return self


class ClipLabel(_Record):
    """Ground truth of one clip, times in seconds from the first decoded frame."""

    fall: bool = Field(description="True if a fall happens in the clip.")
    fall_start_s: NonNegative_s | None = Field(None, description="When the falling motion starts.")
    down_from_s: NonNegative_s | None = Field(
        None,
        description="First moment the person is on the ground; required for falls.",
    )
    down_until_s: NonNegative_s | Literal["end"] | None = Field(
        None,
        description="When they get up, or 'end' if still down at the end; required for falls.",
    )
    hard_negative: bool = Field(False, description="A non-fall that looks fall-like.")
    person_on_floor: bool = Field(False, description="Someone lies on the floor without falling.")
    on_floor_from_s: NonNegative_s | None = None
    on_floor_until_s: NonNegative_s | Literal["end"] | None = None
    fall_events: list[FallEventLabel] | None = Field(
        None,
        description="Several falls in one clip, in time order; each is one fall to alert. "
        "When given, scoring uses these instead of the label's own down window.",
    )
    uncertain: bool = Field(
        False, description="Same as the clip's top-level `uncertain` (either one counts)."
    )

    @field_validator("down_until_s", "on_floor_until_s", mode="before")
    @classmethod
    def _seconds_or_end(cls, v: Any) -> Any:
        return _check_seconds_or_end(v)

    @model_validator(mode="after")
    def _fall_has_window(self) -> ClipLabel:
        if self.fall_events is not None:
            return self._events_in_order()
        if not self.fall:
            return self
        missing = [k for k in ("down_from_s", "down_until_s") if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a fall clip needs {' and '.join(missing)}")
        assert self.down_from_s is not None
        assert self.down_until_s is not None
        _check_times_in_order(self.fall_start_s, self.down_from_s, self.down_until_s)
        return self

    def _events_in_order(self) -> ClipLabel:
        assert self.fall_events is not None
        if not self.fall:
            raise ValueError("fall_events given on a clip with fall: false")
        if not self.fall_events:
            raise ValueError("fall_events is empty; leave it out or list at least one fall")
        for i, (before, after) in enumerate(
            zip(self.fall_events, self.fall_events[1:], strict=False)
        ):
            # Each fall must end (person up) before the next one starts: one alert each.
            start_s = after.fall_start_s if after.fall_start_s is not None else after.down_from_s
            if _until_s(before.down_until_s) > start_s:
                raise ValueError(
                    f"fall_events[{i + 1}] starts at {start_s} s, before fall_events[{i}] "
                    f"ends (down_until_s {before.down_until_s}); list falls in time order, "
                    "each after the person got up"
                )
        return self

    @property
    def falls(self) -> list[FallEventLabel]:
        """The clip's falls: `fall_events`, or the label's own window as one; [] if no fall."""
        if not self.fall:
            return []
        if self.fall_events is not None:
            return list(self.fall_events)
        assert self.down_from_s is not None and self.down_until_s is not None
        return [
            FallEventLabel(
                fall_start_s=self.fall_start_s,
                down_from_s=self.down_from_s,
                down_until_s=self.down_until_s,
            )
        ]


class ClipSource(_Record):
    """Where a clip comes from; `repo` names the source in per-source figures."""

    repo: str | None = Field(None, description="Repository (owner/name) the clip was taken from.")


class Clip(_Record):
    """One labelled video."""

    file: str = Field(min_length=1, description="Path relative to the manifest, as written.")
    label: ClipLabel
    uncertain: bool = Field(
        False,
        description="The label depends on definitions or unreliable timing: reported apart.",
    )
    fps: Annotated[float, Field(gt=0)] | None = None
    duration_s: NonNegative_s | None = Field(
        None,
        description="Clip length; what `down_until_s: end` means. Measured when absent.",
    )
    source: ClipSource | None = Field(
        None, description="Origin; clips without a `repo` count under their manifest."
    )

    @model_validator(mode="before")
    @classmethod
    def _uncertain_in_label(cls, data: Any) -> Any:
        # Some manifests flag uncertainty inside the label: either place makes it so,
        # and everything downstream reads the one top-level flag.
        if isinstance(data, dict):
            label = data.get("label")
            if isinstance(label, dict) and label.get("uncertain") is True:
                return {**data, "uncertain": True}
        return data


class StillItem(_Record):
    image: str = Field(min_length=1, description="Image path relative to the images `dir`.")
    label: str = Field(min_length=1, description="YOLO txt path relative to the images `dir`.")


class StillsSection(_Record):
    """YOLO-labelled stills: one txt per image, lines `class cx cy w h` normalised to [0, 1]."""

    dir: str = Field(min_length=1, description="Folder relative to the manifest.")
    items: list[StillItem]
    classes: dict[int, str] = Field(
        default_factory=lambda: {0: "Fall-Action", 1: "Sit", 2: "Stand"},
        description="Class id -> name; names starting with 'fall' mean a fallen person.",
    )

    @property
    def fallen_class_ids(self) -> frozenset[int]:
        return frozenset(k for k, v in self.classes.items() if v.casefold().startswith("fall"))


class Manifest(_Record):
    videos: list[Clip]
    images: StillsSection | None = None
    root: Path = Field(Path("."), description="Folder that `file` paths are relative to.")

    @model_validator(mode="before")
    @classmethod
    def _videos_or_items(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            # pydantic turns only ValueError into a validation error, not TypeError.
            raise ValueError(f"the manifest must be a JSON object, got {type(data).__name__}")
        if "videos" in data and "items" in data:
            raise ValueError("the manifest has both 'videos' and 'items'; keep one")
        if "videos" not in data:
            if "items" not in data:
                raise ValueError("the manifest needs a 'videos' (or 'items') list")
            data = {**data, "videos": data["items"]}
        return data

    @model_validator(mode="after")
    def _unique_files(self) -> Manifest:
        # Scores are keyed by `file`, so two entries for one file would be ambiguous.
        first: dict[str, int] = {}
        for i, clip in enumerate(self.videos):
            if clip.file in first:
                raise ValueError(
                    f"videos[{i}] repeats file {clip.file!r} of videos[{first[clip.file]}]"
                )
            first[clip.file] = i
        return self

    def clip_path(self, clip: Clip) -> Path:
        return self.root / clip.file

    def still_paths(self, item: StillItem) -> tuple[Path, Path]:
        """(image, label) paths of one still."""
        assert self.images is not None
        base = self.root / self.images.dir
        return base / item.image, base / item.label

    def still_name(self, item: StillItem) -> str:
        """The still's image path relative to the manifest, for reports and `--only`."""
        assert self.images is not None
        return f"{self.images.dir.rstrip('/')}/{item.image}"


def _describe(loc: Sequence[int | str], raw: Any) -> str:
    """`videos[3] (videos/a.mp4) label.down_from_s` from a pydantic error location."""
    if not loc:
        return ""
    entries_key = "items" if isinstance(raw, dict) and "videos" not in raw else "videos"
    names = [entries_key if p == "videos" and i == 0 else p for i, p in enumerate(loc)]
    text = ""
    for p in names:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    if loc[0] == "videos" and len(loc) >= 2 and isinstance(loc[1], int) and isinstance(raw, dict):
        entries = raw.get(entries_key)
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            head = f"{entries_key}[{loc[1]}]"
            rest = text[len(head) :].lstrip(".")
            text = f"{head} ({entry['file']})" + (f" {rest}" if rest else "")
    return text


def format_manifest_error(exc: ValidationError, raw: Any) -> str:
    """One line naming each bad field (clip index, file and field) and the problem."""
    parts = []
    errors = exc.errors()
    for err in errors[:MAX_ERRORS_SHOWN]:
        msg = str(err["msg"]).removeprefix("Value error, ")
        where = _describe(err["loc"], raw)
        parts.append(f"{where}: {msg}" if where else msg)
    more = len(errors) - MAX_ERRORS_SHOWN
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest; raises `ManifestError` with a one-line message."""
    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path}: no such manifest")
    if not path.is_file():
        raise ManifestError(f"{path}: not a file")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    raw_with_root = {**raw, "root": path.parent} if isinstance(raw, dict) else raw
    try:
        return Manifest.model_validate(raw_with_root)
    except ValidationError as exc:
        raise ManifestError(f"{path}: {format_manifest_error(exc, raw)}") from None


# ---------------------------------------------------------------------------- several
def manifest_labels(paths: Sequence[Path]) -> list[str]:
    """Short names telling manifests apart: the folder name, with parents only if needed.

    `[falls/manifest.json, falls2/manifest.json]` -> `["falls", "falls2"]`; two `dev`
    folders under `a/` and `b/` -> `["a/dev", "b/dev"]`. A manifest not called
    `manifest.json` adds its stem (`x/extra.json` -> `x/extra`) so one folder can hold two.
    Raises `ManifestError` when one manifest is given twice.
    """
    resolved = [p.resolve() for p in paths]
    seen: dict[Path, int] = {}
    for i, r in enumerate(resolved):
        if r in seen:
            raise ManifestError(f"{paths[i]}: the same manifest as {paths[seen[r]]}, given twice")
        seen[r] = i
    parts = [
        [*r.parent.parts[1:], *([r.stem] if r.stem != "manifest" else [])] or [r.stem]
        for r in resolved
    ]
    for depth in range(1, max((len(p) for p in parts), default=1) + 1):
        labels = ["/".join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return ["/".join(p) for p in parts]  # pragma: no cover - distinct paths differ somewhere


@dataclass(frozen=True, eq=False)
class SourcedManifest:
    """A loaded manifest with the short label that prefixes its clip names.

    Compared by identity: the manifest inside holds lists, so it has no value hash.
    """

    label: str
    path: Path
    manifest: Manifest


@dataclass(frozen=True)
class ClipRef:
    """One clip of one of several manifests, named uniquely across all of them."""

    owner: SourcedManifest
    index: int
    """Position in its manifest's clip list."""
    clip: Clip

    @property
    def name(self) -> str:
        """`<manifest label>/<file>`, e.g. `falls2/videos/a.mp4`: unique across manifests."""
        file = posixpath.normpath(self.clip.file.replace("\\", "/"))
        return f"{self.owner.label}/{file}"

    @property
    def source(self) -> str:
        """The clip's `source.repo`, else its manifest's label."""
        repo = self.clip.source.repo if self.clip.source is not None else None
        return repo or self.owner.label

    @property
    def path(self) -> Path:
        return self.owner.manifest.clip_path(self.clip)


def load_manifests(paths: Sequence[str | Path]) -> list[SourcedManifest]:
    """Load several manifests, labelled apart (see `manifest_labels`)."""
    as_paths = [Path(p) for p in paths]
    labels = manifest_labels(as_paths)
    loaded = [load_manifest(p) for p in as_paths]
    return [SourcedManifest(lbl, p, m) for lbl, p, m in zip(labels, as_paths, loaded, strict=True)]
