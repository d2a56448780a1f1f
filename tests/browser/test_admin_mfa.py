"""Issue 20 item 8 in the browser: a support account sets up its authenticator app through the
pages, then signs in to Django admin with password + code. No console error or CSP violation on
any of these pages (the QR code is an image, not a script)."""

from __future__ import annotations

import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.cache import cache
from playwright.sync_api import expect

from tests.factories import SupportStaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def counter_now() -> int:
    return int(time.time()) // mfa_settings.TOTP_PERIOD


def code_for(secret: str, counter: int) -> str:
    return format_hotp_value(hotp_value(secret, counter))


def test_support_sets_up_an_authenticator_app_and_signs_in_to_admin_with_a_code(
    page, sign_in, screenshot
):
    cache.clear()  # allauth's per-address code limits and used codes live in the cache
    problems: list[str] = []

    def on_console(message) -> None:
        where = (message.location or {}).get("url", "")
        if message.type == "error" and not where.endswith("/favicon.ico"):  # no favicon: not ours
            problems.append(f"{message.text} ({where})")

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    support = SupportStaffFactory(username="sam", first_name="Sam", last_name="Support", totp=False)

    # 1. Password only: signed in, but admin sends the account to set up its second factor.
    page.goto("/admin/")
    assert "/admin/login/" in page.url
    page.get_by_label("Username").fill(support.username)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/2fa/totp/activate/**")
    assert page.get_by_text("Support accounts need a second factor").is_visible()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    assert qr.is_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the image did load
    screenshot(page, "mfa-setup")

    # 2. A wrong code is refused with a message; the right one activates the app.
    secret = page.locator("#authenticator_secret").input_value()
    assert len(secret) == 32
    enrolled_at = counter_now()
    right = code_for(secret, enrolled_at)
    page.get_by_label("Code from the app").fill("000000" if right != "000000" else "111111")
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Code from the app").fill(code_for(secret, counter_now()))
    page.get_by_role("button", name="Activate").click()
    page.wait_for_url("**/accounts/2fa/recovery-codes/**")
    assert page.locator(".recovery-codes li").count() == 10
    screenshot(page, "mfa-recovery-codes")
    page.get_by_role("link", name="Continue to Django admin").click()
    page.wait_for_url("**/admin/")
    screenshot(page, "mfa-admin-after-setup")
    assert page.get_by_role(
        "heading", name="Districts, schools and Clever launch dates"
    ).is_visible()

    # 3. Sign out; signing in again asks for the code after the password.
    page.get_by_role("button", name="Log out").click()
    page.goto("/admin/")
    page.get_by_label("Username").fill(support.username)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/2fa/authenticate/")
    screenshot(page, "mfa-sign-in-code")
    page.goto("/admin/")  # the password alone opens nothing
    assert "/admin/login/" in page.url
    page.goto("/accounts/2fa/authenticate/")
    # A code is taken once: wait for the app's next code if the one used to activate still shows.
    while counter_now() == enrolled_at:
        time.sleep(1)
    page.get_by_label("Code").fill(code_for(secret, counter_now()))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    assert page.get_by_role(
        "heading", name="Districts, schools and Clever launch dates"
    ).is_visible()
    screenshot(page, "mfa-admin-after-code")
    assert problems == []
