from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fallwatch.evaluation.manifest import (
    ClipRef,
    ManifestError,
    load_manifest,
    load_manifests,
    manifest_labels,
)
from tests.fakes.evaluation import make_clip, write_manifest


def test_loads_clips_stills_and_resolves_paths(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path,
        [
            make_clip("videos/a.mp4"),
            make_clip("videos/b.mp4", fall=False, hard_negative=True),
        ],
        images={
            "dir": "images/x",
            "items": [{"image": "images/1.jpg", "label": "labels/1.txt"}],
        },
    )
    m = load_manifest(path)
    assert [c.file for c in m.videos] == ["videos/a.mp4", "videos/b.mp4"]
    assert m.clip_path(m.videos[0]) == tmp_path / "videos/a.mp4"
    assert m.videos[0].label.down_until_s == "end"
    assert m.videos[1].label.hard_negative
    assert m.images is not None and m.images.fallen_class_ids == {0}
    assert m.still_paths(m.images.items[0]) == (
        tmp_path / "images/x/images/1.jpg",
        tmp_path / "images/x/labels/1.txt",
    )
    assert m.still_name(m.images.items[0]) == "images/x/images/1.jpg"


def test_items_is_another_name_for_videos(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"items": [make_clip()]}))
    assert load_manifest(path).videos[0].file == "videos/a.mp4"


def test_real_manifest_loads(falls_data: Path) -> None:
    m = load_manifest(falls_data / "manifest.json")
    assert len(m.videos) >= 70 and m.images is not None and len(m.images.items) == 300
    assert any(c.uncertain for c in m.videos) and any(c.label.hard_negative for c in m.videos)


def _with(change: Any) -> dict[str, Any]:
    clips = [make_clip("videos/a.mp4"), make_clip("videos/b.mp4")]
    data: dict[str, Any] = {"videos": clips}
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["videos"][1]["label"].pop("down_from_s"),
            "videos[1] (videos/b.mp4) label: a fall clip needs down_from_s",
        ),
        (
            lambda d: d["videos"][1]["label"].pop("down_until_s"),
            "videos[1] (videos/b.mp4) label: a fall clip needs down_until_s",
        ),
        (
            lambda d: d["videos"][0].pop("label"),
            "videos[0] (videos/a.mp4) label: Field required",
        ),
        (lambda d: d["videos"][0].pop("file"), "videos[0].file: Field required"),
        (
            lambda d: d["videos"][1]["label"].update(down_until_s="later"),
            "videos[1] (videos/b.mp4) label.down_until_s: must be seconds or 'end', got 'later'",
        ),
        (
            lambda d: d["videos"][1]["label"].update(down_until_s=1.0),
            "down_until_s (1.0) is before down_from_s (2.0)",
        ),
        (
            lambda d: d["videos"][1]["label"].update(fall_start_s=5.0),
            "fall_start_s (5.0) is after down_from_s (2.0)",
        ),
        (
            lambda d: d["videos"][0]["label"].update(down_from_s=-1),
            "videos[0] (videos/a.mp4) label.down_from_s: Input should be greater than or equal to 0",
        ),
        (
            lambda d: d["videos"][0]["label"].update(fall="maybe"),
            "label.fall: Input should be a valid boolean",
        ),
        (
            lambda d: d["videos"][0].update(fps=0),
            "videos[0] (videos/a.mp4) fps: Input should be greater than 0",
        ),
        (
            lambda d: d["videos"].append(make_clip("videos/a.mp4")),
            "videos[2] repeats file 'videos/a.mp4' of videos[0]",
        ),
        (lambda d: d.pop("videos"), "the manifest needs a 'videos' (or 'items') list"),
        (lambda d: d.update(items=[]), "has both 'videos' and 'items'"),
        (
            lambda d: d.update(videos="all of them"),
            "videos: Input should be a valid list",
        ),
        (
            lambda d: d.update(images={"dir": "x", "items": [{"image": "a.jpg"}]}),
            "images.items[0].label: Field required",
        ),
        # several falls in one clip
        (
            lambda d: d["videos"][1]["label"].update(
                fall_events=[
                    {"down_from_s": 1.0, "down_until_s": 5.0},
                    {"fall_start_s": 4.0, "down_from_s": 6.0, "down_until_s": 8.0},
                ]
            ),
            "videos[1] (videos/b.mp4) label: fall_events[1] starts at 4.0 s, before "
            "fall_events[0] ends (down_until_s 5.0)",
        ),
        (
            lambda d: d["videos"][1]["label"].update(
                fall_events=[
                    {"down_from_s": 1.0, "down_until_s": "end"},
                    {"down_from_s": 6.0, "down_until_s": 8.0},
                ]
            ),
            "fall_events[1] starts at 6.0 s, before fall_events[0] ends (down_until_s end)",
        ),
        (
            lambda d: d["videos"][1]["label"].update(
                fall_events=[{"down_from_s": 3.0, "down_until_s": 2.0}]
            ),
            "videos[1] (videos/b.mp4) label.fall_events[0]: down_until_s (2.0) is before "
            "down_from_s (3.0)",
        ),
        (
            lambda d: d["videos"][1]["label"].update(
                fall_events=[{"fall_start_s": 4.0, "down_from_s": 3.0, "down_until_s": 5.0}]
            ),
            "label.fall_events[0]: fall_start_s (4.0) is after down_from_s (3.0)",
        ),
        (
            lambda d: d["videos"][1]["label"].update(
                fall_events=[{"down_from_s": 3.0, "down_until_s": "soon"}]
            ),
            "label.fall_events[0].down_until_s: must be seconds or 'end', got 'soon'",
        ),
        (
            lambda d: d["videos"][1]["label"].update(fall_events=[{"down_until_s": 3.0}]),
            "label.fall_events[0].down_from_s: Field required",
        ),
        (
            lambda d: d["videos"][1]["label"].update(fall_events=[]),
            "label: fall_events is empty",
        ),
        (
            lambda d: d["videos"][1].update(
                label={"fall": False, "fall_events": [{"down_from_s": 1, "down_until_s": 2}]}
            ),
            "label: fall_events given on a clip with fall: false",
        ),
        (
            lambda d: d["videos"][0].update(source="somewhere"),
            "videos[0] (videos/a.mp4) source: Input should be a valid dictionary",
        ),
    ],
)
def test_bad_manifest_names_clip_and_field(tmp_path: Path, change: Any, message: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(_with(change)))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    text = str(err.value)
    assert message in text
    assert text.startswith(str(path)) and "\n" not in text


def test_many_errors_stay_on_one_line(tmp_path: Path) -> None:
    clips = [{"file": f"v{i}.mp4"} for i in range(6)]
    path = write_manifest(tmp_path, clips)
    with pytest.raises(
        ManifestError, match=r"videos\[0\] \(v0.mp4\) label: Field required.*and 3 more"
    ) as err:
        load_manifest(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such manifest"),
        ("{not json", "invalid JSON at line 1 column 2"),
        ("[1, 2]", "must be a JSON object, got list"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
    ],
)
def test_unreadable_manifest(tmp_path: Path, content: str | bytes | None, message: str) -> None:
    path = tmp_path / "manifest.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ManifestError, match=message):
        load_manifest(path)


def test_a_folder_is_not_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not a file"):
        load_manifest(tmp_path)


def test_fall_events_replace_the_label_window(tmp_path: Path) -> None:
    events = [
        {"fall_start_s": 0.5, "down_from_s": 1.0, "down_until_s": 2.5},
        {"down_from_s": 4.0, "down_until_s": "end"},
    ]
    # No top-level down window is needed when the falls are listed.
    entry = make_clip("videos/two.mp4", fall_events=events)
    del entry["label"]["down_from_s"], entry["label"]["down_until_s"]
    m = load_manifest(write_manifest(tmp_path, [entry, make_clip("videos/one.mp4")]))
    two, one = m.videos
    assert [(f.down_from_s, f.down_until_s) for f in two.label.falls] == [
        (1.0, 2.5),
        (4.0, "end"),
    ]
    assert [(f.fall_start_s, f.down_from_s) for f in one.label.falls] == [(1.0, 2.0)]


def test_uncertain_in_the_label_counts_and_source_is_read(tmp_path: Path) -> None:
    flagged = make_clip("videos/a.mp4", uncertain=True)
    plain = {**make_clip("videos/b.mp4"), "source": {"repo": "someone/clips", "commit": "abc"}}
    m = load_manifest(write_manifest(tmp_path, [flagged, plain]))
    assert m.videos[0].uncertain and m.videos[0].label.uncertain
    assert not m.videos[1].uncertain
    assert m.videos[1].source is not None and m.videos[1].source.repo == "someone/clips"


@pytest.mark.parametrize(
    ("paths", "labels"),
    [
        (["d/falls/manifest.json", "d/falls2/manifest.json"], ["falls", "falls2"]),
        (["a/dev/manifest.json", "b/dev/manifest.json"], ["a/dev", "b/dev"]),
        (["x/manifest.json", "x/extra.json"], ["x", "extra"]),
        (["only/manifest.json"], ["only"]),
    ],
)
def test_manifest_labels_are_short_and_unique(
    tmp_path: Path, paths: list[str], labels: list[str]
) -> None:
    assert manifest_labels([tmp_path / p for p in paths]) == labels


def test_the_same_manifest_twice_is_an_error(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, [make_clip()])
    with pytest.raises(ManifestError, match="given twice"):
        load_manifests([path, tmp_path / "." / "manifest.json"])


def test_clip_names_and_sources_across_manifests(tmp_path: Path) -> None:
    # The same file in two manifests gets two names; a clip without source.repo counts
    # under its manifest's label.
    sourced = {**make_clip("videos/a.mp4"), "source": {"repo": "owner/clips"}}
    (tmp_path / "lab").mkdir()
    (tmp_path / "home").mkdir()
    lab = write_manifest(tmp_path / "lab", [sourced])
    home = write_manifest(tmp_path / "home", [make_clip("./videos/a.mp4")])
    refs = [ClipRef(owner, 0, owner.manifest.videos[0]) for owner in load_manifests([lab, home])]
    assert [r.name for r in refs] == ["lab/videos/a.mp4", "home/videos/a.mp4"]
    assert [r.source for r in refs] == ["owner/clips", "home"]
    assert [r.path for r in refs] == [tmp_path / "lab/videos/a.mp4", tmp_path / "home/videos/a.mp4"]
