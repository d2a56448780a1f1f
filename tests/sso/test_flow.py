"""Clever sign-in through the simulator with Django's test client (no browser)."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from naviance_sync.services import launch_date_move, launch_date_set
from staff.models import User
from tests.factories import DistrictFactory, UserFactory
from tests.support.sso import authorize_as, clever_sign_in, local_path, query, start_sign_in

pytestmark = pytest.mark.django_db


def signed_in_user_id(client):
    return client.session.get(SESSION_KEY)


def test_teacher_at_one_school_is_signed_in_with_the_school_chosen(client, world):
    response = clever_sign_in(client, world.teacher.clever_id)
    assert response.status_code == 302
    assert response["Location"] == "/sso/school/"
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_user_id(client) == str(world.teacher.pk)
    school = world.teacher.schools.get()
    assert client.session["school_id"] == school.pk
    home = client.get("/")
    assert home.status_code == 200
    assert school.name in home.content.decode()


def test_sign_in_links_the_clever_account_once(client, world):
    clever_sign_in(client, world.teacher.clever_id)
    account = SocialAccount.objects.get(provider="clever")
    assert account.user == world.teacher and account.uid == world.teacher.clever_id
    assert set(account.extra_data["data"]) == {"id", "district", "name"}  # nothing more kept


def test_links_by_clever_id_in_the_matching_district_not_by_email(client, world):
    record = world.sim.dataset.get("users", world.teacher.clever_id)
    # Same email, no Clever id: must not be picked.
    UserFactory(district=world.district, username="same-email", email=record.get("email") or "x@y")
    # Same Clever id in another district (ids are unique per district only): must not be picked.
    other = DistrictFactory(name="Elsewhere", slug="elsewhere")
    UserFactory(district=other, username="elsewhere", clever_id=world.teacher.clever_id)
    clever_sign_in(client, world.teacher.clever_id)
    assert signed_in_user_id(client) == str(world.teacher.pk)


def test_clever_user_without_an_account_gets_a_page_not_an_account(client, world):
    users_before = User.objects.count()
    response = clever_sign_in(client, world.no_account_clever_id)
    assert response.status_code == 403
    text = response.content.decode()
    assert "No account for you yet" in text and "district administrator" in text
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()
    assert signed_in_user_id(client) is None


def test_district_not_connected_gets_the_no_account_page(client, world):
    world.district.cleverconnection_set.update(clever_district_id="someone-else")
    response = clever_sign_in(client, world.teacher.clever_id)
    assert response.status_code == 403 and b"No account for you yet" in response.content
    assert signed_in_user_id(client) is None


def test_inactive_account_is_refused_with_a_clear_page(client, world):
    response = clever_sign_in(client, world.inactive.clever_id)
    assert response.status_code == 403
    assert b"Your account is inactive" in response.content
    assert signed_in_user_id(client) is None


def test_before_launch_is_refused_with_the_opening_date_then_support_opens_it_early(client, world):
    today = timezone.localdate(timezone=world.district.tz)
    launch_date_set(district=world.district, new_date=today + dt.timedelta(days=10))
    response = clever_sign_in(client, world.teacher.clever_id)
    assert response.status_code == 403
    text = response.content.decode()
    opens = today + dt.timedelta(days=10)
    assert "Clever sign-in is not open yet" in text
    assert opens.strftime("%B") in text and str(opens.year) in text and "America/Chicago" in text
    assert signed_in_user_id(client) is None
    world.district.refresh_from_db()
    launch_date_move(district=world.district, days=-10, note="ready early")
    response = clever_sign_in(client, world.teacher.clever_id)
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(world.teacher.pk)


def test_no_launch_date_is_refused(client, world):
    type(world.district).objects.filter(pk=world.district.pk).update(launch_date=None)
    response = clever_sign_in(client, world.teacher.clever_id)
    assert response.status_code == 403 and b"has not been switched on" in response.content


def test_district_admin_goes_straight_home_without_a_school(client, world):
    response = clever_sign_in(client, world.district_admin.clever_id)
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_user_id(client) == str(world.district_admin.pk)
    assert "school_id" not in client.session


def test_next_url_survives_the_round_trip_through_the_chooser(client, world):
    response = clever_sign_in(client, world.teacher.clever_id, next_url="/staff/")
    assert response["Location"] == "/sso/school/?next=%2Fstaff%2F"
    assert client.get(response["Location"])["Location"] == "/staff/"


def test_a_moved_clever_id_follows_the_import_not_the_old_link(client, world):
    clever_sign_in(client, world.teacher.clever_id)
    client.logout()
    clever_id = world.teacher.clever_id
    User.objects.filter(pk=world.teacher.pk).update(clever_id=None)
    successor = UserFactory(district=world.district, username="successor", clever_id=clever_id)
    clever_sign_in(client, clever_id)
    assert signed_in_user_id(client) == str(successor.pk)
    assert SocialAccount.objects.get(uid=clever_id).user == successor


def test_session_key_rotates_at_clever_sign_in(client, world):
    authorize_url = start_sign_in(client)
    before = client.session.session_key
    assert before  # the state was stashed in an (anonymous) session
    callback = authorize_as(authorize_url, world.teacher.clever_id)
    client.get(local_path(callback))
    after = client.session.session_key
    assert signed_in_user_id(client) == str(world.teacher.pk)
    assert after and after != before
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=before).exists()


def test_sign_in_sets_the_model_backend(client, world):
    clever_sign_in(client, world.teacher.clever_id)
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
    # and the session is good on the next request
    assert client.get("/").status_code == 200


def test_authorize_url_comes_from_settings(client, world):
    authorize_url = start_sign_in(client)
    assert authorize_url.startswith(world.sim.url + "/oauth/authorize?")
    params = query(authorize_url)
    assert params["client_id"] == "demo-client-id"
    assert params["redirect_uri"] == "http://testserver/sso/clever/login/callback/"
    assert params["state"] and params["response_type"] == "code"


def test_sign_in_writes_only_the_link_not_the_whole_user_row(client, world, monkeypatch):
    """A staff import writing the account while Clever sign-in runs must not lose its change."""
    from integrations.sso import adapter

    decide = adapter.clever_login_decision

    def decide_then_import_writes(**kwargs):
        decision = decide(**kwargs)  # the account is loaded here...
        User.objects.filter(pk=world.teacher.pk).update(job_title="Changed by the import")
        return decision  # ...and the import changed it before the sign-in finished

    monkeypatch.setattr(adapter, "clever_login_decision", decide_then_import_writes)
    clever_sign_in(client, world.teacher.clever_id)
    assert signed_in_user_id(client) == str(world.teacher.pk)
    world.teacher.refresh_from_db()
    assert world.teacher.job_title == "Changed by the import"
    assert SocialAccount.objects.get(uid=world.teacher.clever_id).user == world.teacher
