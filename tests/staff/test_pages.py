"""Staff pages and services against the database: settings, keywords, matches, staff list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from integrations import selectors as integration_selectors
from integrations.models import CleverSchool, ImportRun, SchoolMatch
from staff import services
from staff.models import (
    JobFunction,
    Role,
    StaffImportSettings,
    StaffSchoolAccess,
    TitleKeywordRule,
    User,
    Zone,
)
from staff.selectors import staff_settings_saved
from tests.factories import SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_settings_created_with_limited_default_roles(district):
    settings = services.staff_settings_ensure(district=district)
    school_role, district_role = settings.school_default_role, settings.district_default_role
    assert school_role.name == "Other School Staff" and district_role.name == "Other District Staff"
    for role in (school_role, district_role):
        assert role.is_limited and not role.can_import_district_data
    assert settings.not_in_clever_role.name == "District Site Manager"
    assert services.staff_settings_ensure(district=district).pk == settings.pk


def test_settings_page_saves_and_shows_rule_explanation(admin_client, district):
    response = admin_client.get(reverse("staff:settings"))
    assert response.status_code == 200
    assert b"the rule highest in the list wins" in response.content
    settings = StaffImportSettings.objects.get(district=district)
    role = Role.objects.create(district=district, name="Counselor role")
    data = {
        "school_default_role": role.pk,
        "district_default_role": settings.district_default_role_id,
        "not_in_clever_role": settings.not_in_clever_role_id,
        "school_default_teacher_list": "on",
    }
    response = admin_client.post(reverse("staff:settings"), data)
    assert response.status_code == 302
    settings.refresh_from_db()
    assert settings.school_default_role == role and settings.school_default_teacher_list
    checklist = integration_selectors.launch_checklist(district=district, data_type="staff")
    assert checklist["checklist"][1].done


def test_settings_refuses_another_districts_role(admin_client, district, other_district):
    services.staff_settings_ensure(district=district)
    foreign = Role.objects.create(district=other_district, name="Foreign")
    response = admin_client.post(
        reverse("staff:settings"),
        {
            "school_default_role": foreign.pk,
            "district_default_role": foreign.pk,
            "not_in_clever_role": foreign.pk,
        },
    )
    assert response.status_code == 400
    assert (
        StaffImportSettings.objects.get(district=district).school_default_role.name
        == "Other School Staff"
    )


def test_keyword_add_is_case_insensitive_unique_and_ordered(admin_client, district):
    fn = JobFunction.objects.create(district=district, name="Counseling")
    url = reverse("staff:rule_add")
    assert (
        admin_client.post(
            url, {"rule-keyword": " Counselor ", "rule-job_function": fn.pk}
        ).status_code
        == 302
    )
    assert admin_client.post(url, {"rule-keyword": "teacher"}).status_code == 302
    response = admin_client.post(url, {"rule-keyword": "COUNSELOR"})
    assert response.status_code == 400 and "already a rule" in response.content.decode()
    assert admin_client.post(url, {"rule-keyword": "  "}).status_code == 400
    rules = list(TitleKeywordRule.objects.filter(district=district).order_by("position"))
    assert [(r.keyword, r.position) for r in rules] == [("Counselor", 0), ("teacher", 1)]
    admin_client.post(
        reverse("staff:rule_move", kwargs={"rule_id": rules[1].pk}), {"direction": "up"}
    )
    assert list(
        TitleKeywordRule.objects.filter(district=district)
        .order_by("position")
        .values_list("keyword", flat=True)
    ) == ["teacher", "Counselor"]
    admin_client.post(reverse("staff:rule_delete", kwargs={"rule_id": rules[1].pk}))
    assert list(
        TitleKeywordRule.objects.filter(district=district).values_list("keyword", "position")
    ) == [("Counselor", 0)]


def test_no_schools_zone_is_created_restricted_and_made_default(admin_client, district):
    admin_client.post(reverse("staff:no_schools_zone"))
    zone = Zone.objects.get(district=district, name="No Schools Zone")
    assert not zone.full_access and not zone.schools.exists()
    assert StaffImportSettings.objects.get(district=district).default_district_zone == zone


def test_existing_open_zone_named_no_schools_is_refused(district, school):
    zone = Zone.objects.create(district=district, name="No Schools Zone", full_access=True)
    with pytest.raises(services.StaffSettingsError, match="gives access"):
        services.no_schools_zone_create(district=district, actor=None)
    settings = services.staff_settings_ensure(district=district)
    assert settings.default_district_zone != zone


def _run(district, *, mode="test", status="succeeded", hours_ago=1):
    finished = timezone.now() - dt.timedelta(hours=hours_ago)
    return ImportRun.objects.create(
        district=district, data_type="staff", mode=mode, status=status, finished_at=finished
    )


def _freshness(district):
    return integration_selectors.test_import_freshness(district=district, data_type="staff")


CONFIRM = ("integrations:import_confirm", {"data_type": "staff"})


def test_real_import_needs_test_import_from_last_48_hours(admin_client, district):
    response = admin_client.get(reverse(CONFIRM[0], kwargs=CONFIRM[1]))
    assert response.status_code == 302
    _run(district, hours_ago=49)
    allowed, message, _ = _freshness(district)
    assert not allowed and "49 hours ago" in message and "run the test import again" in message
    response = admin_client.get(reverse(CONFIRM[0], kwargs=CONFIRM[1]), follow=True)
    assert "run the test import again" in response.content.decode()
    _run(district, status="failed", hours_ago=1)
    assert not _freshness(district)[0]
    _run(district, hours_ago=47)
    assert _freshness(district)[0]
    response = admin_client.get(reverse(CONFIRM[0], kwargs=CONFIRM[1]))
    assert b"Yes, permanently import staff records" in response.content


def test_import_confirm_requires_the_tick(admin_client, district):
    _run(district)
    response = admin_client.post(reverse(CONFIRM[0], kwargs=CONFIRM[1]), {})
    assert response.status_code == 400
    assert not ImportRun.objects.filter(mode="import").exists()


def test_a_staff_only_district_matches_schools_on_the_shared_page(admin_client, district):
    district.clever_students_enabled = False
    district.clever_staff_enabled = True
    district.save()
    a = SchoolFactory(district=district, name="Alpha High")
    b = SchoolFactory(district=district, name="Beta Middle")
    ca = CleverSchool.objects.create(district=district, clever_id="ca", name="Alpha HS")
    cb = CleverSchool.objects.create(district=district, clever_id="cb", name="Beta MS")
    SchoolMatch.objects.create(
        district=district, school=a, clever_school=ca, locked_at=timezone.now()
    )
    page = admin_client.get(reverse("integrations:school_matches"))
    assert page.status_code == 200 and b"Locked" in page.content
    response = admin_client.post(
        reverse("integrations:school_matches"), {f"school_{a.pk}": "cb", f"school_{b.pk}": "cb"}
    )
    assert SchoolMatch.objects.get(school=a).clever_school == ca  # locked: unchanged
    assert SchoolMatch.objects.get(school=b).clever_school == cb
    assert response.status_code == 302


# Bookmarked staff URLs (before the integration served every data type) and where they lead.
MOVED = [
    ("/staff/", "integrations:imports", {"data_type": "staff"}),
    ("/staff/import/", "integrations:imports", {"data_type": "staff"}),
    ("/staff/import/start/", "integrations:import_confirm", {"data_type": "staff"}),
    ("/staff/setup/", "integrations:school_matches", {}),
    ("/staff/runs/{run}/", "integrations:run_detail", {"run_id": "{run}"}),
    ("/staff/runs/{run}/results.csv", "integrations:run_results_csv", {"run_id": "{run}"}),
]


@pytest.mark.parametrize(("old", "new", "new_kwargs"), MOVED)
def test_a_bookmarked_staff_url_redirects_to_the_integration_page(
    admin_client, district, old, new, new_kwargs
):
    run = _run(district).pk
    kwargs = {k: (run if v == "{run}" else v) for k, v in new_kwargs.items()}
    response = admin_client.get(old.format(run=run))
    assert response.status_code == 302
    assert response["Location"] == reverse(new, kwargs=kwargs)


def test_a_bookmarked_run_of_another_district_or_data_type_is_404(
    admin_client, district, other_district
):
    foreign = _run(other_district).pk
    students = ImportRun.objects.create(district=district, data_type="students", mode="test").pk
    for run in (foreign, students):
        assert admin_client.get(f"/staff/runs/{run}/").status_code == 404
        assert admin_client.get(f"/staff/runs/{run}/results.csv").status_code == 404


def test_the_staff_redirects_keep_the_import_permission(client, district):
    from tests.factories import DistrictAdminFactory

    user = DistrictAdminFactory(district=district)
    user.role.can_import_district_data = False
    user.role.save()
    client.force_login(user)
    assert client.get("/staff/import/").status_code == 403


def _staff(district, **kw):
    return UserFactory(
        district=district, role__name="Teacher", role__can_import_district_data=False, **kw
    )


def test_staff_page_filters_and_shows_sources(
    admin_client, district, django_assert_max_num_queries
):
    school = SchoolFactory(district=district, name="North High")
    counselor_fn = JobFunction.objects.create(district=district, name="Counselor")
    a = _staff(
        district,
        first_name="Ana",
        last_name="Lopez",
        job_function=counselor_fn,
        on_counselor_list=True,
        role_source="keyword",
    )
    StaffSchoolAccess.objects.create(user=a, school=school, source="clever_section")
    _staff(district, first_name="Bo", last_name="Zhu", inactive_since=timezone.now())
    for i in range(60):
        _staff(district, last_name=f"Filler{i:02d}")
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("staff:list"))
    assert response.status_code == 200 and b"Page 1 of 2" in response.content
    body = admin_client.get(reverse("staff:list"), {"school": school.pk}).content.decode()
    assert "Lopez, Ana" in body and "Zhu" not in body and "Title keyword rule" in body
    body = admin_client.get(reverse("staff:list"), {"status": "inactive"}).content.decode()
    assert "Zhu, Bo" in body and "Lopez" not in body
    body = admin_client.get(
        reverse("staff:list"), {"list": "counselor", "q": "lopez"}
    ).content.decode()
    assert "Lopez, Ana" in body and "1 staff account match" in body


def test_setting_role_by_hand_marks_source_manual(admin_client, district):
    account = _staff(district, role_source="keyword")
    role = Role.objects.create(district=district, name="Counselor")
    admin_client.post(reverse("staff:detail", kwargs={"staff_id": account.pk}), {"role": role.pk})
    account.refresh_from_db()
    assert account.role == role and account.role_source == "manual"


def test_launch_checklist_on_the_staff_import_page(admin_client, district):
    district.launch_date = timezone.localdate() + dt.timedelta(days=20)
    district.save()
    body = admin_client.get(
        reverse("integrations:imports", kwargs={"data_type": "staff"})
    ).content.decode()
    assert "Launch date" in body and "4 steps left before launch" in body


def test_welcome_email_and_username_after_import(district, welcome_emails_inline):
    from staff.services import staff_after_import

    UserFactory(district=district, username="taken@x.org")
    a = User.objects.create(
        district=district,
        username="clever-1-a",
        email="Ana@X.org",
        first_name="Ana",
        last_name="Lopez",
    )
    b = User.objects.create(
        district=district, username="clever-1-b", email="taken@x.org", last_name="B"
    )
    c = User.objects.create(district=district, username="clever-1-c", email="", last_name="C")
    for user in (a, b, c):
        user.set_unusable_password()  # as the staff import creates them
        user.save()
    sent = staff_after_import(district_id=district.pk, run_id=1, created_ids=[a.pk, b.pk, c.pk])
    a.refresh_from_db(), b.refresh_from_db()
    assert a.username == "ana@x.org" and b.username == "clever-1-b"
    assert sent == 2 and len(mail.outbox) == 2
    # Queued on the mail queue as ids only (no addresses in the broker), then sent.
    assert welcome_emails_inline == [(district.pk, [a.pk, b.pk])]
    (body,) = [m.body for m in mail.outbox if m.to == ["Ana@X.org"]]
    assert "/accounts/setup/" in body and "ana@x.org" in body


def test_no_welcome_email_with_clever_sso(district):
    from staff.services import staff_after_import

    services.staff_settings_update(district=district, actor=None, values={"sso_enabled": True})
    a = User.objects.create(
        district=district, username="clever-1-a", email="a@x.org", last_name="A"
    )
    assert staff_after_import(district_id=district.pk, run_id=1, created_ids=[a.pk]) == 0
    assert mail.outbox == []


def test_welcome_emails_go_to_the_mail_queue_in_batches(district, monkeypatch):
    from naviance_sync.celery import app
    from staff import services, tasks
    from staff.services import sync_hooks

    assert app.amqp.router.route({}, tasks.send_staff_welcome.name)["queue"].name == "mail"
    monkeypatch.setattr(sync_hooks, "WELCOME_BATCH", 2)
    queued = []
    monkeypatch.setattr(tasks.send_staff_welcome, "delay", lambda d, ids: queued.append(ids))
    users = [
        User.objects.create(
            district=district, username=f"clever-1-{n}", email=f"u{n}@x.org", password="!"
        )
        for n in range(5)
    ]
    ids = [u.pk for u in users]
    assert services.staff_after_import(district_id=district.pk, run_id=1, created_ids=ids) == 5
    assert queued == [ids[0:2], ids[2:4], ids[4:5]] and mail.outbox == []
    # A retried task never re-invites someone who already chose a password.
    users[0].set_password("chosen-Password-1")
    users[0].save()
    assert services.staff_welcome_send(district_id=district.pk, user_ids=ids[0:2]) == 1
    assert [m.to for m in mail.outbox] == [["u1@x.org"]]


def test_welcome_link_sets_password_once(client, district):
    from staff.emails import account_setup_url

    user = User.objects.create(
        district=district, username="new@x.org", email="new@x.org", last_name="N"
    )
    user.set_unusable_password()
    user.save()
    path = account_setup_url(user).split("8000", 1)[-1]
    response = client.get(path, follow=True)
    assert b"Set your password" in response.content
    response = client.post(
        response.redirect_chain[-1][0],
        {"new_password1": "a-Long-passphrase-42", "new_password2": "a-Long-passphrase-42"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-Long-passphrase-42")
    assert b"expired or was already used" in client.get(path, follow=True).content


def test_save_and_begin_test_import_hands_the_post_to_the_integrations_start(
    admin_client, district
):
    settings = services.staff_settings_ensure(district=district)
    data = {
        "school_default_role": settings.school_default_role_id,
        "district_default_role": settings.district_default_role_id,
        "not_in_clever_role": settings.not_in_clever_role_id,
        "mode": "test",
        "begin_test": "1",
    }
    response = admin_client.post(reverse("staff:settings"), data)
    assert response.status_code == 307  # the same POST (mode=test, CSRF token) goes on
    assert response["Location"] == reverse("integrations:run_start", kwargs={"data_type": "staff"})
    assert staff_settings_saved(district=district)


def test_a_school_no_clever_school_is_left_for_says_not_in_clever(admin_client, district):
    matched = SchoolFactory(district=district, name="Matched")
    SchoolFactory(district=district, name="Aardvark Not In Clever")
    clever = CleverSchool.objects.create(district=district, clever_id="c1", name="Matched")
    SchoolMatch.objects.create(district=district, school=matched, clever_school=clever)
    page = admin_client.get(reverse("integrations:school_matches")).content.decode()
    assert page.count("Not in Clever") == 1


def test_a_bookmarked_results_filter_becomes_the_shared_one(admin_client, district):
    run = _run(district).pk
    response = admin_client.get(f"/staff/runs/{run}/", {"show": "created"})
    detail = reverse("integrations:run_detail", kwargs={"run_id": run})
    assert response["Location"] == f"{detail}?action=create"
    response = admin_client.get(f"/staff/runs/{run}/", {"show": "matched"})
    assert response["Location"] == detail
