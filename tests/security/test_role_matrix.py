"""S2: role matrix. Five kinds of visitor x every portal URL (read from the resolver) -> the status
in the checked-in table below. A new portal URL fails the test until it is added to the table, so
nobody ships a page without deciding who may see it.

Roles: anonymous; district admin (import permission); district user without import permission;
support staff (``is_staff``, no district, no model permissions); superuser (no district).
Support staff and superusers work in Django admin only, so every portal page is 403 for them.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import ImportRun
from naviance_sync.models import AuditEvent, District
from tests.factories import DistrictAdminFactory, DistrictFactory, SupportStaffFactory, UserFactory
from tests.support.urls import ROLE_MATRIX_SKIPPED, url_patterns
from tests.tenancy import ID_MAKERS, PLAIN_KWARGS

ROLES = ("anonymous", "admin", "no_import", "support", "superuser")
# Not portal pages (``ROLE_MATRIX_SKIPPED``): Django admin (own matrix below), sign-in/out,
# health, allauth and the Clever sign-in callbacks (tested in tests/sso).

R = 302  # anonymous -> sign-in page
F = 403
OK = 200
NA = 405  # GET on a POST-only URL
#        name:                          anonymous, admin, no_import, support, superuser
EXPECTED_GET: dict[str, tuple[int, int, int, int, int]] = {
    "home": (R, OK, OK, F, F),
    "audit_log": (R, OK, F, F, F),
    "students:list": (R, OK, F, F, F),
    "students:detail": (R, OK, F, F, F),
    "integrations:field_rules": (R, OK, F, F, F),
    "sso:choose_school": (R, R, R, F, F),  # nothing to choose: back home
    "sso:sign_out_everywhere": (R, OK, OK, F, F),
    "integrations:configure": (R, OK, F, F, F),
    "integrations:setup": (R, OK, F, F, F),
    "integrations:setup_edit": (R, OK, F, F, F),
    "integrations:setup_reset": (R, OK, F, F, F),
    # Configuration steps before a connection exists send the admin back to setup.
    "integrations:school_matches": (R, R, F, F, F),
    "integrations:data_settings": (R, R, F, F, F),
    "integrations:fields": (R, R, F, F, F),
    "integrations:codes": (R, R, F, F, F),
    "integrations:scan_refresh": (R, NA, F, F, F),
    "integrations:scan_status": (R, OK, F, F, F),
    "integrations:sync_settings": (R, R, F, F, F),
    "integrations:summary": (R, R, F, F, F),
    "integrations:notifications": (R, R, F, F, F),
    "integrations:notifications_edit": (R, R, F, F, F),
    "integrations:recipient_delete": (R, NA, F, F, F),
    "integrations:run_start": (R, NA, F, F, F),
    "integrations:run_log": (R, OK, F, F, F),
    "integrations:run_detail": (R, OK, F, F, F),
    "integrations:run_results_csv": (R, OK, F, F, F),
    "integrations:run_approve": (R, NA, F, F, F),
    # The maker's run is a test import: the page says why it cannot be undone.
    "integrations:run_undo": (R, OK, F, F, F),
    "integrations:calendar": (R, OK, F, F, F),
    "integrations:calendar_delete": (R, NA, F, F, F),
    "integrations:schedule_resume": (R, NA, F, F, F),
    "integrations:update_log": (R, OK, F, F, F),
    "integrations:alerts": (R, OK, F, F, F),
    "integrations:missing": (R, OK, F, F, F),
    "integrations:alerts_process": (R, NA, F, F, F),
    "integrations:alert_choose": (R, NA, F, F, F),
    "integrations:student_history": (R, OK, F, F, F),
    "integrations:privacy_delete": (R, OK, F, F, F),
    "integrations:imports": (R, OK, F, F, F),
    # Students need no recent test import first (staff do: the staff bookmark below goes back).
    "integrations:import_confirm": (R, OK, F, F, F),
    # Former staff URLs (bookmarks): redirects to the shared pages, for importers only.
    "staff_moved:home": (R, R, F, F, F),
    "staff_moved:setup": (R, R, F, F, F),
    "staff_moved:import": (R, R, F, F, F),
    "staff_moved:import_confirm": (R, R, F, F, F),
    # The maker's run is a student import: not a staff run, so 404 like any unknown id.
    "staff_moved:run": (R, 404, F, F, F),
    "staff_moved:run_csv": (R, 404, F, F, F),
    "staff:settings": (R, OK, F, F, F),
    "staff:rule_add": (R, NA, F, F, F),
    "staff:rule_edit": (R, OK, F, F, F),
    "staff:rule_delete": (R, NA, F, F, F),
    "staff:rule_move": (R, NA, F, F, F),
    "staff:no_schools_zone": (R, NA, F, F, F),
    "staff:roles": (R, OK, F, F, F),
    "staff:role_edit": (R, OK, F, F, F),
    "staff:role_delete": (R, NA, F, F, F),
    "staff:functions": (R, OK, F, F, F),
    "staff:function_edit": (R, OK, F, F, F),
    "staff:function_delete": (R, NA, F, F, F),
    "staff:list": (R, OK, F, F, F),
    "staff:detail": (R, OK, F, F, F),
}


def all_patterns() -> list[tuple[str, tuple[str, ...]]]:
    return url_patterns(named_only=True, skipped=ROLE_MATRIX_SKIPPED)


@pytest.fixture
def world(db):
    district = DistrictFactory(name="Alpha Unified", slug="alpha")
    users = {
        "anonymous": None,
        "admin": DistrictAdminFactory(district=district, username="alpha-admin"),
        "no_import": UserFactory(
            district=district,
            username="alpha-teacher",
            role__name="Teacher",
            role__can_import_district_data=False,
        ),
        "support": SupportStaffFactory(username="support", is_superuser=False),
        "superuser": SupportStaffFactory(username="root"),
    }
    return district, users


def urls_for(district) -> dict[str, str]:
    out = {}
    for name, kws in all_patterns():
        kwargs = {k: (ID_MAKERS[k](district) if k in ID_MAKERS else PLAIN_KWARGS[k]) for k in kws}
        out[name] = reverse(name, kwargs=kwargs)
    return out


def test_every_portal_url_is_in_the_table():
    names = {name for name, _ in all_patterns()}
    assert names - set(EXPECTED_GET) == set(), "add these URLs to EXPECTED_GET"
    assert set(EXPECTED_GET) - names == set(), "these URLs no longer exist"


def test_get_matrix(client, world):
    district, users = world
    urls = urls_for(district)
    cells = mismatches = 0
    problems = []
    for position, role in enumerate(ROLES):
        client.logout()
        if users[role] is not None:
            client.force_login(users[role])
        for name, url in urls.items():
            status = client.get(url).status_code
            cells += 1
            if status != EXPECTED_GET[name][position]:
                mismatches += 1
                problems.append(
                    f"{role:10} GET {url} -> {status}, expected {EXPECTED_GET[name][position]}"
                )
    assert not problems, "\n".join(problems)
    assert cells == len(ROLES) * len(urls) and mismatches == 0


def test_post_matrix_refuses_everyone_but_the_admin_and_changes_nothing(client, world):
    """Without the import permission a POST is never an action: sign-in, or 403."""
    district, users = world
    urls = urls_for(district)
    before = (AuditEvent.objects.count(), ImportRun.objects.count(), District.objects.count())
    problems = []
    for role in ("anonymous", "no_import", "support", "superuser"):
        client.logout()
        if users[role] is not None:
            client.force_login(users[role])
        for name, url in urls.items():
            if name.startswith("sso:") and role == "no_import":
                continue  # a district user's own sign-in pages (tested in tests/sso)
            if name == "home" and role == "no_import":
                continue
            status = client.post(
                url, {"mode": "import", "district_name": district.name}
            ).status_code
            allowed = (R,) if role == "anonymous" else (F, NA)
            if status not in allowed:
                problems.append(f"{role:10} POST {url} -> {status}")
    assert not problems, "\n".join(problems)
    assert (
        AuditEvent.objects.count(),
        ImportRun.objects.count(),
        District.objects.count(),
    ) == before


ADMIN_URLS = (
    "/admin/",
    "/admin/naviance_sync/district/",
    "/admin/naviance_sync/district/{district}/change/",
    "/admin/naviance_sync/auditevent/",
    "/admin/staff/user/",
)


@pytest.mark.parametrize("role", ROLES)
def test_django_admin_is_for_support_staff_only(client, world, role):
    district, users = world
    if users[role] is not None:
        client.force_login(users[role])
    for template in ADMIN_URLS:
        url = template.format(district=district.pk)
        response = client.get(url)
        if role in ("anonymous", "admin", "no_import"):
            # District accounts never get a 200 under /admin/: sent to the admin sign-in.
            assert response.status_code == 302 and "/admin/login/" in response["Location"], (
                role,
                url,
            )
        elif role == "superuser":
            assert response.status_code == 200, (role, url, response.status_code)
        else:
            # Staff flag without model permissions: the index opens, every model page is 403.
            expected = 200 if url == "/admin/" else 403
            assert response.status_code == expected, (role, url, response.status_code)


def test_support_actions_need_staff_rights(client, world):
    """The admin action that enables Clever (and sets the launch date) is refused without rights."""
    district, users = world
    District.objects.filter(pk=district.pk).update(clever_students_enabled=False)
    payload = {"action": "enable_students", "_selected_action": [district.pk]}
    for role in ("admin", "no_import", "support"):
        client.logout()
        client.force_login(users[role])
        response = client.post("/admin/naviance_sync/district/", payload)
        assert response.status_code in (302, 403), (role, response.status_code)
        if response.status_code == 302:
            assert "/admin/login/" in response["Location"], role
    district.refresh_from_db()
    assert district.clever_students_enabled is False
