"""School chooser, sign out everywhere, session hash and CSP for the Clever button."""

from __future__ import annotations

import pytest
from django.test import Client

from naviance_sync.models import AuditEvent
from staff.models import User
from tests.factories import PASSWORD, DistrictFactory, SchoolFactory, UserFactory
from tests.support.sso import clever_sign_in

pytestmark = pytest.mark.django_db


def test_teacher_at_two_schools_chooses_and_sees_it_in_the_header(client, world):
    response = clever_sign_in(client, world.multi_teacher.clever_id)
    chooser = client.get(response["Location"])
    assert chooser.status_code == 200
    text = chooser.content.decode()
    schools = list(world.multi_teacher.schools.order_by("name"))
    assert "Choose your school" in text and all(s.name in text for s in schools)
    assert "school_id" not in client.session
    response = client.post("/sso/school/", {"school": schools[1].pk, "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["school_id"] == schools[1].pk
    home = client.get("/").content.decode()
    assert schools[1].name in home and "Change school" in home


def test_chooser_refuses_a_school_that_is_not_yours(client, world):
    clever_sign_in(client, world.multi_teacher.clever_id)
    not_mine = [s for s in world.schools.values() if s not in world.multi_teacher.schools.all()]
    foreign = SchoolFactory(district=DistrictFactory(name="Elsewhere", slug="elsewhere"))
    for school in [*not_mine, foreign]:
        response = client.post("/sso/school/", {"school": school.pk})
        assert response.status_code == 400 and b"not one of yours" in response.content
        assert b"Elsewhere" not in response.content
    assert "school_id" not in client.session


def test_chooser_ignores_an_offsite_next(client, world):
    clever_sign_in(client, world.teacher.clever_id)
    response = client.get("/sso/school/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_chooser_needs_a_signed_in_district_user(client):
    response = client.get("/sso/school/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_password_sign_in_also_picks_the_only_school(client, world):
    response = client.post("/accounts/login/", {"username": "teacher-one", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["school_id"] == world.teacher.schools.get().pk


def test_sign_out_everywhere_ends_every_session_of_that_user_only(world):
    teacher = world.teacher
    laptop, phone, colleague = Client(), Client(), Client()
    for c in (laptop, phone):
        clever_sign_in(c, teacher.clever_id)
        assert c.get("/").status_code == 200
    colleague.force_login(world.district_admin)
    response = laptop.post("/sso/sign-out-everywhere/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    for c in (laptop, phone):
        response = c.get("/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert colleague.get("/").status_code == 200
    teacher.refresh_from_db()
    assert teacher.session_generation == 1
    event = AuditEvent.objects.get(action="auth.sign_out_everywhere")
    assert (event.actor, event.old_value, event.new_value) == (teacher, "0", "1")
    # Signing in again works (new sessions carry the new generation).
    clever_sign_in(phone, teacher.clever_id)
    assert phone.get("/").status_code == 200


def test_sign_out_everywhere_asks_first_and_needs_csrf(world):
    c = Client(enforce_csrf_checks=True)
    c.force_login(world.teacher)
    confirm = c.get("/sso/sign-out-everywhere/")
    assert confirm.status_code == 200 and b"Sign out of every device" in confirm.content
    assert c.post("/sso/sign-out-everywhere/").status_code == 403
    world.teacher.refresh_from_db()
    assert world.teacher.session_generation == 0


def test_generation_zero_keeps_djangos_hash_so_deploying_signs_nobody_out(db):
    user = UserFactory()
    from django.contrib.auth.base_user import AbstractBaseUser

    assert user.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(user)
    user.session_generation = 1
    assert user.get_session_auth_hash() != AbstractBaseUser.get_session_auth_hash(user)


def test_hash_fallback_keys_follow_the_generation(db, settings):
    settings.SECRET_KEY_FALLBACKS = ["old-key-1"]
    user = UserFactory(session_generation=2)
    [fallback] = list(user.get_session_auth_fallback_hash())
    assert fallback != user.get_session_auth_hash()
    user.session_generation = 3
    assert list(user.get_session_auth_fallback_hash()) != [fallback]


def test_deactivated_user_loses_the_clever_session(client, world):
    clever_sign_in(client, world.teacher.clever_id)
    assert client.get("/").status_code == 200
    User.objects.filter(pk=world.teacher.pk).update(is_active=False)
    # ModelBackend no longer returns the user for the session: every page is a sign-in redirect.
    for url in ("/", "/sso/school/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_login_page_has_the_clever_button_and_csp_allows_posting_to_clever(client, world):
    response = client.get("/accounts/login/?next=/staff/")
    text = response.content.decode()
    assert 'action="/sso/clever/login/"' in text and "Log in with Clever" in text
    assert 'name="next" value="/staff/"' in text
    csp = response["Content-Security-Policy"]
    form_action = next(d for d in csp.split(";") if d.strip().startswith("form-action"))
    assert form_action.split()[1:] == ["'self'", world.sim.url]
    # Strict otherwise: nothing else learned about Clever.
    assert world.sim.url not in csp.replace(form_action, "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_production_cookies_on_the_clever_path_are_secure(client, world, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    response = client.post("/sso/clever/login/", secure=True)
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
