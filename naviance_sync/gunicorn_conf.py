"""Gunicorn settings for the portal, used by ``bin/demo`` and ``docker-compose.yml``
(``gunicorn naviance_sync.wsgi -c naviance_sync/gunicorn_conf.py``).

Access log lines never hold a sign-in secret:
- the Clever OAuth callback (``/sso/clever/login/callback/?code=...&state=...``) is logged without
  its query string: the one-time code and the state are gone;
- the welcome link (``/accounts/setup/<uidb64>/<token>/``) is logged with ``[token]`` for the token.
The request line, the path, the query string, the raw URI and the Referer (a page's address is the
Referer of the form it posts) are redacted before any format sees them, so a custom
``access_log_format`` cannot bring them back. The paths are checked against the URLconf by
tests/security/test_access_log.py. No Django import: the gunicorn master reads this file.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

CALLBACK_PATH = "/sso/clever/login/callback/"
# The welcome link's token segment; "set-password" is the page Django redirects to, not a secret.
_WELCOME_TOKEN = re.compile(r"(/accounts/setup/[^/?#\s]+/)(?!set-password/)[^/?#\s]+")
_CALLBACK_QUERY = re.compile(r"(/sso/clever/login/callback/?)\?[^\s#]*")


def redact(text: str) -> str:
    """``text`` (a path, a request URI or a full URL) without sign-in secrets."""
    if not text:
        return text
    text = _CALLBACK_QUERY.sub(r"\1", text)
    return _WELCOME_TOKEN.sub(r"\1[token]", text)


class _Headers:
    def __init__(self, headers):
        self.headers = headers


class RedactingLogger(Logger):
    """gunicorn's logger, formatting access lines from a redacted copy of the request."""

    def atoms(self, resp, req, environ, request_time):
        environ = dict(environ)
        path = environ.get("PATH_INFO") or ""
        if path.rstrip("/") == CALLBACK_PATH.rstrip("/"):
            environ["QUERY_STRING"] = ""
        for key in ("RAW_URI", "REQUEST_URI", "PATH_INFO", "HTTP_REFERER"):
            if environ.get(key):
                environ[key] = redact(environ[key])
        headers = getattr(req, "headers", req) or []
        if hasattr(headers, "items"):
            headers = headers.items()
        safe = [(k, redact(v) if k.lower() == "referer" else v) for k, v in headers]
        return super().atoms(resp, _Headers(safe), environ, request_time)


logger_class = RedactingLogger
# Threads per worker: a page that waits on Clever (at most CLEVER_PORTAL_DEADLINE_SECONDS) holds a
# thread, not a whole worker, so one district's slow Clever cannot take /healthz or other districts'
# pages down with it (issue 20.3; tests/security/test_healthz_under_slow_clever.py, 2 workers).
worker_class = "gthread"
threads = 4
