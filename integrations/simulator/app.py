"""The simulator's WSGI application: Clever's Data and Events API (v3.0/v3.1 shape) and OAuth.

Plain WSGI on the standard library, so it runs in a test thread, under the management command,
or behind any WSGI server. Responses use Clever's real envelopes (list items with ``uri``, ``links``
with relative URIs including the version prefix) and status codes; faults from :class:`Faults`
are applied before routing.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from .dataset import Dataset, dumps
from .faults import Faults

logger = logging.getLogger("integrations.simulator")

MAX_LIMIT = 10000
DEFAULT_LIMIT = 100
VERSIONS = ("v3.0", "v3.1")
LIST_KINDS = ("schools", "users", "sections", "terms", "courses")
USER_ROLE_FILTERS = ("student", "teacher", "staff", "district_admin", "contact")


class AbortConnection(Exception):
    """Raised to drop the connection without answering (the server handler closes the socket)."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    environ: dict[str, Any] = field(repr=False)
    _body: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        return cls(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=environ.get("PATH_INFO", "/") or "/",
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers,
            environ=environ,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def body(self) -> bytes:
        if self._body is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            self._body = self.environ["wsgi.input"].read(length) if length > 0 else b""
        return self._body

    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    list_page: bool = False
    truncate: str = ""  # fault: "close" or "short"


_REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def json_response(
    status: int, value: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    return Response(status, dumps(value), headers=headers or [])


def error(status: int, message: str) -> Response:
    return json_response(status, {"message": message})


@dataclass
class Caller:
    """Who is calling: a district-app token, or an SSO (user) token from the OAuth flow."""

    token: str
    district: str
    user: str | None = None

    @property
    def is_sso(self) -> bool:
        return self.user is not None


_ID = r"([^/]+)"
_ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^/(v3\.[01])/me$"), "me"),
    (re.compile(r"^/(v3\.[01])/districts$"), "districts"),
    (re.compile(rf"^/(v3\.[01])/districts/{_ID}$"), "district"),
    (re.compile(r"^/(v3\.[01])/(schools|users|sections|terms|courses)$"), "list"),
    (re.compile(rf"^/(v3\.[01])/(schools|users|sections|terms|courses)/{_ID}$"), "single"),
    (re.compile(rf"^/(v3\.[01])/schools/{_ID}/users$"), "school_users"),
    (re.compile(rf"^/(v3\.[01])/schools/{_ID}/(sections|terms|courses)$"), "school_children"),
    (re.compile(rf"^/(v3\.[01])/sections/{_ID}/users$"), "section_users"),
    (re.compile(rf"^/(v3\.[01])/users/{_ID}/sections$"), "user_sections"),
    (
        re.compile(rf"^/(v3\.[01])/(schools|users|sections|terms|courses)/{_ID}/district$"),
        "parent_district",
    ),
    (re.compile(r"^/(v3\.[01])/events$"), "events"),
    (re.compile(rf"^/(v3\.[01])/events/{_ID}$"), "event"),
]


class SimulatorApp:
    """WSGI callable. ``clock``/``sleep`` are injectable for OAuth expiry and latency tests."""

    def __init__(
        self,
        dataset: Dataset,
        faults: Faults | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        portal_url: str | None = None,
    ) -> None:
        from .oauth import OAuthState

        self.portal_url = portal_url
        self.dataset = dataset
        self.faults = faults if faults is not None else Faults()
        self.clock = clock
        self.sleep = sleep
        self.oauth = OAuthState(dataset, clock=clock)
        if self.faults.malformed_users:
            dataset.set_malformed_users(self.faults.malformed_users, seed=self.faults.seed)

    # --- WSGI entry --------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        try:
            response = self.dispatch(request)
        except AbortConnection:
            raise
        except Exception:  # a simulator bug must still answer like a server would
            logger.exception("simulator error on %s %s", request.method, request.path)
            response = error(500, "Internal simulator error")
        body = response.body
        truncated = response.truncate
        headers = [("Content-Type", response.content_type), *response.headers]
        if truncated == "close":
            headers.append(("Content-Length", str(len(body))))
            body = body[: max(1, len(body) // 2)]
        else:
            if truncated == "short":
                body = body[: max(1, len(body) // 2)]
            headers.append(("Content-Length", str(len(body))))
        start_response(f"{response.status} {_REASONS.get(response.status, 'Status')}", headers)
        return [body]

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sim/"):
            return self._sim(request)
        if path.startswith("/oauth/") or path == "/userinfo":
            return self.oauth.handle(request, self)
        if path == "/" and request.method == "GET":
            return self.oauth.portal_page(portal_url=self.portal_url)
        if request.method not in ("GET", "HEAD"):
            return error(405, "Method not allowed")
        for pattern, name in _ROUTES:
            match = pattern.match(path)
            if match:
                return self._api(request, name, match.groups())
        return error(404, "Resource not found")

    # --- the Data / Events API ---------------------------------------------------------------

    def _api(self, request: Request, route: str, groups: tuple[str, ...]) -> Response:
        faulted = self._apply_faults(request)
        if faulted is not None:
            return faulted
        caller = self._authenticate(request)
        if isinstance(caller, Response):
            return caller
        version = groups[0]
        if caller.is_sso and route not in ("me", "district", "single"):
            return error(403, "Resource not in token's scopes")
        if (
            caller.is_sso
            and route == "single"
            and (groups[1] != "users" or groups[2] != caller.user)
        ):
            return error(403, "Resource not in token's scopes")
        handler = getattr(self, f"_route_{route}")
        response: Response = handler(request, caller, version, *groups[1:])
        if response.status == 200 and response.list_page and self.faults.truncate_every:
            if self.faults.next_list_page() % self.faults.truncate_every == 0:
                response.truncate = self.faults.truncate_mode
        return response

    def _authenticate(self, request: Request) -> Caller | Response:
        token = request.bearer()
        if not token:
            return error(401, "Missing bearer token")
        district = self.dataset.district_for_token(token)
        user = None
        if district is None:
            sso = self.oauth.sso_caller(token)
            if sso is None:
                return error(401, "Invalid token")
            user, district = sso
        if (
            user is None
            and self.faults.rotate_token_after is not None
            and token not in self.dataset.rotated_tokens
            and self.faults.rotation_count(token) > self.faults.rotate_token_after
        ):
            self.dataset.rotate_token(district)
            return error(401, "Invalid token")
        if self.faults.revoke_token_after is not None:
            if self.faults.token_used(token) > self.faults.revoke_token_after:
                return error(401, "Token revoked")
        if self.faults.rate_limit_per_minute:
            count, reset = self.faults.window_count(token, self.clock())
            if count > self.faults.rate_limit_per_minute:
                return self._rate_limited(reset_at=reset)
        return Caller(token=token, district=district, user=user)

    def _apply_faults(self, request: Request) -> Response | None:
        faults = self.faults
        number = faults.next_request()
        if faults.latency_ms:
            self.sleep(faults.latency_ms / 1000)
        if faults.reset_every and number % faults.reset_every == 0:
            raise AbortConnection
        if faults.timeout_every and number % faults.timeout_every == 0:
            self.sleep(faults.timeout_seconds)
        now = self.clock()
        if (faults.rate_limit_every and number % faults.rate_limit_every == 0) or (
            faults.rate_limit_until and now < faults.rate_limit_until
        ):
            return self._rate_limited(reset_at=now + faults.rate_limit_reset_seconds)
        status = faults.take_error()
        if status is not None:
            return error(status, "Internal error")
        if faults.html_every and number % faults.html_every == 0:
            page = (
                "<!DOCTYPE html><html><head><title>Clever | Error</title></head><body>"
                "<h1>Something went wrong</h1><p>Please try again later.</p></body></html>"
            )
            return Response(
                faults.html_status, page.encode(), content_type="text/html; charset=utf-8"
            )
        return None

    def _rate_limited(self, *, reset_at: float) -> Response:
        """429 with an empty body and per-bucket headers, as Clever's own test records it."""
        now = self.clock()
        if self.faults.rate_limit_reset_style == "seconds":
            reset = str(max(0, math.ceil(reset_at - now)))
        else:
            reset = str(math.ceil(reset_at))
        headers = [
            ("X-RateLimit-Bucket", "all, token"),
            ("X-RateLimit-Limit", "1200, 1200"),
            ("X-RateLimit-Reset", f"{reset}, {reset}"),
            ("X-RateLimit-Remaining", "0, 0"),
        ]
        if self.faults.retry_after:
            headers.append(("Retry-After", str(max(0, math.ceil(reset_at - now)))))
        return Response(429, b"", headers=headers)

    # routes ---------------------------------------------------------------------------------

    def _route_me(self, request: Request, caller: Caller, version: str) -> Response:
        if caller.is_sso:
            return json_response(
                200,
                {
                    "type": "user",
                    "data": {
                        "id": caller.user,
                        "district": caller.district,
                        "type": "user",
                        "authorized_by": "district",
                    },
                    "links": [
                        {"rel": "self", "uri": "/me"},
                        {"rel": "canonical", "uri": f"/{version}/users/{caller.user}"},
                        {"rel": "district", "uri": f"/{version}/districts/{caller.district}"},
                    ],
                },
            )
        return json_response(
            200,
            {
                "type": "district",
                "data": {"id": caller.district, "district": caller.district, "type": "district"},
                "links": [
                    {"rel": "self", "uri": "/me"},
                    {"rel": "canonical", "uri": f"/{version}/districts/{caller.district}"},
                ],
            },
        )

    def _route_districts(self, request: Request, caller: Caller, version: str) -> Response:
        record = self.dataset.get("districts", caller.district)
        items = [self.dataset.item_bytes("districts", caller.district, version)] if record else []
        links = [{"rel": "self", "uri": f"/{version}/districts"}]
        return _list_response(items, links)

    def _route_district(
        self, request: Request, caller: Caller, version: str, district_id: str
    ) -> Response:
        if district_id != caller.district or self.dataset.get("districts", district_id) is None:
            return error(404, "Resource not found")
        return self._single("districts", district_id, version)

    def _route_list(self, request: Request, caller: Caller, version: str, kind: str) -> Response:
        role = ""
        if kind == "users":
            role = request.arg("role", "") or ""
            if role and role not in USER_ROLE_FILTERS:
                return error(400, f"Invalid role: {role}")
        keys = self.dataset.index(kind, caller.district, role)
        return self._paged(request, version, kind, keys, f"/{version}/{kind}")

    def _route_single(
        self, request: Request, caller: Caller, version: str, kind: str, record_id: str
    ) -> Response:
        if self.dataset.owner(kind, record_id) != caller.district:
            return error(404, "Resource not found")
        return self._single(kind, record_id, version)

    def _route_school_users(
        self, request: Request, caller: Caller, version: str, school_id: str
    ) -> Response:
        if self.dataset.owner("schools", school_id) != caller.district:
            return error(404, "Resource not found")
        role = request.arg("role", "") or ""
        if role and role not in ("student", "teacher", "staff"):
            return error(400, f"Invalid role: {role}")
        primary = (request.arg("primary", "") or "").lower() == "true"
        keys = self.dataset.school_user_keys(school_id, role=role, primary=primary)
        return self._paged(request, version, "users", keys, f"/{version}/schools/{school_id}/users")

    def _route_school_children(
        self, request: Request, caller: Caller, version: str, school_id: str, kind: str
    ) -> Response:
        if self.dataset.owner("schools", school_id) != caller.district:
            return error(404, "Resource not found")
        keys = [
            key
            for key in self.dataset.index(kind, caller.district)
            if _field(self.dataset.get(kind, key), "school") == school_id
            or (
                kind != "sections"
                and school_id in (_field(self.dataset.get(kind, key), "schools") or [])
            )
        ]
        return self._paged(request, version, kind, keys, f"/{version}/schools/{school_id}/{kind}")

    def _route_section_users(
        self, request: Request, caller: Caller, version: str, section_id: str
    ) -> Response:
        section = self.dataset.get("sections", section_id)
        if section is None or self.dataset.owner("sections", section_id) != caller.district:
            return error(404, "Resource not found")
        role = request.arg("role", "") or ""
        wanted: list[str] = []
        if role in ("", "student"):
            wanted += list(section.get("students") or [])
        if role in ("", "teacher"):
            wanted += list(section.get("teachers") or [])
        keys = sorted(
            {key for key in wanted if self.dataset.owner("users", key) == caller.district}
        )
        return self._paged(
            request, version, "users", keys, f"/{version}/sections/{section_id}/users"
        )

    def _route_user_sections(
        self, request: Request, caller: Caller, version: str, user_id: str
    ) -> Response:
        if self.dataset.owner("users", user_id) != caller.district:
            return error(404, "Resource not found")
        keys = [
            key
            for key in self.dataset.index("sections", caller.district)
            if user_id in (_field(self.dataset.get("sections", key), "students") or [])
            or user_id in (_field(self.dataset.get("sections", key), "teachers") or [])
        ]
        return self._paged(
            request, version, "sections", keys, f"/{version}/users/{user_id}/sections"
        )

    def _route_parent_district(
        self, request: Request, caller: Caller, version: str, kind: str, record_id: str
    ) -> Response:
        if self.dataset.owner(kind, record_id) != caller.district:
            return error(404, "Resource not found")
        return self._single("districts", caller.district, version)

    def _route_events(self, request: Request, caller: Caller, version: str) -> Response:
        record_types = request.query.get("record_type", [])
        oldest = f"{max(0, int(self.dataset.clock() - EVENTS_WINDOW_SECONDS)):08x}"
        keys = [
            k
            for k in self.dataset.event_keys(caller.district, record_types)
            if not _expired(k, oldest)
        ]
        starting_after = request.arg("starting_after")
        if starting_after:
            # Like Clever: events are kept 30 days, and paging after an event that is gone
            # (or was never this district's) is answered 404, not with every event there is.
            known = self.dataset.event_district(starting_after) == caller.district
            if not known or _expired(starting_after, oldest):
                return error(404, "Resource not found")
        return self._paged(request, version, "events", keys, f"/{version}/events")

    def _route_event(
        self, request: Request, caller: Caller, version: str, event_id: str
    ) -> Response:
        event = self.dataset.event(event_id)
        if event is None or self.dataset.event_district(event_id) != caller.district:
            return error(404, "Resource not found")
        return json_response(
            200, {"data": event, "links": [{"rel": "self", "uri": f"/{version}/events/{event_id}"}]}
        )

    # --- envelopes ---------------------------------------------------------------------------

    def _single(self, kind: str, record_id: str, version: str) -> Response:
        record = self.dataset.get(kind, record_id)
        body = (
            b'{"data":'
            + dumps(record)
            + b',"links":'
            + dumps([{"rel": "self", "uri": f"/{version}/{kind}/{record_id}"}])
            + b"}"
        )
        return Response(200, body)

    def _paged(
        self, request: Request, version: str, kind: str, keys: list[str], base: str
    ) -> Response:
        raw_limit = request.arg("limit")
        if raw_limit in (None, ""):
            limit = DEFAULT_LIMIT
        else:
            try:
                limit = int(raw_limit)
            except ValueError:
                return error(400, f"Invalid limit: {raw_limit}")
            if limit > MAX_LIMIT:
                return error(413, "Request entity too large")
            if limit < 1:
                return error(400, f"Invalid limit: {raw_limit}")
        starting_after = request.arg("starting_after") or None
        ending_before = request.arg("ending_before") or None
        if kind == "events":
            page_keys, more_after, more_before = _page_events(
                keys, limit=limit, starting_after=starting_after, ending_before=ending_before
            )
            items = [
                b'{"data":'
                + dumps(self.dataset.event(key))
                + b',"uri":'
                + dumps(f"/{version}/events/{key}")
                + b"}"
                for key in page_keys
            ]
        else:
            page_keys, more_after, more_before = self.dataset.page(
                kind, keys, limit=limit, starting_after=starting_after, ending_before=ending_before
            )
            with self.dataset.lock:  # a concurrent delete must not break the page
                item_bytes = self.dataset.item_bytes
                page_keys = [key for key in page_keys if self.dataset.has(kind, key)]
                items = [item_bytes(kind, key, version) for key in page_keys]
        keep = [
            (name, value)
            for name, values in request.query.items()
            if name not in ("starting_after", "ending_before")
            for value in values
        ]
        links = [{"rel": "self", "uri": _uri(base, request.query.items())}]
        if page_keys and more_after:
            links.append(
                {"rel": "next", "uri": _uri(base, [*keep, ("starting_after", page_keys[-1])])}
            )
        if page_keys and more_before:
            links.append(
                {"rel": "prev", "uri": _uri(base, [*keep, ("ending_before", page_keys[0])])}
            )
        response = _list_response(items, links)
        response.list_page = True
        return response

    # --- simulator control -------------------------------------------------------------------

    def _sim(self, request: Request) -> Response:
        from .control import handle_control

        return handle_control(self, request)


# Clever keeps events for 30 days (dev.clever.com/docs/events-api); event ids are ObjectIds
# whose first 8 hex digits are the creation time, so the window is a string comparison.
EVENTS_WINDOW_SECONDS = 30 * 24 * 3600


def _expired(event_id: str, oldest: str) -> bool:
    """An ObjectId-shaped event id created before ``oldest`` (8 hex digits of Unix time)."""
    if len(event_id) != 24 or any(ch not in "0123456789abcdef" for ch in event_id):
        return False
    return event_id[:8] < oldest


def _page_events(
    keys: list[str], *, limit: int, starting_after: str | None, ending_before: str | None
) -> tuple[list[str], bool, bool]:
    import bisect

    if ending_before and not starting_after:
        end = len(keys) if ending_before == "last" else bisect.bisect_left(keys, ending_before)
        start = max(0, end - limit)
    else:
        start = bisect.bisect_right(keys, starting_after) if starting_after else 0
        end = min(len(keys), start + limit)
    return keys[start:end], end < len(keys), start > 0


def _list_response(items: list[bytes], links: list[dict[str, str]]) -> Response:
    body = b'{"data":[' + b",".join(items) + b'],"links":' + dumps(links) + b"}"
    return Response(200, body)


def _uri(base: str, params: Iterable[tuple[str, Any]]) -> str:
    flat: list[tuple[str, str]] = []
    for name, value in params:
        if isinstance(value, list):
            flat.extend((name, item) for item in value)
        else:
            flat.append((name, value))
    return f"{base}?{urlencode(flat)}" if flat else base


def _field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else None


def make_app(dataset: Dataset, faults: Faults | None = None, **options: Any) -> SimulatorApp:
    """The simulator as a WSGI callable (``options``: ``clock``, ``sleep``, ``portal_url``)."""
    return SimulatorApp(dataset, faults, **options)


def parse_json_body(request: Request) -> Any:
    """JSON or form body of a POST (form values flattened to single strings)."""
    body = request.body()
    content_type = request.headers.get("content-type", "")
    if "json" in content_type or body.lstrip().startswith((b"{", b"[")):
        return json.loads(body or b"{}")
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in form.items()}
