"""Issue 16, item 11: support's Django admin names things in words and fits a 1,366 x 768 screen
(the district page was 1,857 px wide; the district list hid the launch date)."""

from __future__ import annotations

import pytest

from naviance_sync.models import AuditEvent, LaunchDateChange
from naviance_sync.services import district_enable_clever, launch_date_move
from staff.models import StaffImportSettings
from tests.factories import DistrictFactory, SchoolFactory, SupportStaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1366


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def shown_whole(page, locator) -> bool:
    """Inside the screen and inside the results' scroll box (not cut off or scrolled away)."""
    box = locator.bounding_box()
    frame = page.locator(".results").bounding_box()
    right = min(WIDTH, frame["x"] + frame["width"]) if frame else WIDTH
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= right


@pytest.fixture
def support_page(page, session_sign_in):
    support = SupportStaffFactory(username="support-sam")
    page.set_viewport_size({"width": WIDTH, "height": 768})
    session_sign_in(support)  # a session: support's password sign-in asks for the second factor
    return page


@pytest.fixture
def busy_district():
    district = DistrictFactory(
        name="Consolidated Independent School District of Greater Northwestern Cedar Ridge",
        slug="cedar-ridge",
        clever_students_enabled=False,
        clever_staff_enabled=False,
        confirmed_clever_district_id="5f0e0e0e0e0e0e0e0e0e0e0e",
    )
    for i in range(4):
        SchoolFactory(
            district=district,
            name=f"Nuestra Señora de Guadalupe Bilingual Academy of Science {i}",
            state_id=f"TX-{i:012d}",
        )
    support = SupportStaffFactory(username="support-history")
    district_enable_clever(district=district, integration="students", actor=support)
    district_enable_clever(district=district, integration="staff", actor=support)
    launch_date_move(
        district=district, days=7, actor=support, note="District asked for a week " * 8
    )
    StaffImportSettings.objects.create(district=district)
    return district


def test_district_list_shows_the_launch_date_at_1366(support_page, busy_district, screenshot):
    page = support_page
    page.goto("/admin/naviance_sync/district/")
    header = page.get_by_role("columnheader", name="Launch date")
    cell = page.locator("td.field-launch_date").first
    assert shown_whole(page, header), header.bounding_box()
    assert shown_whole(page, cell) and cell.inner_text().strip(), cell.bounding_box()
    assert page_width(page) <= WIDTH
    screenshot(page, "admin-01-district-list-1366")


def test_district_page_fits_1366(support_page, busy_district, screenshot):
    page = support_page
    page.goto(f"/admin/naviance_sync/district/{busy_district.pk}/change/")
    assert LaunchDateChange.objects.filter(district=busy_district).count() >= 3
    width = page_width(page)
    screenshot(page, "admin-02-district-page-1366")
    assert width <= WIDTH, width


def test_admin_names_in_words(support_page, busy_district, screenshot):
    page = support_page
    page.goto("/admin/")
    text = page.locator("#content-main").inner_text()
    assert "settingss" not in text and "accesss" not in text and "matchs" not in text
    assert "Staff import settings" in text
    screenshot(page, "admin-03-index-1366")
    assert page_width(page) <= WIDTH
    page.goto("/admin/staff/staffimportsettings/")
    assert "object (" not in page.locator("#result_list").inner_text()
    assert page_width(page) <= WIDTH
    page.goto("/admin/naviance_sync/auditevent/")
    assert page_width(page) <= WIDTH
    screenshot(page, "admin-04-audit-events-1366")
    assert AuditEvent.objects.exists()


def test_support_saves_an_account_whose_email_came_from_clever_unvalidated(
    support_page, screenshot
):
    """An account as an import left it (an email Django's validator refuses, which Clever sent;
    the username its clever-... placeholder): support changes its job title in a real browser and
    saves; a username typed with a space is refused with Django's message, what was typed kept."""
    from staff.models import User
    from tests.factories import StaffAccountFactory

    page = support_page
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    account = StaffAccountFactory(
        district=district,
        username=f"clever-{district.pk}-5f0e0e0e0e0e0e0e0e0e0e01",
        email="józef.nowak@szkoła.example",
        first_name="Józef",
        last_name="Nowak",
    )
    page.goto(f"/admin/staff/user/{account.pk}/change/")
    page.get_by_label("Job title").fill("School Counselor")
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator(".messagelist .success").wait_for()
    screenshot(page, "admin-05-account-saved-as-it-came")
    account.refresh_from_db()
    assert (account.job_title, account.email) == ("School Counselor", "józef.nowak@szkoła.example")

    page.goto(f"/admin/staff/user/{account.pk}/change/")
    page.get_by_label("Username").fill("jozef nowak")
    page.get_by_role("button", name="Save", exact=True).click()
    errors = page.locator(".errorlist")
    errors.first.wait_for()
    assert "Enter a valid username" in errors.first.inner_text()
    assert page.get_by_label("Username").input_value() == "jozef nowak"
    assert page_width(page) <= WIDTH
    screenshot(page, "admin-06-typed-username-refused")
    assert User.objects.get(pk=account.pk).username == account.username
