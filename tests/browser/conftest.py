"""Headless Chromium (Debian's package) driven by Playwright against pytest-django's live server.

Screenshots land in test-artifacts/screenshots/. Without a Chromium binary the browser tests are
skipped with a message (CI installs it).

Every page a test opens is watched: a console error, an uncaught script error or a
Content-Security-Policy violation (reported by the page's own ``securitypolicyviolation`` event,
installed before any page script runs) fails the test. A test that provokes an expected error
(a 404 page, say) names it with ``@pytest.mark.allow_console_error("substring")``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls in fixtures are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if not path:
        pytest.skip("Chromium not installed (apt-get install chromium): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


# Runs in every document before its own scripts: a CSP violation (blocked inline style, inline
# script, event handler, foreign resource) becomes a console error the harness collects.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + (e.sourceFile || document.location.href) + ":" + e.lineNumber
    + (e.sample ? " (" + e.sample + ")" : ""));
});
"""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "allow_console_error(substring): a console error containing substring is expected",
    )


class PageProblems:
    """Console errors, uncaught exceptions and CSP violations seen by one test's pages.

    Chrome logs "Failed to load resource" for every response of 400 or more. For a page itself
    (a form answered 400, a 404 page) the test asserts on what the page says, so those are not
    problems; for anything a page loads (CSS, JS, images, the icon) they are. The one exception:
    the icon Chrome asks of a page the product does not serve (the Clever simulator's portal,
    standing in for clever.com, has none); the product's own ``/favicon.ico`` must load."""

    def __init__(self, allowed: tuple[str, ...] = ()):
        self.allowed = allowed
        self.documents: set[str] = set()
        self.raw: list[tuple[str, str]] = []
        self.product_port: int | None = None  # the live server's: its icon is never forgiven

    def _foreign_icon(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.path == "/favicon.ico" and parts.port != self.product_port

    def response(self, response) -> None:
        if response.request.resource_type == "document":
            self.documents.add(response.url)

    def console(self, msg) -> None:
        if msg.type == "error":
            self.raw.append((msg.text, msg.location.get("url") or ""))

    def page_error(self, error) -> None:
        self.raw.append((f"uncaught script error: {error}", ""))

    def take(self) -> list[str]:
        seen = []
        for text, url in self.raw:
            if text.startswith("Failed to load resource") and (
                url in self.documents or self._foreign_icon(url)
            ):
                continue
            if any(a in text for a in self.allowed):
                continue
            seen.append(f"{text} [{url or 'page'}]")
        self.raw = []
        return seen


@pytest.fixture
def page_problems(request):
    allowed = tuple(
        arg for mark in request.node.iter_markers("allow_console_error") for arg in mark.args
    )
    return PageProblems(allowed)


def watch(pg, problems: PageProblems) -> None:
    pg.on("console", problems.console)
    pg.on("pageerror", problems.page_error)
    pg.on("response", problems.response)


@pytest.fixture
def page(browser, live_server, page_problems):
    page_problems.product_port = urlsplit(live_server.url).port
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_LISTENER)
    context.on("page", lambda pg: watch(pg, page_problems))
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()
    problems = page_problems.take()
    if problems:
        pytest.fail("The browser reported problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in(page):
    from tests.factories import PASSWORD

    def do(user, password: str = PASSWORD):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    return do


@pytest.fixture
def session_sign_in(page, live_server):
    """Sign ``user`` in by a session cookie, not the pages: for support accounts, whose password
    sign-in asks for the second factor (tests/browser/test_admin_mfa.py walks those pages)."""
    from django.conf import settings
    from django.test import Client

    def do(user):
        session = Client()
        session.force_login(user)
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": session.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        return page

    return do
