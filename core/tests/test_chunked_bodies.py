"""Chunked request bodies (Transfer-Encoding: chunked, no Content-Length) under the 1 MiB limit.

Django reads a request without Content-Length as having no body; BodySizeLimitMiddleware reads a
body the server already de-chunked (`wsgi.input_terminated`). The in-process tests drive the
WSGI handler with such an environ; the last test sends real chunked requests to gunicorn.
"""

from __future__ import annotations

import http.client
import io
import json
import sqlite3
from collections.abc import Iterator

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from accounts.services import token_pair_issue
from telemetry.models import Event

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


class ChunkedInput(io.BytesIO):
    """A de-chunked body as gunicorn hands it over; `fail` mimics a malformed chunk."""

    def __init__(self, body: bytes, *, fail: bool = False) -> None:
        super().__init__(body)
        self.fail = fail

    def read(self, size: int | None = -1) -> bytes:
        if self.fail:
            raise ValueError("Invalid chunk size")
        return super().read(size)


def call_wsgi(path: str, body: bytes, token: str, *, terminated: bool = True, fail: bool = False):
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.input": ChunkedInput(body, fail=fail),
        "wsgi.input_terminated": terminated,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    seen: dict[str, object] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(headers)

    # As Django's test client does: the test's connection (inside its transaction) must not be
    # closed by the request signals.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, start_response)
        body_out = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return seen["status"], seen["headers"], body_out


def event_body(padding: int = 0) -> bytes:
    return json.dumps({"eventType": "chunked", "meta": {"pad": "x" * padding}}).encode()


@pytest.fixture
def token(player) -> str:
    return token_pair_issue(user=player).access


def test_a_small_chunked_event_is_stored(token):
    status, _, body = call_wsgi("/event", event_body(), token)

    assert status == 201, body
    assert json.loads(body)["eventType"] == "chunked"
    assert list(Event.objects.values_list("event_type", "meta")) == [("chunked", {"pad": ""})]


def test_a_chunked_body_over_1_mib_is_413_and_nothing_is_written(token):
    status, headers, body = call_wsgi("/event", b"x" * (MIB + 1), token)

    assert status == 413
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["code"] == "payload_too_large"
    assert Event.objects.count() == 0


def test_a_chunked_body_of_exactly_1_mib_is_parsed(token):
    # Valid JSON of exactly 1 MiB: the limit itself is allowed (meta over 8 KiB: 400, not 413).
    body = event_body()
    body = body[:-1] + b" " * (MIB - len(body)) + b"}"
    assert len(body) == MIB

    status, _, response = call_wsgi("/event", body, token)

    assert status == 201, response
    assert Event.objects.count() == 1


def test_a_chunked_body_the_server_cannot_read_is_400(token):
    status, _, body = call_wsgi("/event", event_body(), token, fail=True)

    assert status == 400
    assert json.loads(body)["code"] == "malformed_request"
    assert Event.objects.count() == 0


def test_a_chunked_body_the_server_did_not_decode_is_left_alone(token):
    # Without wsgi.input_terminated (wsgiref: runserver) the input is the raw socket, whose end
    # cannot be found: the body stays unread, as Django reads it (empty).
    status, _, body = call_wsgi("/event", event_body(), token, terminated=False)

    assert status == 400
    assert json.loads(body)["code"] == "validation_error"
    assert Event.objects.count() == 0


# --- Against gunicorn -------------------------------------------------------------------------


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _post_chunked(port: int, token: str, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            "/event",
            body=_chunks(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.slow
def test_chunked_bodies_and_a_missing_static_file_against_gunicorn(tmp_path):
    from bench import lib

    # Its own STATIC_ROOT: collecting into the project's would race tests reading it (xdist).
    env = lib.base_env(
        f"sqlite:///{tmp_path}/chunked.db",
        WEB_WORKERS="1",
        WEB_THREADS="2",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    lib.migrate(env)
    (token,) = lib.players_create(env, "chunked", 1, tmp_path / "tokens")
    server = lib.Server(env=env, log_path=tmp_path / "gunicorn.log")

    with lib.running(server):
        small = _post_chunked(server.port, token, event_body())
        large = _post_chunked(server.port, token, event_body(padding=int(1.3 * MIB)))
        after = _post_chunked(server.port, token, event_body())
        # Not a body matter, but a real server check: a missing static file is a JSON 404.
        static_status, static_headers, static_body, _ = lib.http_get(
            server.url + "/static/missing.css"
        )

    assert (small[0], small[1]["eventType"]) == (201, "chunked")
    assert (large[0], large[1]["code"]) == (413, "payload_too_large")
    assert after[0] == 201
    assert (static_status, static_headers["Content-Type"]) == (404, "application/problem+json")
    assert json.loads(static_body)["code"] == "not_found"
    with sqlite3.connect(tmp_path / "chunked.db") as database:
        assert database.execute("SELECT COUNT(*) FROM telemetry_event").fetchall() == [(2,)]
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()
