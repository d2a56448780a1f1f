import pytest
from playwright.sync_api import expect

from tests.factories import DistrictAdminFactory, DistrictFactory, SchoolFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_shows_district_home(page, sign_in, screenshot):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    SchoolFactory(district=district)
    admin = DistrictAdminFactory(
        district=district, username="dana", first_name="Dana", last_name="Rivera"
    )
    page.goto("/")
    assert "/accounts/login/" in page.url
    screenshot(page, "foundation-sign-in")
    sign_in(admin)
    assert page.get_by_role("heading", name="Maple Valley Unified").is_visible()
    assert page.get_by_text("Dana Rivera").is_visible()
    screenshot(page, "foundation-district-home")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/**")


def test_wrong_password_message(page, screenshot):
    DistrictAdminFactory(username="dana2")
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("dana2")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.get_by_label("Username").input_value() == "dana2"
    screenshot(page, "foundation-sign-in-error")
