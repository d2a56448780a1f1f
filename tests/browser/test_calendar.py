"""The Calendar page, reached from Sync Settings: a summer range suggested from the school
year's dates, a wrong range refused with the reason and what was typed kept, ranges added and
listed. Screenshots: test-artifacts/screenshots/calendar-*.png."""

from __future__ import annotations

import pytest

from integrations.models import CalendarRange
from tests.factories import DistrictAdminFactory, DistrictFactory
from tests.support.districts import connect_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_calendar_settings_suggest_refuse_and_add(page, sign_in, screenshot, clever_simulator):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(district=district, username="dana")
    connect_district(district, clever_simulator)
    sign_in(admin)
    page.goto("/integrations/settings/students/sync/")
    page.get_by_role("link", name="Calendar", exact=True).click()
    page.get_by_role("heading", level=1, name="Calendar").wait_for()

    page.locator("#id_summer-last_day").fill("2027-06-11")
    page.locator("#id_summer-first_day").fill("2027-08-23")
    page.get_by_role("button", name="Suggest").click()
    assert page.locator("#id_starts_on").input_value() == "2027-06-09"
    assert page.locator("#id_ends_on").input_value() == "2027-08-09"

    page.get_by_label("Additions only: create new records, hold changes").check()
    page.locator("#id_ends_on").fill("2027-06-01")
    page.get_by_role("button", name="Add range").click()
    page.get_by_role("alert").filter(has_text="nothing was saved").wait_for()
    assert "before the first day" in page.content()
    assert page.locator("#id_starts_on").input_value() == "2027-06-09"
    screenshot(page, "calendar-01-range-refused")

    page.locator("#id_ends_on").fill("2027-08-09")
    page.get_by_role("button", name="Add range").click()
    page.get_by_role("cell", name="2027-08-09", exact=True).wait_for()
    saved = CalendarRange.objects.get(district=district)
    assert saved.kind == "additions_only" and str(saved.starts_on) == "2027-06-09"
    screenshot(page, "calendar-02-settings")
