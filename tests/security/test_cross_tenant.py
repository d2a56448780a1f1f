"""S1, S5 and S6 on a district that is set up, so the configuration pages really open (the older
walks in tests/foundation/test_tenancy.py and test_headers_csrf.py use a district that is not
connected, where most configuration pages redirect to setup before any form or header is seen).

S1: signed in as district A's admin, every URL pattern of the portal (read from the resolver) is
called with each of GET/POST/PUT/PATCH/DELETE, once with district B's ids and once with ids that
exist nowhere, with B's ids in the POST body too. Every answer is 403/404/405, never a 500; B's
marker never appears; the answer for B's id is the same as for a missing id (no existence oracle);
and afterwards B's data is byte-for-byte what it was and no row of A points at an object of B.
The coverage gate: every pattern is walked, or is on the explicit allowlist
(``tests.support.urls.ALLOWLIST``) with its reason.

S5: every URL of the portal refuses a POST without a CSRF token (403), and every POST form found
on the pages of the set-up district is among them.
S6: under production settings every HTML page of the set-up district has the security headers.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.factories import DistrictAdminFactory, DistrictFactory
from tests.security.state import db_state, foreign_references
from tests.support.districts import connect_district
from tests.support.settings import PRODUCTION
from tests.support.urls import allowlisted, own_urls, url_patterns
from tests.tenancy import ID_MAKERS, PLAIN_KWARGS

pytestmark = pytest.mark.django_db
METHODS = ("get", "post", "put", "patch", "delete")
MISSING_ID = 2_147_483_000
FIGURES: dict[str, int] = {}


def _normalised(body: bytes, url: str = "", as_url: str = "") -> str:
    """The page without its per-response CSRF token, with the requested URL written one way."""
    text = body.decode("utf-8", "replace")
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)
    return text.replace(url, as_url) if url else text


@pytest.fixture
def tenants(db, clever_simulator, other_clever_simulator, settings):
    settings.CLEVER_API_URL = clever_simulator.url
    a = DistrictFactory(name="Alpha Unified", slug="alpha-x")
    b = DistrictFactory(name="Bravo Marker County", slug="bravo-x")
    connect_district(a, clever_simulator)
    connect_district(b, other_clever_simulator)  # a Clever district belongs to one district
    admin = DistrictAdminFactory(district=a, username="alpha-x-admin")
    return a, b, admin


def test_s1_every_url_and_method_refuses_another_districts_ids(client, tenants):
    a, b, admin = tenants
    client.force_login(admin)
    patterns = url_patterns()
    # B owns one object of every kind a URL names (made first: B's snapshot includes them).
    made = {
        name: {k: ID_MAKERS[k](b) for k in kws if k in ID_MAKERS}
        for name, kws in patterns
        if not allowlisted(name)
    }
    b_student = ID_MAKERS["student_id"](b)
    b_before = db_state(b)
    walked, skipped = set(), set()
    tried = refused = oracle_checks = 0
    problems = []
    for name, kws in patterns:
        if allowlisted(name):
            skipped.add(name)
            continue
        walked.add(name)
        id_kws = [k for k in kws if k in ID_MAKERS]
        b_ids = made[name]
        kwargs = {k: b_ids.get(k, PLAIN_KWARGS.get(k)) for k in kws}
        url_b = reverse(name, kwargs=kwargs)
        url_missing = reverse(name, kwargs={**kwargs, **dict.fromkeys(id_kws, MISSING_ID)})
        body = {
            **{k: v for k, v in b_ids.items()},
            **{k.removesuffix("_id"): v for k, v in b_ids.items()},
            "local_id": b_student,
            "mode": "test",
            "choice": "match",
            "direction": "up",
        }
        for method in METHODS:
            # Fresh each time: a POST may sign A out (sign out everywhere) or leave a message.
            admin.refresh_from_db()
            client.force_login(admin)
            client.cookies.pop("messages", None)
            call = getattr(client, method)
            response = call(url_b, body) if method == "post" else call(url_b)
            tried += 1
            text = response.content if not response.streaming else b"".join(response)
            if b"Bravo" in text:
                problems.append(f"{method.upper()} {url_b} shows district B")
            if response.status_code >= 500:
                problems.append(f"{method.upper()} {url_b} -> {response.status_code}")
            if not id_kws:
                continue  # a page of A's own: its POST may act on A, never on B (checked below)
            if response.status_code not in (403, 404, 405):
                problems.append(f"{method.upper()} {url_b} -> {response.status_code}")
                continue
            refused += 1
            client.cookies.pop("messages", None)
            missing = call(url_missing, body) if method == "post" else call(url_missing)
            oracle_checks += 1
            same_page = _normalised(text, url_b, url_missing) == _normalised(missing.content)
            if missing.status_code != response.status_code or not same_page:
                problems.append(f"{method.upper()} {url_b}: B's id answers unlike a missing id")
    assert not problems, "\n".join(problems)
    assert db_state(b) == b_before, "district B's data changed"
    assert foreign_references(a, b) == []
    # Coverage gate: every pattern walked or allowlisted (with a reason), and the gate is real.
    assert walked | skipped == {n for n, _ in patterns}
    assert len(walked) >= 40 and oracle_checks == refused > 0
    FIGURES.update(
        patterns=len(patterns),
        walked=len(walked),
        allowlisted=len(skipped),
        requests=tried + oracle_checks,
        refused_with_b_ids=refused,
    )
    print("S1 figures:", FIGURES)


def test_s1_the_foreign_reference_check_sees_a_planted_reference(tenants):
    from staff.models import TitleKeywordRule
    from tests.factories import RoleFactory

    a, b, _ = tenants
    assert foreign_references(a, b) == []
    TitleKeywordRule.objects.create(
        district=a, keyword="planted", role=RoleFactory(district=b, name="B role")
    )
    assert foreign_references(a, b) == ["staff.TitleKeywordRule.role: 1"]


def test_s5_every_url_refuses_a_post_without_csrf_token(tenants):
    a, _, admin = tenants
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin)
    urls = own_urls(a)
    actions: set[str] = set()
    for _name, url in urls:
        response = csrf_client.get(url)
        if response.status_code != 200 or response.streaming:
            continue
        html = response.content.decode()
        for tag in re.findall(r"<form\b[^>]*>", html, flags=re.I):
            if re.search(r'method="post"', tag, flags=re.I):
                m = re.search(r'action="([^"]*)"', tag)
                actions.add((m.group(1) if m else "") or url)
    targets = {url for _, url in urls} | {x for x in actions if x.startswith("/")}
    for target in sorted(targets):
        response = csrf_client.post(target, {"mode": "test", "confirm": "yes"})
        assert response.status_code == 403, f"POST {target} without CSRF -> {response.status_code}"
    # The set-up district's configuration forms were really found on their pages.
    for name in ("school_matches", "sync_settings", "notifications_edit", "fields", "codes"):
        kwargs = {"data_type": "students"} if name not in ("school_matches",) else {}
        assert reverse(f"integrations:{name}", kwargs=kwargs) in actions | {u for _, u in urls}, (
            name
        )
    assert len(actions) >= 10, sorted(actions)
    FIGURES.update(csrf_posts=len(targets), forms_found=len(actions))


@override_settings(**PRODUCTION)
def test_s6_headers_on_every_page_of_a_set_up_district(client, tenants):
    a, _, admin = tenants
    client.force_login(admin)
    checked = 0
    for name, url in own_urls(a):
        response = client.get(url, secure=True)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        csp = response.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, name
        assert response["X-Frame-Options"] == "DENY", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name
        assert "max-age=31536000" in response["Strict-Transport-Security"], name
        checked += 1
    assert checked >= 25, checked
