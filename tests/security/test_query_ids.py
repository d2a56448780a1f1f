"""Issue 20 item 7: an id read from a query string is never a 500.

A 30-digit ``?run=`` or ``?school=`` reached the database driver, which refuses integers outside
64 bits (``OverflowError`` on SQLite; psycopg2 sends them on, so the guard below makes every backend
behave like SQLite). Every portal page is opened (URL patterns read from the resolver), the query
parameters each view reads are recorded, and each is sent out of range: 30 digits, negative, zero,
2**63, "1e9", non-ASCII digits, a keyset cursor ending in 30 digits. Every answer is what the page
gives for a missing object, never a 500. Production settings (DEBUG off).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import Client, override_settings
from django.urls import reverse

from naviance_sync.ids import MAX_ID, id_from_text
from students.models import Student
from tests.factories import DistrictAdminFactory, DistrictFactory, StudentFactory
from tests.support.districts import connect_district
from tests.support.settings import PRODUCTION
from tests.support.urls import own_urls

pytestmark = pytest.mark.django_db
THIRTY = "9" * 30
BAD_IDS = (THIRTY, "-1", "0", str(2**63), "1e9", "\u0661\u0662", f"a\x1fb\x1f{THIRTY}")
# Parameters the pages are known to read as ids; the recorder must find at least these.
KNOWN = {"run", "student", "school", "role", "function", "after", "before", "class_year", "page"}


def like_sqlite(execute, sql, params, many, context):
    """Refuse what SQLite's driver refuses: an integer parameter outside 64 bits."""
    for value in params or ():
        if type(value) is int and not -(2**63) <= value < 2**63:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
    return execute(sql, params, many, context)


@pytest.fixture
def admin(clever_simulator, settings):
    settings.CLEVER_API_URL = clever_simulator.url
    district = DistrictFactory(name="Alpha Unified", slug="alpha-ids", clever_staff_enabled=True)
    connect_district(district, clever_simulator)
    StudentFactory(district=district)
    return DistrictAdminFactory(district=district, username="alpha-ids-admin")


def parameters_read(client, url, monkeypatch) -> set[str]:
    """The query parameters the view behind ``url`` looks at (GET with none given)."""
    seen: set[str] = set()
    for method in ("get", "__getitem__", "getlist", "__contains__"):
        original = getattr(QueryDict, method)

        def recording(self, key, *args, _original=original, **kwargs):
            seen.add(key)
            return _original(self, key, *args, **kwargs)

        monkeypatch.setattr(QueryDict, method, recording)
    try:
        client.get(url, secure=True)
    finally:
        monkeypatch.undo()
    return seen


@override_settings(DEBUG=False, **PRODUCTION)
def test_out_of_range_ids_in_every_query_parameter_of_every_page(admin, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    urls = own_urls(admin.district)
    assert len(urls) >= 30
    problems, found, tried = [], set(), 0
    with connection.execute_wrapper(like_sqlite):
        for name, url in urls:
            params = parameters_read(client, url, monkeypatch) - {"csrfmiddlewaretoken"}
            found |= params
            for param in sorted(params):
                for value in BAD_IDS:
                    response = client.get(url, {param: value}, secure=True)
                    tried += 1
                    if response.status_code >= 500:
                        problems.append((name, param, value, response.status_code))
    assert KNOWN <= found, sorted(KNOWN - found)
    assert not problems, "\n".join(map(repr, problems))
    assert tried >= 100, tried


@override_settings(DEBUG=False, **PRODUCTION)
def test_a_non_ascii_school_id_is_no_school(admin):
    """``int("١٢")`` is 12: such an id must mean "no such school", not school 12."""
    client = Client()
    client.force_login(admin)
    student = Student.objects.get(district=admin.district)
    own = str(student.school_id)
    page = reverse("students:list")
    assert student.last_name in client.get(page, {"school": own}, secure=True).content.decode()
    arabic = own.translate(
        str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")
    )
    response = client.get(page, {"school": arabic}, secure=True)
    assert response.status_code == 200
    assert student.last_name not in response.content.decode()


def test_the_one_helper():
    assert id_from_text("42") == 42 and id_from_text(" 42 ") == 42
    assert id_from_text(str(MAX_ID)) == MAX_ID == 2**63 - 1
    for bad in (None, "", THIRTY, str(2**63), "-1", "0", "1e9", "\u0661\u0662", "4 2", "+4", "²"):
        assert id_from_text(bad) is None, bad
