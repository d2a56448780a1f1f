"""SENTRY_DSN set: errors of the portal (Django) and the workers (Celery) reach Sentry; unset:
sentry-sdk is not initialised and nothing is sent (issue 19). Each case runs the settings in a
fresh interpreter: sentry-sdk's client is process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import os, sys, types
import sentry_sdk
calls = []
real_init = sentry_sdk.init
def init(*args, **kwargs):
    calls.append(kwargs.get("dsn"))
    return real_init(*args, **kwargs)
sentry_sdk.init = init

import django
django.setup()
from django.conf import settings

# A portal page that fails, and a worker task that fails.
def boom(request):
    raise ZeroDivisionError("portal page failed: marker-portal")
from django.urls import path
urls = types.ModuleType("boom_urls")
urls.urlpatterns = [path("boom", boom)]
sys.modules["boom_urls"] = urls

from django.test import Client
from django.test.utils import override_settings
# No middleware: the request reaches the view without the database (this interpreter has none).
with override_settings(ROOT_URLCONF="boom_urls", ALLOWED_HOSTS=["*"], MIDDLEWARE=[]):
    response = Client(raise_request_exception=False).get("/boom")
print("STATUS", response.status_code, flush=True)

from naviance_sync.celery import app
@app.task(name="tests.boom")
def boom_task():
    raise KeyError("worker task failed: marker-worker")
result = boom_task.apply()
print("TASK", result.state, flush=True)

print("INIT_CALLS", calls, flush=True)
print("ACTIVE", sentry_sdk.get_client().is_active(), flush=True)
sentry_sdk.flush(timeout=5)
"""


class Sink(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        elif self.headers.get("Content-Encoding") == "br":
            # sentry-sdk compresses with brotli whenever the module is importable (locust's
            # geventhttpclient brings it into the dev environment); Sentry accepts both.
            import brotli

            body = brotli.decompress(body)
        type(self).received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sentry():
    Sink.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], Sink.received
    server.shutdown()


def run(dsn: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env["DJANGO_SETTINGS_MODULE"] = "naviance_sync.settings_test"
    if dsn is not None:
        env["SENTRY_DSN"] = dsn
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def events(bodies: list[bytes]) -> list[dict]:
    """The error events in Sentry envelopes (a header line, then item header/payload pairs)."""
    out = []
    for body in bodies:
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                out.append(json.loads(payload))
    return out


def test_with_a_dsn_portal_and_worker_errors_are_posted(fake_sentry):
    port, received = fake_sentry
    out = run(f"http://publickey@127.0.0.1:{port}/42")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "STATUS 500" in out.stdout and "TASK FAILURE" in out.stdout
    assert "ACTIVE True" in out.stdout
    found = events(received)
    text = json.dumps(found)
    assert "marker-portal" in text and "marker-worker" in text
    portal = next(e for e in found if "marker-portal" in json.dumps(e))
    worker = next(e for e in found if "marker-worker" in json.dumps(e))
    assert portal["exception"]["values"][-1]["mechanism"]["type"] == "django"
    assert worker["exception"]["values"][-1]["mechanism"]["type"] == "celery"
    assert "user" not in portal or not portal["user"].get("username")  # no personal data


def test_without_a_dsn_nothing_is_initialised_or_sent(fake_sentry):
    port, received = fake_sentry
    out = run(None)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "STATUS 500" in out.stdout and "TASK FAILURE" in out.stdout
    assert "INIT_CALLS []" in out.stdout
    assert "ACTIVE False" in out.stdout
    assert received == []
