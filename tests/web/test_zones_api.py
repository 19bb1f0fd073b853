"""Ignore zones through the API: saved for API cameras (and kept), validated in one line,
refused for config-file cameras (which get YAML for their file), by role; the picture to
draw on with its source frame size."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from fallwatch.config.loader import parse_server_config
from fallwatch.serve.app import FallwatchServer
from fallwatch.web.app import create_app
from tests.fakes.web import login, make_server, packet
from tests.web.test_api import bearer, token_for

BED = {"name": "bed", "polygon_xy": [[100, 200], [400, 200], [400, 420], [100, 420]]}
SOFA = {"name": "sofa", "polygon_xy": [[500, 50], [620, 50], [560, 150]]}
BOW_TIE = {"name": "x", "polygon_xy": [[0, 0], [100, 100], [100, 0], [0, 100]]}
WARD = {"id": "ward", "name": "Ward", "path": "/tmp/ward.mp4", "fall": {"confirm_s": 5}}


def _server(tmp_path: Path) -> FallwatchServer:
    srv = make_server(
        tmp_path,
        cameras=[{"id": "lobby", "name": "Lobby", "url": "rtsp://10.0.0.9/s1"}],
    )
    srv.start(run_workers=False)
    return srv


def _admin(client: TestClient) -> dict[str, str]:
    h = {"X-CSRF-Token": login(client)}
    assert client.post("/api/cameras", json=WARD, headers=h).status_code == 201
    return h


def test_zones_of_an_api_camera_are_saved_kept_and_reach_its_config(tmp_path: Path) -> None:
    srv = _server(tmp_path)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            h = _admin(c)
            r = c.get("/api/cameras/ward/zones")
            assert r.status_code == 200, r.text
            assert r.json()["zones"] == [] and r.json()["editable"] is True
            assert r.json()["frame"] is None  # no frame yet
            r = c.put("/api/cameras/ward/zones", json={"zones": [BED, SOFA]}, headers=h)
            assert r.status_code == 200, r.text
            assert [z["name"] for z in r.json()["zones"]] == ["bed", "sofa"]
            fall = c.get("/api/cameras/ward").json()["config"]["fall"]
            assert fall["zones"][0]["polygon_xy"] == BED["polygon_xy"]
            assert fall["confirm_s"] == 5  # the rest of the fall section is kept
            # What the supervisor runs the worker with (it restarts on a changed config).
            config = srv.cameras.config_of("ward")
            assert config is not None and [z.name for z in config.fall.zones] == ["bed", "sofa"]
            r = c.put("/api/cameras/ward/zones", json={"zones": [SOFA]}, headers=h)
            assert [z["name"] for z in r.json()["zones"]] == ["sofa"]
    finally:
        srv.stop()
    srv = _server(tmp_path)  # a restart on the same database
    try:
        config = srv.cameras.config_of("ward")
        assert config is not None
        assert [(z.name, z.polygon_xy[2]) for z in config.fall.zones] == [("sofa", (560, 150))]
    finally:
        srv.stop()


def _detail(r: Any) -> str:
    assert r.status_code == 422, r.text
    detail = str(r.json()["detail"])
    assert "\n" not in detail
    return detail


def test_bad_zones_get_a_one_line_422_and_change_nothing(tmp_path: Path) -> None:
    srv = _server(tmp_path)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            h = _admin(c)
            c.put("/api/cameras/ward/zones", json={"zones": [BED]}, headers=h)
            two = {"name": "line", "polygon_xy": [[0, 0], [10, 10]]}
            r = c.put("/api/cameras/ward/zones", json={"zones": [SOFA, two]}, headers=h)
            assert "zones.1.polygon_xy: a zone polygon needs at least 3 points, got 2" in _detail(r)
            r = c.put("/api/cameras/ward/zones", json={"zones": [BOW_TIE]}, headers=h)
            assert "self-intersecting (a bow-tie)" in _detail(r)
            r = c.post("/api/cameras/ward/zones/check", json={"zones": [BOW_TIE]}, headers=h)
            assert "self-intersecting (a bow-tie)" in _detail(r)
            r = c.put("/api/cameras/ward/zones", json={"zones": [BED], "x": 1}, headers=h)
            assert "x: Extra inputs are not permitted" in _detail(r)
            r = c.put("/api/cameras/ward/zones", json={"zones": [SOFA] * 33}, headers=h)
            assert "zones: List should have at most 32 items" in _detail(r)
            assert [z["name"] for z in c.get("/api/cameras/ward/zones").json()["zones"]] == ["bed"]
            r = c.put("/api/cameras/nope/zones", json={"zones": []}, headers=h)
            assert r.status_code == 404
    finally:
        srv.stop()


def test_config_file_cameras_get_409_and_yaml_that_the_loader_takes(tmp_path: Path) -> None:
    srv = _server(tmp_path)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            h = {"X-CSRF-Token": login(c)}
            r = c.put("/api/cameras/lobby/zones", json={"zones": [BED]}, headers=h)
            assert r.status_code == 409
            assert "config file, which is the source of truth" in r.json()["detail"]
            assert srv.cameras.config_of("lobby").fall.zones == []  # type: ignore[union-attr]
            r = c.post("/api/cameras/lobby/zones/check", json={"zones": [BED, SOFA]}, headers=h)
            assert r.status_code == 200 and r.json()["editable"] is False
            text = r.json()["yaml"]
            assert "polygon_xy: [[100, 200], [400, 200], [400, 420], [100, 420]]" in text
            block = yaml.safe_load(text)
            assert block["fall"]["zones"] == [BED, SOFA]
            # Pasted into the camera's entry, the config file loads with the zones.
            config = parse_server_config(
                {"cameras": [{"id": "lobby", "url": "rtsp://10.0.0.9/s1", **block}]}, env={}
            )
            zones = config.cameras[0].fall.zones
            assert [(z.name, z.polygon_xy[0]) for z in zones] == [
                ("bed", (100, 200)),
                ("sofa", (500, 50)),
            ]
    finally:
        srv.stop()


def test_roles_viewers_read_operators_check_admins_save(tmp_path: Path) -> None:
    srv = _server(tmp_path)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            csrf = _admin(c)["X-CSRF-Token"]
            viewer, operator, admin = (
                token_for(c, csrf, r) for r in ("viewer", "operator", "admin")
            )
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as bot:
            body = {"zones": [BED]}
            assert bot.get("/api/cameras/ward/zones", headers=bearer(viewer)).status_code == 200
            r = bot.put("/api/cameras/ward/zones", json=body, headers=bearer(viewer))
            assert r.status_code == 403
            r = bot.post("/api/cameras/ward/zones/check", json=body, headers=bearer(viewer))
            assert r.status_code == 403 and "operator role" in r.json()["detail"]
            r = bot.post("/api/cameras/ward/zones/check", json=body, headers=bearer(operator))
            assert r.status_code == 200
            r = bot.put("/api/cameras/ward/zones", json=body, headers=bearer(operator))
            assert r.status_code == 403 and "admin role" in r.json()["detail"]
            r = bot.put("/api/cameras/ward/zones", json=body, headers=bearer(admin))
            assert r.status_code == 200
            # The editor page: operators and admins; admins of API cameras get a Save button.
            assert bot.get("/cameras/ward/zones", headers=bearer(viewer)).status_code == 403
            page = bot.get("/cameras/ward/zones", headers=bearer(operator))
            assert page.status_code == 200 and 'id="zone-editor"' in page.text
            assert 'data-can-save="false"' in page.text and 'id="zone-save"' not in page.text
            page = bot.get("/cameras/ward/zones", headers=bearer(admin))
            assert 'data-can-save="true"' in page.text and 'id="zone-save"' in page.text
            assert 'alt="Current picture of Ward"' in page.text
            page = bot.get("/cameras/lobby/zones", headers=bearer(admin))
            assert 'id="zone-save"' not in page.text and "source of truth" in page.text
    finally:
        srv.stop()


def test_the_picture_to_draw_on_gives_the_source_frame_size(tmp_path: Path) -> None:
    srv = make_server(
        tmp_path,
        cameras=[
            {"id": "lobby", "url": "rtsp://10.0.0.9/s1"},
            {"id": "private", "url": "rtsp://10.0.0.9/s2", "privacy": True},
        ],
    )
    srv.start(run_workers=False)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            login(c)
            r = c.get("/api/cameras/lobby/frame.jpg")
            assert r.status_code == 404 and "no frame" in r.json()["detail"]
            # A 1280x720 camera whose JPEGs were scaled down to 64x48.
            scaled = packet("lobby", 1)
            srv.hub.put_packet(replace(scaled, frame_wh=(1280, 720)))
            r = c.get("/api/cameras/lobby/frame.jpg")
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
            assert (r.headers["x-frame-width"], r.headers["x-frame-height"]) == ("1280", "720")
            assert r.headers["x-view"] == "raw" and r.content == scaled.raw_jpeg
            assert c.get("/api/cameras/lobby/zones").json()["frame"] == {
                "width_px": 1280,
                "height_px": 720,
            }
            # A privacy camera's picture never leaves the worker: the skeleton view instead.
            srv.hub.put_packet(packet("private", 1, raw=False))
            r = c.get("/api/cameras/private/frame.jpg")
            assert r.status_code == 200 and r.headers["x-view"] == "annotated"
            # No size from the worker (an older packet): the JPEG's own.
            assert (r.headers["x-frame-width"], r.headers["x-frame-height"]) == ("64", "48")
    finally:
        srv.stop()
