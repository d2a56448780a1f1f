"""Issue 16 items 4, 5 and 6 in a real browser, with screenshots (test-artifacts/screenshots/
roles-*.png): the district's roles and functions, the Clever titles on the keyword editor, the
admin kept by a staff import ("You"), and support's onboarding in Django admin."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.engine.service import run_execute
from integrations.models import CleverSchool, ImportRun, RunResult
from integrations.runs import run_start
from naviance_sync import services as district_services
from naviance_sync.models import School
from staff.models import JobFunction, Role, User
from tests.factories import DistrictAdminFactory, SupportStaffFactory
from tests.support.clever import fast_client
from tests.support.districts import connect_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _district_and_admin(slug: str = "maple"):
    district = district_services.district_create(slug=slug, name="Maple Valley Unified")
    district.clever_staff_enabled = True
    district.clever_students_enabled = True
    district.save(update_fields=["clever_staff_enabled", "clever_students_enabled"])
    admin = DistrictAdminFactory(
        district=district,
        username="dana",
        first_name="Dana",
        last_name="Rivera",
        role=Role.objects.get(district=district, name="District Site Manager"),
    )
    return district, admin


def test_roles_functions_and_clever_titles(page, sign_in, screenshot):
    district, admin = _district_and_admin()
    teacher = Role.objects.get(district=district, name="Teacher")
    for n, last in enumerate(("Chen", "Chavez", "Okafor")):
        User.objects.create(
            district=district, username=f"t{n}", first_name="Sam", last_name=last, role=teacher
        )
    run = ImportRun.objects.create(
        district=district,
        data_type="staff",
        mode="test",
        status="succeeded",
        finished_at=timezone.now(),
    )
    for title, n in (("Teacher", 14), ("School Counselor", 3), ("Registrar", 1), ("", 2)):
        for _ in range(n):
            RunResult.objects.create(
                run=run, action="create", changes={"job_title": title} if title else {}
            )
    sign_in(admin)

    page.goto("/staff/roles/")
    assert page.get_by_role("heading", name="Roles", level=1).is_visible()
    for name in ("Teacher", "Other School Staff", "Other District Staff", "District Site Manager"):
        assert page.get_by_role("cell", name=name, exact=True).is_visible()
    page.get_by_label("Role name").fill("Consejera \u2014 \u5b66\u6821\u8f85\u5bfc\u5458")
    page.get_by_role("button", name="Add Role").click()
    page.wait_for_load_state()
    assert page.get_by_text("Role \u201cConsejera").is_visible()
    screenshot(page, "roles-01-roles")

    page.goto(f"/staff/roles/{teacher.pk}/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete \u201cTeacher\u201d").click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert")
    assert "3 accounts have this role: Sam Chavez, Sam Chen, Sam Okafor" in alert.inner_text()
    screenshot(page, "roles-02-role-in-use")

    manager = Role.objects.get(district=district, name="District Site Manager")
    page.goto(f"/staff/roles/{manager.pk}/")
    page.get_by_label("Can import district data").uncheck()
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "no other active account has a role with it" in page.get_by_role("alert").inner_text()
    manager.refresh_from_db()
    assert manager.can_import_district_data
    screenshot(page, "roles-03-last-import-role")

    page.goto("/staff/functions/")
    page.get_by_label("Function name").fill("Registrar")
    page.get_by_role("button", name="Add Function").click()
    page.wait_for_load_state()
    assert JobFunction.objects.filter(district=district, name="Registrar").exists()
    screenshot(page, "roles-04-functions")

    page.goto("/staff/accounts/")
    options = page.locator("#f-function option").all_inner_texts()
    assert "Registrar" in options and "Counselor" in options

    page.goto("/staff/settings/")
    titles = page.get_by_role("table", name="Job titles in your Clever staff data")
    assert titles.get_by_role("row").nth(1).inner_text().split("\t")[:2] == ["Teacher", "14"]
    assert page.get_by_text("2 people have no title in Clever").is_visible()
    assert page.locator("#id_rule-keyword").get_attribute("list") == "clever-titles"
    page.locator("#titles-title").scroll_into_view_if_needed()
    screenshot(page, "roles-05-keyword-titles")


def test_the_admin_running_the_staff_import_is_kept_and_told(
    page, sign_in, screenshot, clever_simulator
):
    district, admin = _district_and_admin("maple-valley")
    connect_district(district, clever_simulator)
    run = run_start(district=district, data_type="staff", mode="test", enqueue=False)
    run = run_execute(run_id=run.pk, allow_retry=False, client_factory=fast_client()).run
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    sign_in(admin)
    page.goto(f"/integrations/runs/{run.pk}/?action=keep")
    row = page.get_by_role("row").filter(has_text="Rivera, Dana")
    assert row.get_by_text("You (signed in)").is_visible()
    assert "Kept as it is: this account can import district data" in row.inner_text()
    screenshot(page, "roles-06-test-import-kept-you")


def test_support_creates_schools_from_clever_and_picks_roles_by_name(
    page, screenshot, session_sign_in
):
    district, _admin = _district_and_admin("birch")
    for cid, name, nces in (
        ("cs1", "Birch High School", "170993000001"),
        ("cs2", "\u5317\u4eac\u5e02\u7b2c\u4e00\u4e2d\u5b66", ""),
    ):
        CleverSchool.objects.create(district=district, clever_id=cid, name=name, nces_id=nces)
    support = SupportStaffFactory(username="support-sam")
    session_sign_in(support)
    page.goto("/admin/naviance_sync/district/")
    page.locator(f"input[name=_selected_action][value='{district.pk}']").check()
    page.locator("select[name=action]").select_option("create_schools_from_clever")
    page.locator("button[name=index]").first.click()
    page.wait_for_load_state()
    assert page.get_by_text("2 school(s) created from Clever and matched").is_visible()
    assert School.objects.get(district=district, name="Birch High School").nces_id == (
        "170993000001"
    )
    screenshot(page, "roles-07-admin-create-schools")

    page.goto("/admin/staff/user/add/")
    options = page.locator("select[name=role] option").all_inner_texts()
    assert "District Site Manager \u2014 Maple Valley Unified" in options
    page.get_by_label("Username").fill("pat")
    page.locator("select[name=role]").select_option(label="Teacher \u2014 Maple Valley Unified")
    screenshot(page, "roles-08-admin-user-role-by-name")
