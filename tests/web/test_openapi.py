"""Ids within the database's range (422, never 500) and an OpenAPI document that says what
the API really answers. The bounded schemathesis run is scripts/api_fuzz.sh (.ci/run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fallwatch.web.app import create_app
from fallwatch.web.schemas import MAX_ROW_ID, ErrorPublic, ValidationErrorPublic
from tests.fakes.web import fall_event, login, make_server

TOO_BIG = (2**63, 2**31, MAX_ROW_ID + 1)  # SQLite's overflow, PostgreSQL's integer


@pytest.fixture
def admin(tmp_path: Path, database_url: str | None) -> Iterator[tuple[TestClient, str]]:
    srv = make_server(
        tmp_path,
        database_url,
        cameras=[{"id": "lobby", "url": "rtsp://10.0.0.9/s1", "enabled": False}],
    )
    srv.start(run_workers=False)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            srv.router.on_event(fall_event("lobby"))
            yield c, login(c)
    finally:
        srv.stop()


def _id_routes(schema: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for path, ops in schema["paths"].items():
        if any(f"{{{name}}}" in path for name in ("event_id", "user_id", "token_id")):
            for method in ops:
                yield method.upper(), path
    yield "GET", "/api/events?before_id={event_id}"
    yield "GET", "/events?before_id={event_id}"
    yield "GET", "/events/{event_id}"
    yield "GET", "/events/{event_id}/snapshot.jpg"


def test_ids_out_of_the_database_range_are_422_never_500(
    admin: tuple[TestClient, str],
) -> None:
    client, csrf = admin
    schema = client.app.openapi()  # type: ignore[attr-defined]
    routes = list(_id_routes(schema))
    assert len(routes) >= 12
    for method, template in routes:
        for value in (*TOO_BIG, 0, -1):
            path = (
                template.replace("{event_id}", str(value))
                .replace("{user_id}", str(value))
                .replace("{token_id}", str(value))
            )
            body = {} if method in ("POST", "PATCH") else None
            r = client.request(method, path, json=body, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 422, (method, path, r.status_code, r.text)
            if path.startswith("/api/"):
                ValidationErrorPublic.model_validate(r.json())
    # The largest id is a plain "not found".
    assert client.get(f"/api/events/{MAX_ROW_ID}").status_code == 404
    assert client.get("/api/events/1").status_code == 200


def _documented(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = schema["paths"][path][method.lower()]["responses"]
    return responses


def test_the_openapi_document_describes_the_error_answers(
    admin: tuple[TestClient, str],
) -> None:
    client, csrf = admin
    schema = client.app.openapi()  # type: ignore[attr-defined]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    detail = schema["components"]["schemas"]["ValidationErrorPublic"]["properties"]["detail"]
    assert detail["type"] == "string"
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            if path != "/healthz":
                assert "401" in codes, (method, path)
            if op.get("parameters") or op.get("requestBody"):
                ref = op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ValidationErrorPublic"), (method, path)
            if op.get("requestBody"):
                assert {"400", "413"} <= codes, (method, path)
            if method in ("post", "patch", "delete"):
                assert "403" in codes, (method, path)
    assert "text/plain" in _documented(schema, "GET", "/metrics")["200"]["content"]

    # Real answers, each with a documented status and the documented body.
    headers = {"X-CSRF-Token": csrf}
    checks = [
        (client.get("/api/events/abc"), "GET", "/api/events/{event_id}"),
        (client.get("/api/events/999"), "GET", "/api/events/{event_id}"),
        (
            client.post(
                "/api/users", json={"username": "admin", "password": "x" * 9}, headers=headers
            ),
            "POST",
            "/api/users",
        ),
        (
            client.post(
                "/api/cameras",
                content=b"\xff{",
                headers={**headers, "Content-Type": "application/json"},
            ),
            "POST",
            "/api/cameras",
        ),
        (
            client.delete("/api/cameras/lobby", headers=headers),
            "DELETE",
            "/api/cameras/{camera_id}",
        ),
        (
            client.post("/api/events/1/resolve", content=b"{" * 2_000_000, headers=headers),
            "POST",
            "/api/events/{event_id}/resolve",
        ),
        (client.post("/api/tokens", json={"name": "x"}), "POST", "/api/tokens"),
    ]
    seen = set()
    for r, method, path in checks:
        assert str(r.status_code) in _documented(schema, method, path), (method, path, r.text)
        model = ValidationErrorPublic if r.status_code == 422 else ErrorPublic
        model.model_validate(r.json())
        seen.add(r.status_code)
    assert seen == {400, 403, 404, 409, 413, 422}
    anonymous = TestClient(client.app, base_url="http://127.0.0.1")
    r = anonymous.get("/api/events")
    assert r.status_code == 401 and ErrorPublic.model_validate(r.json())


def test_the_camera_schema_states_the_one_source_rule(admin: tuple[TestClient, str]) -> None:
    """A body the document allows is not refused for its source: it needs exactly one of
    url (a stream URL with a host) and path, and loop only with a path."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    client, csrf = admin
    document = client.app.openapi()  # type: ignore[attr-defined]
    body_schema = jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/CameraConfig", "components": document["components"]}
    )
    assert document["components"]["schemas"]["CameraConfig"]["oneOf"]
    cases = [
        ({"id": "a"}, False),
        ({"id": "b", "url": "rtsp://u:p@10.0.0.5/s1", "path": "x.mp4"}, False),
        ({"id": "c", "url": "rtsp://10.0.0.5/s1", "loop": True}, False),
        ({"id": "d", "url": "ftp://10.0.0.5/s1"}, False),
        ({"id": "e", "url": "rtsp:///s1"}, False),
        ({"id": "f", "url": "rtsp://u:p@10.0.0.5:554/s1"}, True),
        ({"id": "g", "path": "clip.mp4", "loop": True}, True),
    ]
    for body, valid in cases:
        assert body_schema.is_valid(body) is valid, body
        r = client.post("/api/cameras", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == (201 if valid else 422), (body, r.text)
