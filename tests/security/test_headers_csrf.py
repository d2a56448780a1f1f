"""Security headers, cookies and CSRF on every portal page (RELIABILITY.md S5, S6)."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.factories import PASSWORD, DistrictAdminFactory
from tests.support.settings import PRODUCTION
from tests.support.urls import portal_patterns
from tests.tenancy import ID_MAKERS, PLAIN_KWARGS


def own_pages(district):
    """Every portal page, with ids of objects of the admin's own district."""
    for name, kws in portal_patterns():
        kwargs = {k: (ID_MAKERS[k](district) if k in ID_MAKERS else PLAIN_KWARGS[k]) for k in kws}
        yield name, reverse(name, kwargs=kwargs)


@pytest.mark.django_db
@override_settings(**PRODUCTION)
def test_security_headers_and_cookies_on_every_page(client, district):
    admin = DistrictAdminFactory(district=district)
    response = client.post(
        reverse("login"), {"username": admin.username, "password": PASSWORD}, secure=True
    )
    session_cookie = response.cookies["sessionid"]
    assert (
        session_cookie["secure"]
        and session_cookie["httponly"]
        and session_cookie["samesite"] == "Lax"
    )
    pages = [("login", reverse("login")), ("home", reverse("home")), *own_pages(district)]
    checked = 0
    for name, url in pages:
        response = client.get(url, secure=True)
        if response.status_code >= 300 or not response["Content-Type"].startswith("text/html"):
            continue  # redirects and downloads are not pages
        csp = response.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, name
        assert response["X-Frame-Options"] == "DENY", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name
        assert "max-age=31536000" in response["Strict-Transport-Security"], name
        checked += 1
    assert checked >= 2


@pytest.mark.django_db
@override_settings(**PRODUCTION)
def test_plain_http_is_redirected_to_https(client):
    response = client.get(reverse("login"))
    assert response.status_code == 301 and response["Location"].startswith("https://")


@pytest.mark.django_db
def test_every_post_form_refuses_a_missing_csrf_token(district):
    """Find every POST form on every page the admin can open, and post it without the token."""
    admin = DistrictAdminFactory(district=district)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin)
    actions = set()
    for _name, url in [("home", reverse("home")), *own_pages(district)]:
        response = csrf_client.get(url)
        if response.status_code != 200 or response.streaming:
            continue  # downloads (CSV) carry no forms
        html = response.content.decode()
        for form in re.finditer(r"<form\b[^>]*>", html, flags=re.I):
            tag = form.group(0)
            if not re.search(r'method="post"', tag, flags=re.I):
                continue
            m = re.search(r'action="([^"]*)"', tag)
            action = (m.group(1) if m else "") or url
            if action.startswith("/"):
                actions.add(action)
        assert "csrfmiddlewaretoken" in html or 'method="post"' not in html.lower(), url
    assert actions, "expected at least the sign-out form"
    for action in sorted(actions):
        response = csrf_client.post(action, {})
        assert response.status_code == 403, (
            f"POST {action} without CSRF token -> {response.status_code}"
        )
