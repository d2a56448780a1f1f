import pytest
from django.urls import reverse

from tests.factories import DistrictAdminFactory, RoleFactory, SupportStaffFactory


@pytest.mark.django_db
def test_sign_in_and_home_page(client, admin_user, password):
    response = client.post(
        reverse("login"), {"username": admin_user.username, "password": password}
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")
    page = client.get(reverse("home"))
    assert page.status_code == 200
    assert b"Maple Valley Unified" in page.content
    assert b"Clever Student Integration" in page.content


@pytest.mark.django_db
def test_wrong_password_keeps_username_and_says_so(client, admin_user):
    response = client.post(reverse("login"), {"username": admin_user.username, "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content
    assert f'value="{admin_user.username}"'.encode() in response.content


@pytest.mark.django_db
def test_sign_out(admin_client):
    response = admin_client.post(reverse("logout"))
    assert response.status_code == 302
    assert admin_client.get(reverse("home")).status_code == 302


@pytest.mark.django_db
def test_home_says_why_integration_is_unavailable(client, district):
    district.clever_students_enabled = False
    district.save()
    client.force_login(DistrictAdminFactory(district=district))
    assert b"has not enabled the Clever integration" in client.get(reverse("home")).content


@pytest.mark.django_db
def test_role_without_import_permission_is_told_why(client, district):
    role = RoleFactory(district=district, name="Counselor", can_import_district_data=False)
    client.force_login(DistrictAdminFactory(district=district, role=role))
    assert (
        b"does not have the permission to import district data"
        in client.get(reverse("home")).content
    )


@pytest.mark.django_db
def test_support_staff_without_district_gets_clear_403(client):
    client.force_login(SupportStaffFactory())
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert b"Support staff use Django admin" in response.content


@pytest.mark.django_db
def test_lockout_after_five_failures(client, admin_user, password):
    for _ in range(5):
        client.post(reverse("login"), {"username": admin_user.username, "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": admin_user.username, "password": password}
    )
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "data"),
    [
        ("get", {"q": "abc\x00def"}),
        ("get", {"bad\x00key": "1"}),
        ("post", {"username": "x\x00", "password": "y"}),
    ],
)
def test_a_nul_character_is_a_clear_400_on_any_page(client, admin_client, method, data):
    for who, url in ((client, "/accounts/login/"), (admin_client, "/students/")):
        response = getattr(who, method)(url, data)
        assert response.status_code == 400, (url, response.status_code)
        assert b"NUL character" in response.content
