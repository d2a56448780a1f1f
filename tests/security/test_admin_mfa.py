"""Issue 20 item 8: staff accounts with Django admin access use a second factor (allauth.mfa).

Production settings (DEBUG off, HTTPS), real sign-in POSTs (the product's sign-in page and Django
admin's), codes computed from the account's key with allauth's own TOTP arithmetic.
"""

from __future__ import annotations

import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.urls import reverse

from tests.factories import (
    SUPPORT_TOTP_SECRET,
    DistrictAdminFactory,
    SupportStaffFactory,
    UserFactory,
)
from tests.support.settings import PRODUCTION

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
MFA_CODE = "/accounts/2fa/authenticate/"
MFA_SETUP = "/accounts/2fa/totp/activate/"
LOCKED = 429


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)


@pytest.fixture(autouse=True)
def fresh_cache():
    """allauth keeps its per-address code limits and used codes in the cache (Redis here): one
    test's tries must not count in the next one's."""
    cache.clear()
    yield
    cache.clear()


def totp_code(secret: str = SUPPORT_TOTP_SECRET, *, step: int = 0) -> str:
    """The app's code now. allauth takes a code only in its own 30 s window (tolerance 0), so a
    code read in a window's last 2 s may arrive in the next one and count as a wrong code (CI,
    a loaded machine: 429 after four wrong codes and a "right" one); like a person who sees the
    code about to change, wait for the next one."""
    period = mfa_settings.TOTP_PERIOD
    left = period - time.time() % period
    if step == 0 and left < 2:
        time.sleep(left + 0.05)
    counter = int(time.time()) // period + step
    return format_hotp_value(hotp_value(secret, counter))


def wrong_code(secret: str = SUPPORT_TOTP_SECRET) -> str:
    right = {totp_code(secret, step=s) for s in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def sign_in(client, username, password, *, url=LOGIN, next_url="/admin/"):
    return client.post(
        url, {"username": username, "password": password, "next": next_url}, secure=True
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def reaches_admin(client) -> bool:
    return client.get("/admin/", secure=True).status_code == 200


@pytest.mark.parametrize("flags", [{"is_superuser": True}, {"is_superuser": False}])
def test_staff_without_a_second_factor_is_sent_to_set_one_up_not_into_admin(
    client, password, flags
):
    support = SupportStaffFactory(username="new-support", totp=False, **flags)
    response = sign_in(client, support.username, password)
    # The password alone signs in (there is no code to ask for yet) ...
    assert signed_in(client)
    # ... but no admin page opens: the setup page, with a message saying why.
    for url in ("/admin/", "/admin/staff/user/", "/admin/naviance_sync/district/"):
        response = client.get(url, secure=True)
        assert response.status_code == 302, url
        assert response["Location"].startswith(MFA_SETUP), url
    page = client.get(response["Location"], secure=True)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Support accounts need a second factor before Django admin opens" in html
    assert 'src="data:image/svg+xml;base64,' in html  # the QR code, as an image (CSP img-src)
    assert "<script>" not in html and "style=" not in html


def test_admin_posts_are_refused_too_without_a_second_factor(client, password, district):
    support = SupportStaffFactory(username="new-support", totp=False)
    client.force_login(support)
    response = client.post(
        "/admin/naviance_sync/district/",
        {"action": "enable_students", "_selected_action": [district.pk]},
        secure=True,
    )
    assert response.status_code == 302 and response["Location"].startswith(MFA_SETUP)


def test_staff_sets_up_the_app_and_then_reaches_admin(client, password):
    support = SupportStaffFactory(username="new-support", totp=False)
    sign_in(client, support.username, password)
    page = client.get(MFA_SETUP, secure=True)
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(MFA_SETUP, {"code": wrong_code(secret)}, secure=True)
    assert response.status_code == 200 and not Authenticator.objects.filter(user=support).exists()
    response = client.post(MFA_SETUP, {"code": totp_code(secret)}, secure=True)
    assert response.status_code == 302
    # Recovery codes are made with it, and shown next.
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    codes = client.get(response["Location"], secure=True)
    assert codes.status_code == 200 and len(codes.context["unused_codes"]) == 10
    assert set(Authenticator.objects.filter(user=support).values_list("type", flat=True)) == {
        "totp",
        "recovery_codes",
    }
    assert reaches_admin(client)


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_with_an_app_the_password_alone_does_not_sign_in(client, password, url):
    support = SupportStaffFactory(username="support-sam")
    response = sign_in(client, support.username, password, url=url)
    assert response.status_code == 302 and response["Location"] == MFA_CODE
    assert not signed_in(client)
    assert client.get("/admin/", secure=True).status_code == 302
    assert not reaches_admin(client)
    page = client.get(MFA_CODE, secure=True)
    assert page.status_code == 200 and "Enter your sign-in code" in page.content.decode()


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_password_and_a_right_code_reach_admin(client, password, url):
    support = SupportStaffFactory(username="support-sam")
    sign_in(client, support.username, password, url=url)
    response = client.post(MFA_CODE, {"code": totp_code()}, secure=True)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert signed_in(client) and reaches_admin(client)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert not any("Clever" in m for m in said), said  # a password sign-in, not Clever's


def test_a_wrong_code_is_refused_and_a_used_code_is_not_taken_twice(client, password):
    support = SupportStaffFactory(username="support-sam")
    sign_in(client, support.username, password)
    response = client.post(MFA_CODE, {"code": wrong_code()}, secure=True)
    assert response.status_code == 200 and not signed_in(client)
    assert "Incorrect code" in response.content.decode()
    for blank in ("", " ", "12345", "１２３４５６", "x" * 500):
        response = client.post(MFA_CODE, {"code": blank}, secure=True)
        assert response.status_code == 200 and not signed_in(client), blank
    code = totp_code()
    assert client.post(MFA_CODE, {"code": code}, secure=True).status_code == 302
    client.logout()
    sign_in(client, support.username, password)
    response = client.post(MFA_CODE, {"code": code}, secure=True)  # replayed
    assert response.status_code == 200 and not signed_in(client)


def test_a_recovery_code_signs_in_once(client, password):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    support = SupportStaffFactory(username="support-sam")
    recovery = RecoveryCodes.activate(support).generate_codes()[0]
    sign_in(client, support.username, password)
    assert client.post(MFA_CODE, {"code": recovery}, secure=True).status_code == 302
    assert reaches_admin(client)
    client.logout()
    sign_in(client, support.username, password)
    response = client.post(MFA_CODE, {"code": recovery}, secure=True)
    assert response.status_code == 200 and not signed_in(client)


def test_the_code_page_needs_a_right_password_first(client):
    response = client.post(MFA_CODE, {"code": totp_code()}, secure=True)
    assert response.status_code == 302 and not signed_in(client)


def test_wrong_passwords_still_lock_out_a_staff_account(client, password):
    support = SupportStaffFactory(username="support-sam")
    for n in range(1, settings.AXES_FAILURE_LIMIT + 1):
        response = sign_in(client, support.username, "wrong-password", url=ADMIN_LOGIN)
        assert response.status_code == (LOCKED if n == settings.AXES_FAILURE_LIMIT else 200)
    response = sign_in(client, support.username, password)
    assert response.status_code == LOCKED and not signed_in(client)


def test_wrong_codes_count_toward_the_lockout(client, password):
    """Five wrong codes lock the account out like five wrong passwords: the password is known
    to whoever is guessing codes, so the code step must not be an unlimited oracle."""
    support = SupportStaffFactory(username="support-sam")
    sign_in(client, support.username, password)
    for n in range(1, settings.AXES_FAILURE_LIMIT + 1):
        response = client.post(MFA_CODE, {"code": wrong_code()}, secure=True)
        assert response.status_code == (LOCKED if n == settings.AXES_FAILURE_LIMIT else 200), n
    record = AccessAttempt.objects.get(username=support.username)
    assert record.failures_since_start >= settings.AXES_FAILURE_LIMIT
    # Locked: even the right code is refused now, and so is the right password.
    response = client.post(MFA_CODE, {"code": totp_code()}, secure=True)
    assert response.status_code == LOCKED and not signed_in(client)
    assert sign_in(client, support.username, password).status_code == LOCKED
    assert not signed_in(client)


def test_a_right_code_after_a_few_wrong_ones_resets_the_count(client, password):
    support = SupportStaffFactory(username="support-sam")
    sign_in(client, support.username, password)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(MFA_CODE, {"code": wrong_code()}, secure=True)
    assert client.post(MFA_CODE, {"code": totp_code()}, secure=True).status_code == 302
    assert not AccessAttempt.objects.filter(username=support.username).exists()


def test_district_admins_are_not_forced_and_sign_in_as_before(client, password, district):
    admin = DistrictAdminFactory(district=district, username="dana")
    response = sign_in(client, admin.username, password, next_url="")
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert signed_in(client)
    assert client.get(reverse("home"), secure=True).status_code == 200


def test_a_district_admin_who_enrolled_is_asked_for_the_code(client, password, district):
    from tests.factories import enroll_totp

    admin = DistrictAdminFactory(district=district, username="dana")
    enroll_totp(admin)
    response = sign_in(client, admin.username, password, next_url="")
    assert response["Location"] == MFA_CODE and not signed_in(client)
    response = client.post(MFA_CODE, {"code": totp_code()}, secure=True)
    assert response["Location"] == reverse("home") and signed_in(client)


def test_a_signed_in_district_account_is_refused_at_the_admin_sign_in(client, district):
    client.force_login(DistrictAdminFactory(district=district))
    assert client.get(ADMIN_LOGIN, secure=True).status_code == 403


def test_inactive_staff_is_not_signed_in(client, password):
    support = SupportStaffFactory(username="gone", is_active=False)
    response = sign_in(client, support.username, password)
    assert response.status_code == 200 and not signed_in(client)


def test_the_staff_flag_alone_is_enough_to_need_a_second_factor(client, password):
    staff = UserFactory(username="staff-only", is_staff=True, district=None, role=None)
    client.force_login(staff)
    response = client.get("/admin/", secure=True)
    assert response.status_code == 302 and response["Location"].startswith(MFA_SETUP)


def test_the_authenticator_key_is_not_stored_in_clear(client, password):
    from allauth.mfa.totp.internal.auth import TOTP

    support = SupportStaffFactory(username="support-sam")
    stored = Authenticator.objects.get(user=support, type="totp")
    assert SUPPORT_TOTP_SECRET not in str(stored.data)
    sign_in(client, support.username, password)
    assert client.post(MFA_CODE, {"code": totp_code()}, secure=True).status_code == 302
    assert TOTP(stored).instance.data["secret"] != SUPPORT_TOTP_SECRET


def mfa_urls() -> list[str]:
    from django.urls import get_resolver

    return sorted(
        reverse(name)
        for name in get_resolver().reverse_dict
        if isinstance(name, str) and name.startswith("mfa_")
    )


def test_who_may_open_the_second_factor_pages(client, password, district):
    """Anonymous: every page sends to sign-in (GET and POST), none answers or changes anything.
    A district admin may open the overview (enrolling is optional for them); support staff too."""
    urls = mfa_urls()
    assert {"/accounts/2fa/", MFA_SETUP, MFA_CODE} <= set(urls)
    for url in urls:
        for method in (client.get, client.post):
            response = method(url, secure=True)
            assert response.status_code == 302, (method.__name__, url, response.status_code)
            assert response["Location"].startswith(LOGIN), (url, response["Location"])
    assert not Authenticator.objects.exists()
    client.force_login(DistrictAdminFactory(district=district))
    assert client.get("/accounts/2fa/", secure=True).status_code == 200
    client.force_login(SupportStaffFactory(username="support-sam"))
    page = client.get("/accounts/2fa/", secure=True)
    assert page.status_code == 200 and "Go to Django admin" in page.content.decode()


def test_signed_in_support_at_the_admin_sign_in_goes_on_but_never_off_site(client):
    client.force_login(SupportStaffFactory(username="support-sam"))
    response = client.get(ADMIN_LOGIN, {"next": "/admin/staff/user/"}, secure=True)
    assert response.status_code == 302 and response["Location"] == "/admin/staff/user/"
    response = client.get(ADMIN_LOGIN, {"next": "https://evil.example/"}, secure=True)
    assert response.status_code == 302 and response["Location"] == "/admin/"
