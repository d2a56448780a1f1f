"""Clever's OAuth 2.0 authorization-code flow for "Log in with Clever", simulated.

- ``GET /oauth/authorize``: a page listing the district's teachers, staff and district admins to
  sign in as (``login_hint=<user id>`` skips it); redirects to ``redirect_uri`` with ``code`` and
  the caller's ``state``.
- ``POST /oauth/tokens``: exchanges a code (client id/secret by HTTP Basic, as Clever asks, or in
  the body; JSON or form body). Codes are single-use and expire after 60 seconds, otherwise
  400 ``invalid_grant``. ``GET /oauth/tokens?owner_type=district[&district=ID]`` lists the
  district-app tokens with each district's scopes; ``GET /oauth/tokeninfo`` (Bearer) names a
  token's client and scopes.
- ``GET /userinfo`` and ``GET /v3.0/me`` for the SSO token (which reaches nothing else but
  ``/districts/{own}`` and ``/users/{own}``).
- ``GET /_sim/instant_login?user_id=..&redirect_uri=..``: a portal / Instant Login launch, which
  arrives at the app's callback with a code and **no state**.

Like real Clever, the simulator remembers who signed in (a ``clever_sim_session`` cookie on its own
origin, set by a sign-in or an instant login): a later ``/oauth/authorize`` without ``login_hint``
answers at once with a code for that user. That is what makes Clever's advice for state-less
instant logins work (bounce back to authorize with a fresh state). ``/oauth/logout`` forgets it.

``GET /`` stands in for the Clever portal: every user's app icon, as an Instant Login link into the
product (when the simulator knows the product's address, ``portal_url``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from .dataset import Dataset

if TYPE_CHECKING:
    from .app import Request, Response, SimulatorApp

CODE_LIFETIME = 60.0
SESSION_COOKIE = "clever_sim_session"
PORTAL_CALLBACK_PATH = "/sso/clever/login/callback/"  # the product's allauth callback
LOGIN_ROLES = ("district_admin", "staff", "teacher", "student")
PAGE_LIMIT_PER_ROLE = 300


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    user_id: str
    district: str
    issued: float
    used: bool = False


class OAuthState:
    def __init__(self, dataset: Dataset, *, clock: Callable[[], float] = time.time) -> None:
        self.dataset = dataset
        self.clock = clock
        self._codes: dict[str, _Code] = {}
        self._sso_tokens: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    # --- used by the API routes --------------------------------------------------------------

    def sso_caller(self, token: str) -> tuple[str, str] | None:
        """(user id, district id) for an SSO token, None for unknown tokens."""
        return self._sso_tokens.get(token)

    def issue_code(self, *, client_id: str, redirect_uri: str, user_id: str) -> str:
        district = self.dataset.owner("users", user_id) or ""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(client_id, redirect_uri, user_id, district, self.clock())
        return code

    # --- HTTP --------------------------------------------------------------------------------

    def handle(self, request: Request, app: SimulatorApp) -> Response:
        from .app import error

        if request.path == "/oauth/authorize" and request.method == "GET":
            return self.authorize(request)
        if request.path == "/oauth/tokens" and request.method == "POST":
            return self.exchange(request)
        if request.path == "/oauth/tokens" and request.method == "GET":
            return self.district_tokens(request)
        if request.path == "/userinfo" and request.method == "GET":
            return self.userinfo(request)
        if request.path == "/oauth/tokeninfo" and request.method == "GET":
            return self.tokeninfo(request)
        if request.path == "/oauth/logout" and request.method == "GET":
            return _with_session(_html(200, "Signed out of Clever", "<p>Signed out.</p>"), "")
        return error(404, "Resource not found")

    def authorize(self, request: Request) -> Response:
        client_id = request.arg("client_id", "") or ""
        redirect_uri = request.arg("redirect_uri", "") or ""
        if client_id not in self.dataset.oauth_clients:
            return _html(400, "Unknown application", "<p>This client_id is not registered.</p>")
        if request.arg("response_type", "code") != "code":
            return _html(400, "Unsupported response type", "<p>Only response_type=code.</p>")
        if not _valid_redirect(redirect_uri):
            return _html(
                400, "Missing redirect_uri", "<p>Pass an absolute http(s) redirect_uri.</p>"
            )
        state = request.arg("state")
        hint = request.arg("login_hint") or request.arg("user_id")
        remembered = _session_user(request)
        if not hint and remembered and self.dataset.get("users", remembered) is not None:
            hint = remembered  # signed in at Clever already: straight back with a code
        if hint:
            if self.dataset.get("users", hint) is None:
                return _html(404, "Unknown user", f"<p>No Clever user {html.escape(hint)}.</p>")
            code = self.issue_code(client_id=client_id, redirect_uri=redirect_uri, user_id=hint)
            return _with_session(_redirect(redirect_uri, code=code, state=state), hint)
        return self._login_page(request, district_filter=request.arg("district_id"))

    def instant_login(self, request: Request) -> Response:
        from .app import error

        user_id = request.arg("user_id", "") or ""
        redirect_uri = request.arg("redirect_uri", "") or ""
        client_id = request.arg("client_id") or next(iter(self.dataset.oauth_clients), "")
        if self.dataset.get("users", user_id) is None:
            return error(404, f"No Clever user {user_id}")
        if not _valid_redirect(redirect_uri):
            return error(400, "Pass an absolute http(s) redirect_uri")
        code = self.issue_code(client_id=client_id, redirect_uri=redirect_uri, user_id=user_id)
        return _with_session(_redirect(redirect_uri, code=code, state=None), user_id)

    def exchange(self, request: Request) -> Response:
        from .app import json_response, parse_json_body

        try:
            body = parse_json_body(request)
        except ValueError:
            return json_response(400, {"error": "invalid_request", "error_description": "bad body"})
        if not isinstance(body, dict):
            body = {}
        client_id, secret = _basic_credentials(request.headers.get("authorization", ""))
        if client_id is None:
            client_id, secret = body.get("client_id"), body.get("client_secret")
        if (
            not isinstance(client_id, str)
            or not isinstance(secret, str)
            or not secrets.compare_digest(self.dataset.oauth_clients.get(client_id, "\0"), secret)
        ):
            return json_response(401, {"error": "invalid_client"})
        if body.get("grant_type") != "authorization_code":
            return json_response(400, {"error": "unsupported_grant_type"})
        code_value = body.get("code")
        with self._lock:
            code = self._codes.get(code_value) if isinstance(code_value, str) else None
            problem = None
            if code is None:
                problem = "invalid code"
            elif code.used:
                problem = "code already used"
            elif self.clock() - code.issued > CODE_LIFETIME:
                problem = "code expired"
            elif code.client_id != client_id:
                problem = "code issued to another client"
            elif body.get("redirect_uri") not in (None, "", code.redirect_uri):
                problem = "redirect_uri does not match"
            if code is not None:
                code.used = True  # single use, even when the attempt failed
            if problem or code is None:
                return json_response(
                    400,
                    {"error": "invalid_grant", "error_description": f"invalid grant: {problem}"},
                )
            token = f"ilc_{secrets.token_hex(20)}"
            self._sso_tokens[token] = (code.user_id, code.district)
        return json_response(200, {"access_token": token, "token_type": "bearer"})

    def district_tokens(self, request: Request) -> Response:
        """``GET /oauth/tokens?owner_type=district[&district=ID]``: the application's district
        tokens (HTTP Basic with the client id and secret), one per district that shares its data,
        with the scopes that district grants. A rotated token replaces the old one here."""
        from .app import error, json_response

        client_id, secret = _basic_credentials(request.headers.get("authorization", ""))
        if (
            client_id is None
            or secret is None
            or not secrets.compare_digest(self.dataset.oauth_clients.get(client_id, "\0"), secret)
        ):
            return json_response(401, {"error": "invalid_client"})
        if request.arg("owner_type", "district") != "district":
            return error(400, "owner_type must be district")
        wanted = request.arg("district")
        with self.dataset.lock:
            tokens = sorted(self.dataset.tokens.items())
        data = [
            {
                "id": hashlib.sha256(token.encode()).hexdigest()[:24],
                "created": "2025-08-01T00:00:00.000Z",
                "owner": {"type": "district", "id": district},
                "access_token": token,
                "scopes": self.dataset.district_scopes(district),
            }
            for district, token in tokens
            if not wanted or district == wanted
        ]
        self_uri = "/oauth/tokens?" + urlencode(
            [(k, v) for k, values in request.query.items() for v in values]
        )
        return json_response(200, {"data": data, "links": [{"rel": "self", "uri": self_uri}]})

    def userinfo(self, request: Request) -> Response:
        from .app import error, json_response

        caller = self.sso_caller(request.bearer() or "")
        if caller is None:
            return error(401, "Invalid token")
        user_id, district = caller
        user = self.dataset.get("users", user_id) or {}
        roles = user.get("roles") if isinstance(user.get("roles"), dict) else {}
        user_type = next((name for name in LOGIN_ROLES if isinstance(roles.get(name), dict)), "")
        role = roles.get(user_type) or {}
        name = user.get("name") if isinstance(user.get("name"), dict) else {}
        schools = role.get("schools") or ([role["school"]] if role.get("school") else [])
        return json_response(
            200,
            {
                "sub": user_id,
                "user_id": role.get("legacy_id") or user_id,
                "multi_role_user_id": user_id,
                "user_type": user_type,
                "district_id": district,
                "district": district,
                "email": user.get("email"),
                "email_verified": False,
                "name": {k: name.get(k) for k in ("first", "middle", "last")},
                "given_name": name.get("first"),
                "family_name": name.get("last"),
                "schools": schools,
            },
        )

    def tokeninfo(self, request: Request) -> Response:
        from .app import error, json_response

        token = request.bearer() or ""
        district = self.dataset.district_for_token(token)
        if district:
            client = next(iter(self.dataset.oauth_clients), "")
            return json_response(
                200, {"client_id": client, "scopes": self.dataset.district_scopes(district)}
            )
        if self.sso_caller(token):
            client = next(iter(self.dataset.oauth_clients), "")
            return json_response(200, {"client_id": client, "scopes": ["read:user_id"]})
        return error(401, "Invalid token")

    def portal_page(self, *, portal_url: str | None) -> Response:
        """The simulator's stand-in for the Clever portal: each user's app icon is an Instant
        Login (no ``state``) into the product at ``portal_url``."""
        if not portal_url:
            return _html(
                200,
                "Clever simulator",
                "<p>Start the simulator with <code>--portal-url</code> to get Instant Login links "
                "into the product here. The API is under <code>/v3.0/</code>.</p>",
            )
        callback = portal_url.rstrip("/") + PORTAL_CALLBACK_PATH

        def link(user_id: str) -> str:
            return "/_sim/instant_login?" + urlencode(
                {"user_id": user_id, "redirect_uri": callback}
            )

        intro = (
            "<p>Each name is that user's Clever portal: the link is the app icon, an Instant "
            f"Login into {html.escape(portal_url)} (it arrives without <code>state</code>).</p>"
        )
        return _html(200, "Clever portal (simulated)", intro + self._user_sections(link, None))

    def _login_page(self, request: Request, *, district_filter: str | None) -> Response:
        base = {key: values[-1] for key, values in request.query.items() if key != "login_hint"}

        def link(user_id: str) -> str:
            return "/oauth/authorize?" + urlencode({**base, "login_hint": user_id})

        form_fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in base.items()
        )
        form = (
            '<form method="get" action="/oauth/authorize">'
            + form_fields
            + '<label>Any Clever user id <input name="login_hint" size="30"></label> '
            "<button>Sign in</button></form>"
        )
        return _html(
            200, "Clever simulator: sign in as…", form + self._user_sections(link, district_filter)
        )

    def _user_sections(self, link: Callable[[str], str], district_filter: str | None) -> str:
        """Each district's admins, staff and teachers, each name a link made by ``link``."""
        sections = []
        for district in self.dataset.district_ids():
            if district_filter and district != district_filter:
                continue
            record = self.dataset.get("districts", district) or {}
            parts = [f"<h2>{html.escape(str(record.get('name') or district))}</h2>"]
            for role in ("district_admin", "staff", "teacher"):
                keys = self.dataset.index("users", district, role)
                rows = []
                for key in keys[:PAGE_LIMIT_PER_ROLE]:
                    user = self.dataset.get("users", key) or {}
                    name = user.get("name") if isinstance(user.get("name"), dict) else {}
                    label = f"{name.get('first') or ''} {name.get('last') or ''}".strip() or key
                    title = ((user.get("roles") or {}).get(role) or {}).get("title") or ""
                    rows.append(
                        f'<li><a href="{html.escape(link(key))}">{html.escape(label)}</a>'
                        f" <small>{html.escape(str(title))} {html.escape(key)}</small></li>"
                    )
                more = (
                    f"<p>… and {len(keys) - PAGE_LIMIT_PER_ROLE} more</p>"
                    if len(keys) > PAGE_LIMIT_PER_ROLE
                    else ""
                )
                parts.append(
                    f"<h3>{role.replace('_', ' ').title()} ({len(keys)})</h3><ul>{''.join(rows)}</ul>{more}"
                )
            sections.append("".join(parts))
        return "".join(sections)


def _session_user(request: Request) -> str | None:
    cookie = SimpleCookie()
    try:
        cookie.load(request.headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = cookie.get(SESSION_COOKIE)
    return morsel.value if morsel and morsel.value else None


def _with_session(response: Response, user_id: str) -> Response:
    """Remember (or, with "", forget) who is signed in at the simulated Clever."""
    max_age = "" if user_id else "; Max-Age=0"
    response.headers.append(
        ("Set-Cookie", f"{SESSION_COOKIE}={user_id}; Path=/; HttpOnly; SameSite=Lax{max_age}")
    )
    return response


def _valid_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _redirect(redirect_uri: str, *, code: str, state: str | None) -> Response:
    from .app import Response

    params = {"code": code}
    if state is not None:
        params["state"] = state
    separator = "&" if urlsplit(redirect_uri).query else "?"
    location = redirect_uri + separator + urlencode(params)
    return Response(302, b"", content_type="text/plain", headers=[("Location", location)])


def _html(status: int, title: str, body: str) -> Response:
    from .app import Response

    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(status, page.encode("utf-8"), content_type="text/html; charset=utf-8")


def _basic_credentials(header: str) -> tuple[str | None, str | None]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else (None, None)
