"""Clever sign-in in headless Chromium: the app on the live server, Clever simulated in a thread.

Like real Clever, the simulator remembers who signed in there, so a restarted authorize request
(the state-less instant-login bounce) comes straight back with a code.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integrations.simulator.dataset import Dataset
from integrations.simulator.faults import Faults
from integrations.simulator.pytest_plugin import small_district
from integrations.simulator.server import SimulatorServer
from naviance_sync.services import launch_date_set
from tests.support.sso import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clever(settings):
    server = SimulatorServer(Dataset(small_district()), Faults())
    with server:
        settings.CLEVER_OAUTH_URL = server.url
        settings.CLEVER_API_URL = server.url
        yield server


@pytest.fixture
def world(clever):
    return build_world(clever)


def full_name(user) -> str:
    return f"{user.first_name} {user.last_name}"


def sign_in_with_clever(page, user, *, shot=None, screenshot=None):
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Log in with Clever").click()
    page.wait_for_url("**/oauth/authorize?**")
    if shot:
        screenshot(page, shot)
    page.get_by_role("link", name=full_name(user), exact=True).click()
    page.wait_for_load_state()


def test_teacher_at_one_school(page, world, screenshot):
    page.goto("/accounts/login/")
    assert page.get_by_role("button", name="Log in with Clever").is_visible()
    screenshot(page, "sso-01-sign-in-page")
    sign_in_with_clever(page, world.teacher, shot="sso-02-clever-authorize", screenshot=screenshot)
    school = world.teacher.schools.get()
    header = page.locator("header")
    assert full_name(world.teacher) in header.inner_text()
    assert school.name in header.inner_text()
    assert "Change school" not in header.inner_text()
    assert page.get_by_role("heading", name="Oakwood ISD").is_visible()
    screenshot(page, "sso-03-teacher-one-school-home")
    page.get_by_role("link", name="Sign out everywhere").click()
    page.wait_for_url("**/sso/sign-out-everywhere/")
    screenshot(page, "sso-11-sign-out-everywhere-confirm")
    page.get_by_role("button", name="Sign out of every device").click()
    page.wait_for_url("**/accounts/login/**")
    assert page.get_by_text("signed out on every device").is_visible()
    screenshot(page, "sso-12-signed-out-everywhere")


def test_teacher_at_two_schools_chooses(page, world, screenshot):
    sign_in_with_clever(page, world.multi_teacher)
    page.wait_for_url("**/sso/school/**")
    assert page.get_by_role("heading", name="Choose your school").is_visible()
    screenshot(page, "sso-04-school-chooser")
    chosen = world.multi_teacher.schools.order_by("name")[1]
    page.get_by_role("button", name=chosen.name).click()
    page.wait_for_load_state()
    header = page.locator("header").inner_text()
    assert chosen.name in header and "Change school" in header
    assert page.get_by_text(f"You are working at {chosen.name}.").is_visible()
    screenshot(page, "sso-05-teacher-two-schools-home")


def test_district_admin(page, world, screenshot):
    sign_in_with_clever(page, world.district_admin)
    assert page.get_by_role("heading", name="Oakwood ISD").is_visible()
    header = page.locator("header").inner_text()
    assert full_name(world.district_admin) in header and "school" not in header.lower()
    screenshot(page, "sso-06-district-admin-home")


def test_clever_user_without_an_account(page, world, screenshot):
    record = world.sim.dataset.get("users", world.no_account_clever_id)
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Log in with Clever").click()
    page.wait_for_url("**/oauth/authorize?**")
    name = f"{record['name']['first']} {record['name']['last']}"
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="No account for you yet").is_visible()
    assert page.get_by_text("Ask your district administrator").is_visible()
    assert page.get_by_role("button", name="Sign out").count() == 0
    screenshot(page, "sso-07-no-account")


def test_before_the_launch_date(page, world, screenshot):
    opens = timezone.localdate(timezone=world.district.tz) + dt.timedelta(days=12)
    launch_date_set(district=world.district, new_date=opens)
    sign_in_with_clever(page, world.teacher)
    assert page.get_by_role("heading", name="Clever sign-in is not open yet").is_visible()
    assert page.get_by_text(f"{opens:%B} {opens.day}, {opens.year}").is_visible()
    screenshot(page, "sso-08-before-launch")


def test_instant_login_from_the_clever_portal_without_state(page, world, live_server, screenshot):
    world.sim.app.portal_url = live_server.url  # as `clever_simulator --portal-url` does
    seen = []
    page.on("request", lambda r: seen.append(r.url) if r.is_navigation_request() else None)
    page.goto(f"{world.sim.url}/")  # the (simulated) Clever portal
    screenshot(page, "sso-09a-clever-portal")
    page.get_by_role("link", name=full_name(world.teacher), exact=True).click()  # the app icon
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Oakwood ISD").is_visible()
    assert world.teacher.schools.get().name in page.locator("header").inner_text()
    # The state-less callback, the restart at Clever with a fresh state, the callback with it.
    callbacks = [u for u in seen if "/sso/clever/login/callback/" in u]
    assert len(callbacks) == 2
    assert any("/_sim/instant_login?" in u for u in seen)
    assert "state=" not in callbacks[0] and "state=" in callbacks[1]
    assert any("/oauth/authorize?" in u and "state=" in u for u in seen)
    screenshot(page, "sso-09b-instant-login-home")


def test_replayed_callback_then_try_again(page, world, screenshot):
    callbacks = []
    page.on(
        "request",
        lambda r: callbacks.append(r.url) if "/sso/clever/login/callback/" in r.url else None,
    )
    sign_in_with_clever(page, world.teacher)
    assert page.get_by_role("heading", name="Oakwood ISD").is_visible()
    # Replay the callback in another browser (no session, code already used): a clear page.
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    other = context.new_page()
    response = other.goto(callbacks[-1])
    assert response.status == 400
    assert other.get_by_role("heading", name="Clever sign-in did not work").is_visible()
    screenshot(other, "sso-10-replayed-callback")
    other.get_by_role("button", name="Try again with Clever").click()
    other.wait_for_url("**/oauth/authorize?**")
    context.close()
