"""Issue 20 item 9: gunicorn's access log never records a sign-in secret.

The Clever OAuth callback's one-time ``code`` and ``state`` and the welcome link's token were
written to the access log with every request line. A log line is formatted here through the logger
class that ``naviance_sync/gunicorn_conf.py`` (the file bin/demo and docker-compose.yml pass with
``-c``) configures, from a fake gunicorn request.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.urls import reverse
from gunicorn.app.base import Application
from gunicorn.config import Config

CONF = Path(settings.BASE_DIR) / "naviance_sync" / "gunicorn_conf.py"
CODE, STATE, TOKEN = "one-time-code-4f2a", "state-9c1e7b", "c3k2-0a1b2c3d4e5f6a7b8c9d"
# Everything an access log format can show of the request: line, path, query, raw URI, Referer.
EVERY_ATOM = '%(r)s|%(U)s|%(q)s|"%(f)s"|%({raw_uri}e)s|%({query_string}e)s|%({referer}i)s|%(s)s'


def log_line(tmp_path: Path, uri: str, *, referer: str = "-", fmt: str | None = None) -> str:
    """The access log line gunicorn, configured by our file, writes for a GET of ``uri``."""
    cfg = Config()
    for key, value in Application.get_config_from_filename(None, str(CONF)).items():
        if key in cfg.settings:
            cfg.set(key, value)
    out = tmp_path / "access.log"
    cfg.set("accesslog", str(out))
    if fmt:
        cfg.set("access_log_format", fmt)
    logger = cfg.logger_class(cfg)
    path, _, query = uri.partition("?")
    headers = [("HOST", "sync.example.org"), ("USER-AGENT", "pytest"), ("REFERER", referer)]
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": uri,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_REFERER": referer,
    }
    request = SimpleNamespace(headers=headers)
    response = SimpleNamespace(status="302 Found", sent=0, headers=[("Location", "/")])
    logger.access(response, request, environ, dt.timedelta(milliseconds=12))
    for handler in logger.access_log.handlers:
        handler.flush()
    text = out.read_text()
    logger.access_log.handlers.clear()
    return text


def test_the_paths_are_the_urlconfs():
    assert reverse("clever_callback") == "/sso/clever/login/callback/"
    assert reverse("account_setup", kwargs={"uidb64": "MTI", "token": "x-y"}).startswith(
        "/accounts/setup/MTI/"
    )


@pytest.mark.parametrize("fmt", [None, EVERY_ATOM])
def test_the_oauth_callback_is_logged_without_its_code(tmp_path, fmt):
    line = log_line(tmp_path, f"/sso/clever/login/callback/?code={CODE}&state={STATE}", fmt=fmt)
    if fmt is None:
        assert (
            "203.0.113.7 - - [" in line and '"GET /sso/clever/login/callback/ HTTP/1.1" 302' in line
        )
    assert CODE not in line and STATE not in line and "code=" not in line, line


@pytest.mark.parametrize("fmt", [None, EVERY_ATOM])
def test_the_welcome_token_is_replaced(tmp_path, fmt):
    line = log_line(tmp_path, f"/accounts/setup/MTI/{TOKEN}/", fmt=fmt)
    assert TOKEN not in line, line
    assert "/accounts/setup/MTI/[token]/" in line, line


def test_the_token_in_a_referer_is_replaced(tmp_path):
    """The set-password form posts from the welcome link's page: its address is the Referer."""
    referer = f"https://sync.example.org/accounts/setup/MTI/{TOKEN}/"
    line = log_line(tmp_path, "/accounts/setup/MTI/set-password/", referer=referer, fmt=EVERY_ATOM)
    assert TOKEN not in line, line
    assert "/accounts/setup/MTI/set-password/" in line


def test_other_requests_are_logged_as_they_were(tmp_path):
    line = log_line(tmp_path, "/integrations/runs/?data_type=staff&before=12")
    assert '"GET /integrations/runs/?data_type=staff&before=12 HTTP/1.1" 302' in line


def test_bin_demo_and_compose_use_the_file():
    root = Path(settings.BASE_DIR)
    for launcher in ("bin/demo", "docker-compose.yml"):
        text = (root / launcher).read_text()
        assert "naviance_sync/gunicorn_conf.py" in text, launcher
