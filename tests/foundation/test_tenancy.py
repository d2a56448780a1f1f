"""Signed in as district A's admin, every portal URL with district B's ids answers 404 (or 403),
never B's data. The URL list is read from the resolver, so a new page is covered the day it lands.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import DistrictAdminFactory, DistrictFactory
from tests.support.urls import portal_patterns
from tests.tenancy import ID_MAKERS, PLAIN_KWARGS


@pytest.fixture
def two_districts(db):
    a = DistrictFactory(name="Alpha Unified", slug="alpha")
    b = DistrictFactory(name="Bravo Marker County", slug="bravo")
    admin = DistrictAdminFactory(district=a, username="alpha-admin")
    return a, b, admin


def test_every_portal_url_kwarg_is_known():
    unknown = {
        (name, kw)
        for name, kws in portal_patterns()
        for kw in kws
        if kw not in ID_MAKERS and kw not in PLAIN_KWARGS
    }
    assert not unknown, f"add these URL kwargs to tests/tenancy.py: {sorted(unknown)}"


def test_other_districts_objects_are_404_on_every_url(client, two_districts):
    a, b, admin = two_districts
    client.force_login(admin)
    tried = refused = 0
    for name, kws in portal_patterns():
        id_kws = [k for k in kws if k in ID_MAKERS]
        if not id_kws:
            continue
        kwargs = {k: (ID_MAKERS[k](b) if k in ID_MAKERS else PLAIN_KWARGS[k]) for k in kws}
        url = reverse(name, kwargs=kwargs)
        for method in ("get", "post", "put", "patch", "delete"):
            response = getattr(client, method)(url)
            tried += 1
            assert response.status_code in (403, 404, 405), (
                f"{method.upper()} {url} -> {response.status_code}"
            )
            assert b"Bravo" not in response.content, f"{method.upper()} {url} leaks district B"
            refused += 1
    assert tried == refused


def test_pages_without_ids_show_only_own_district(client, two_districts):
    a, b, admin = two_districts
    client.force_login(admin)
    for name, kws in portal_patterns():
        if any(k in ID_MAKERS for k in kws):
            continue
        kwargs = {k: PLAIN_KWARGS[k] for k in kws}
        response = client.get(reverse(name, kwargs=kwargs))
        assert response.status_code in (200, 302, 403, 404, 405), (
            f"{name} -> {response.status_code}"
        )
        assert b"Bravo" not in response.content, f"{name} leaks district B"


def test_district_admin_never_reaches_django_admin(client, two_districts):
    _, _, admin = two_districts
    client.force_login(admin)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_anonymous_is_sent_to_sign_in_on_every_portal_url(client, two_districts):
    for name, kws in portal_patterns():
        kwargs = {k: (1 if k in ID_MAKERS else PLAIN_KWARGS[k]) for k in kws}
        response = client.get(reverse(name, kwargs=kwargs))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
