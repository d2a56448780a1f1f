"""The configuration pages: gates, each error keeps what was typed, confirmations, locks."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations import config
from integrations.models import (
    CleverConnection,
    CodeDefinition,
    FieldMapping,
    NotificationRecipient,
    SchoolMatch,
    SyncSettings,
)
from integrations.schools import school_matches_accept_suggestions
from students import fields as sf
from tests.factories import DistrictAdminFactory, StudentFactory

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(f"integrations:{name}", kwargs=kwargs or None)


@pytest.fixture
def set_up(connected):
    """Connected and schools matched: the setup step is done."""
    school_matches_accept_suggestions(district=connected)
    return connected


# --- gates ---------------------------------------------------------------------------------------


def test_home_card_links_to_configure(admin_client):
    response = admin_client.get("/")
    assert url("configure") in response.content.decode()


def test_not_enabled_says_why(admin_client, district):
    district.clever_students_enabled = False
    district.save()
    home = admin_client.get("/").content.decode()
    assert "has not enabled the Clever integration" in home
    assert url("configure") not in home
    response = admin_client.get(url("configure"))
    assert response.status_code == 403
    assert "Naviance Support has not enabled" in response.content.decode()


def test_role_without_import_permission_is_refused(client, district):
    teacher = DistrictAdminFactory(
        district=district, role__name="Teacher", role__can_import_district_data=False
    )
    client.force_login(teacher)
    assert "does not have the permission" in client.get("/").content.decode()
    assert client.get(url("configure")).status_code == 403


def test_steps_are_greyed_until_setup_is_done(admin_client):
    page = admin_client.get(url("configure")).content.decode()
    assert page.count('class="disabled" aria-disabled="true"') == 2
    assert url("data_settings") not in page
    response = admin_client.get(url("fields", data_type="students"))
    assert response.status_code == 302 and response["Location"] == url("configure")


def test_steps_open_once_setup_is_done(admin_client, set_up):
    page = admin_client.get(url("configure")).content.decode()
    assert 'aria-disabled="true"' not in page
    assert url("data_settings") in page and url("notifications") in page


def test_unknown_data_type_is_404(admin_client, set_up):
    assert admin_client.get(url("fields", data_type="staff")).status_code == 404
    assert admin_client.get(url("fields", data_type="parents")).status_code == 404


# --- setup ----------------------------------------------------------------------------------------


def setup_post(client, **data):
    body = {"previous_integration": "none", **data}
    return client.post(url("setup_edit"), body)


def test_setup_connects_by_clever_district_id_alone_and_goes_to_school_matching(
    admin_client, district, clever_app, clever_ids, local_schools
):
    district_id, token, _ = clever_ids
    edit = admin_client.get(url("setup_edit")).content.decode()
    assert 'name="token"' not in edit and 'name="api_url"' not in edit
    response = setup_post(admin_client, clever_district_id=district_id)
    assert response.status_code == 302 and response["Location"] == url("school_matches")
    connection = CleverConnection.objects.get(district=district)
    assert connection.status == "connected" and connection.token_source == "clever"
    assert config.clever_credentials(district=district).token == token
    page = admin_client.get(url("setup")).content.decode()
    assert token not in page and token[-4:] not in page  # never shown, not even its end
    assert "Last refreshed" in page
    assert token not in admin_client.get(url("setup_edit")).content.decode()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong_id", "support has not confirmed this Clever district for your district"),
        ("not_shared", "does not share its data with this application"),
        ("no_students_scope", "Clever does not share students, school staff and district"),
        ("bad_app_credentials", "please contact support"),
        ("unreachable", "Clever could not be reached"),
    ],
)
def test_setup_errors_say_what_to_do_and_keep_what_was_typed(
    admin_client, district, clever_app, clever_simulator, clever_ids, settings, case, message
):
    district_id, _, _ = clever_ids
    typed_id = district_id
    if case == "wrong_id":
        typed_id = "5f0e0e0e0e0e0e0e0e0e0e0e"
    elif case == "not_shared":
        clever_simulator.dataset.unshare(district_id)
    elif case == "no_students_scope":
        clever_simulator.dataset.set_scopes(district_id, ["read:teachers", "read:user_id"])
    elif case == "bad_app_credentials":
        settings.CLEVER_CLIENT_SECRET = "not-the-secret"
    else:  # nothing listens on the discard port: connection refused
        settings.CLEVER_OAUTH_URL = "http://127.0.0.1:9"
    response = setup_post(
        admin_client, clever_district_id=typed_id, previous_integration="powerschool"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert f'value="{typed_id}"' in page
    assert re.search(r'value="powerschool"[^>]*checked', page)
    assert not CleverConnection.objects.filter(district=district).exists()


def test_setup_requires_the_district_id(admin_client):
    response = setup_post(admin_client, clever_district_id="")
    page = response.content.decode()
    assert "This field is required" in page
    assert 'aria-invalid="true"' in page and 'id="id_clever_district_id_error"' in page
    assert 'aria-describedby="id_clever_district_id_error' in page


def test_migrating_district_sees_the_student_id_warning(admin_client, connected):
    CleverConnection.objects.filter(district=connected).update(previous_integration="powerschool")
    school_matches_accept_suggestions(district=connected)
    for name, kwargs in (("setup", {}), ("fields", {"data_type": "students"})):
        page = admin_client.get(url(name, **kwargs)).content.decode()
        assert "Your student data will be scrambled" in page
        assert "take screenshots of the Matching fields page" in page


def test_reset_needs_confirmation_and_keeps_data(admin_client, set_up):
    SyncSettings.objects.create(district=set_up, data_type="students", enabled=True)
    student = StudentFactory(district=set_up)
    response = admin_client.post(url("setup_reset"), {})
    assert "Tick the box to confirm" in response.content.decode()
    assert SyncSettings.objects.get(district=set_up).enabled
    response = admin_client.post(url("setup_reset"), {"confirm": "on"})
    assert response.status_code == 302
    assert not SyncSettings.objects.get(district=set_up).enabled
    assert CleverConnection.objects.get(district=set_up).status == "reset"
    assert SchoolMatch.objects.filter(district=set_up).exists()
    student.refresh_from_db()


# --- school matches ---------------------------------------------------------------------------------


def test_school_matches_page_suggests_and_saves(admin_client, connected, local_schools, clever_ids):
    _, _, schools = clever_ids
    page = admin_client.get(url("school_matches")).content.decode()
    online = local_schools[2]
    # Unmatched (here: not yet saved) schools come first; the online academy has no suggestion.
    assert page.index("Maple Valley Online Academy") < page.index("Old Name For First")
    assert "Suggested by NCES ID." in page and "Suggested by school name." in page
    data = {f"school_{s.pk}": "" for s in local_schools}
    data[f"school_{local_schools[0].pk}"] = schools[0]["id"]
    data[f"school_{local_schools[1].pk}"] = schools[1]["id"]
    response = admin_client.post(url("school_matches"), {**data, "action": "close"})
    assert response.status_code == 302 and response["Location"] == url("configure")
    assert SchoolMatch.objects.filter(district=connected, clever_school__isnull=False).count() == 2
    assert not SchoolMatch.objects.filter(school=online).exists()


def test_save_and_close_on_school_matches_never_leads_a_staff_only_district_to_a_refusal(
    admin_client, connected, local_schools, clever_ids
):
    """The seam of the merged pages: the school matches are shared by both data types, and a
    district that syncs staff only was sent to the student configuration, a 403."""
    _, _, schools = clever_ids
    type(connected).objects.filter(pk=connected.pk).update(
        clever_students_enabled=False, clever_staff_enabled=True
    )
    data = {f"school_{s.pk}": "" for s in local_schools}
    data[f"school_{local_schools[0].pk}"] = schools[0]["id"]
    response = admin_client.post(url("school_matches"), {**data, "action": "close"})
    assert response.status_code == 302
    assert admin_client.get(response["Location"]).status_code == 200
    assert response["Location"] == url("imports", data_type="staff")


def test_one_clever_school_for_two_local_schools_is_refused(
    admin_client, connected, local_schools, clever_ids
):
    _, _, schools = clever_ids
    data = {f"school_{s.pk}": schools[2]["id"] for s in local_schools[:2]}
    data[f"school_{local_schools[2].pk}"] = ""
    response = admin_client.post(url("school_matches"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "a Clever school can match only one local school" in page
    # What was chosen is kept.
    assert page.count(f'value="{schools[2]["id"]}" selected') == 2
    assert not SchoolMatch.objects.filter(district=connected).exists()


def test_locked_match_is_shown_and_cannot_change(admin_client, set_up, local_schools, clever_ids):
    _, _, schools = clever_ids
    first = local_schools[0]
    SchoolMatch.objects.filter(school=first).update(locked_at=timezone.now())
    page = admin_client.get(url("school_matches")).content.decode()
    assert "Locked: an import already brought this school" in page
    assert "disabled" in page.split(f'name="school_{first.pk}"')[1][:80]
    data = {f"school_{s.pk}": "" for s in local_schools}
    data[f"school_{first.pk}"] = schools[2]["id"]  # a forged change of a disabled field
    admin_client.post(url("school_matches"), data)
    assert SchoolMatch.objects.get(school=first).clever_school.clever_id == schools[0]["id"]


# --- fields ----------------------------------------------------------------------------------------


def fields_post(client, mapping, **extra):
    data = {f"map_{k}": v for k, v in mapping.items()}
    return client.post(url("fields", data_type="students"), {**data, **extra})


def test_fields_page_prefills_suggestions_and_lists_ext_fields(admin_client, set_up):
    page = admin_client.get(url("fields", data_type="students")).content.decode()
    assert "not saved yet" in page
    assert "roles.student.ext.gpa_weighted" in page
    assert '<option value="roles.student.sis_id" selected>' in page
    assert f'<option value="{sf.CLASS_YEAR_FROM_GRADE}" selected>Class year based on grade' in page
    assert "Do Not Import" in page


def test_fields_next_saves_and_goes_to_codes(admin_client, set_up):
    mapping = sf.suggest_mapping(
        config.available_clever_fields(district=set_up, data_type="students").fields
    )
    response = fields_post(admin_client, mapping, action="next")
    assert response.status_code == 302
    assert response["Location"] == url("codes", data_type="students")
    assert FieldMapping.objects.filter(district=set_up).count() == len(sf.STUDENT_FIELDS)


def test_required_field_left_out_keeps_the_other_choices(admin_client, set_up):
    mapping = {**sf.suggest_mapping([]), "last_name": "", "gender": "roles.student.gender"}
    response = fields_post(admin_client, mapping)
    page = response.content.decode()
    assert "Last name is required" in page
    assert '<option value="roles.student.gender" selected>' in page
    assert not FieldMapping.objects.filter(district=set_up).exists()


def test_student_id_change_needs_the_confirmation_box(admin_client, set_up):
    mapping = sf.suggest_mapping(["roles.student.grade"])
    config.field_mappings_save(district=set_up, data_type="students", mapping=mapping)
    StudentFactory(district=set_up)
    changed = {**mapping, "student_id": "roles.student.state_id"}
    page = fields_post(admin_client, changed).content.decode()
    assert "re-matched" in page
    assert '<option value="roles.student.state_id" selected>' in page
    assert FieldMapping.objects.get(district=set_up, local_field="student_id").clever_field == (
        "roles.student.sis_id"
    )
    response = fields_post(admin_client, changed, confirm_link_change="on")
    assert response.status_code == 302
    assert FieldMapping.objects.get(district=set_up, local_field="student_id").clever_field == (
        "roles.student.state_id"
    )


# --- codes ---------------------------------------------------------------------------------------


def test_codes_list_the_grades_found_with_defaults(admin_client, set_up):
    config.field_mappings_save(
        district=set_up, data_type="students", mapping=sf.suggest_mapping(["roles.student.grade"])
    )
    response = admin_client.get(url("codes", data_type="students"))
    page = response.content.decode()
    assert "Kindergarten" in page and "PreKindergarten" in page
    year_end = config.district_school_year_end(set_up)
    sections = {s["field"].name: s for s in response.context["sections"]}
    assert sections["class_year"]["initial"]["12"] == str(year_end)
    assert sections["class_year"]["initial"]["Kindergarten"] == str(year_end + 12)
    assert sections["grade"]["initial"]["Kindergarten"] == "K"
    data = {}
    for name, section in sections.items():
        for i, (value, _) in enumerate(section["rows"]):
            data[f"code_{name}_{i}"] = section["initial"][value]
    response = admin_client.post(url("codes", data_type="students"), {**data, "action": "next"})
    assert response["Location"] == url("sync_settings", data_type="students")
    # Stored relative to the school year ("graduates 1 year after this one"), shown as the year.
    assert (
        CodeDefinition.objects.get(
            district=set_up, local_field="class_year", clever_value="11"
        ).local_code
        == "+1"
    )
    assert config.saved_codes(district=set_up, data_type="students")["class_year"]["11"] == str(
        year_end + 1
    )


def test_codes_refuse_a_forged_code(admin_client, set_up):
    config.field_mappings_save(
        district=set_up, data_type="students", mapping=sf.suggest_mapping(["roles.student.grade"])
    )
    response = admin_client.post(url("codes", data_type="students"), {"code_grade_0": "NINE"})
    first = response.context["sections"][0]["rows"][0][0]
    label = config.clever_value_label(first)
    assert (
        f"Grade {label}: “NINE” is not a grade code"
        in response.context["form"].errors["code_grade_0"][0]
    )
    assert not CodeDefinition.objects.exists()


# --- sync settings and summary ------------------------------------------------------------------------


def test_sync_settings_specify_schools_needs_a_school(admin_client, set_up):
    response = admin_client.post(
        url("sync_settings", data_type="students"),
        {
            "scope": "specific",
            "frequency": "weekly",
            "import_rule": "create_only",
            "threshold_pct": "7",
        },
    )
    page = response.content.decode()
    assert "Choose at least one school" in page
    assert 'value="weekly" selected' in page and 'value="7"' in page


def test_sync_settings_next_goes_to_summary(admin_client, set_up, local_schools):
    response = admin_client.post(
        url("sync_settings", data_type="students"),
        {
            "scope": "specific",
            "schools": [str(local_schools[0].pk)],
            "frequency": "6h",
            "import_rule": "create_update",
            "threshold_pct": "10",
            "action": "next",
        },
    )
    assert response["Location"] == url("summary", data_type="students")
    row = SyncSettings.objects.get(district=set_up)
    assert list(row.schools.all()) == [local_schools[0]] and row.frequency == "6h"


def test_summary_lists_missing_steps(admin_client, set_up):
    page = admin_client.get(url("summary", data_type="students")).content.decode()
    assert "Review and save the field matches." in page
    assert "Test Import" in page and "Start Import" in page


def test_summary_buttons_follow_the_engine(admin_client, set_up, monkeypatch):
    from django.urls import NoReverseMatch

    import integrations.views_setup as views

    real = views.reverse

    def no_engine(name, *args, **kwargs):
        if name == views.RUN_START_URL:
            raise NoReverseMatch(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(views, "reverse", no_engine)
    page = admin_client.get(url("summary", data_type="students")).content.decode()
    assert "Imports become available when the sync engine is installed" in page
    assert 'name="mode"' not in page


def test_summary_posts_to_run_start_when_ready(admin_client, set_up):
    mapping = sf.suggest_mapping(["roles.student.grade"])
    config.field_mappings_save(district=set_up, data_type="students", mapping=mapping)
    config.codes_save(
        district=set_up,
        data_type="students",
        codes={"grade": {"9": "9"}, "class_year": {"9": "2030"}},
    )
    config.sync_settings_save(
        district=set_up,
        data_type="students",
        scope="all",
        frequency="daily",
        import_rule="create_update",
        threshold_pct=10,
    )
    page = admin_client.get(url("summary", data_type="students")).content.decode()
    try:
        start = reverse("integrations:run_start", kwargs={"data_type": "students"})
    except Exception:  # noqa: BLE001 - the engine's view is installed separately
        assert "Imports become available when the sync engine is installed" in page
        return
    assert f'action="{start}"' in page
    assert 'name="mode" value="test"' in page and 'name="mode" value="import"' in page


# --- notifications ---------------------------------------------------------------------------------


def test_recipients_errors_name_the_bad_address_and_keep_the_text(admin_client, set_up):
    typed = "ok@example.org, nope@, also-ok@example.org"
    response = admin_client.post(
        url("notifications_edit", data_type="students"), {"recipients": typed}
    )
    page = response.content.decode()
    assert "“nope@” is not a valid email address." in page
    assert typed in page
    assert not NotificationRecipient.objects.exists()


def test_recipients_save_and_remove(admin_client, set_up):
    response = admin_client.post(
        url("notifications_edit", data_type="students"),
        {"recipients": "a@example.org, b@example.org", "action": "next"},
    )
    assert response["Location"] == url("notifications")
    page = admin_client.get(url("notifications")).content.decode()
    assert "a@example.org" in page and "b@example.org" in page
    # Issue 16 item 10: "Add Email Recipients" adds; what is listed stays.
    response = admin_client.post(
        url("notifications_edit", data_type="students"),
        {"recipients": "c@example.org, A@example.org", "action": "save"},
        follow=True,
    )
    page = response.content.decode()
    assert "Added c@example.org" in page and "Already receiving" in page
    assert sorted(NotificationRecipient.objects.values_list("email", flat=True)) == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
    ]
    assert 'name="recipients"' in page and "c@example.org, A@example.org" not in page
    recipient = NotificationRecipient.objects.get(email="a@example.org")
    assert admin_client.get(url("recipient_delete", recipient_id=recipient.pk)).status_code == 405
    response = admin_client.post(
        url("recipient_delete", recipient_id=recipient.pk), {"back": "edit"}
    )
    assert response["Location"] == url("notifications_edit", data_type="students")
    assert sorted(NotificationRecipient.objects.values_list("email", flat=True)) == [
        "b@example.org",
        "c@example.org",
    ]


def test_warn_unsaved_on_every_form(admin_client, set_up):
    for name, kwargs in (
        ("setup_edit", {}),
        ("school_matches", {}),
        ("fields", {"data_type": "students"}),
        ("codes", {"data_type": "students"}),
        ("sync_settings", {"data_type": "students"}),
        ("notifications_edit", {"data_type": "students"}),
    ):
        assert "data-warn-unsaved" in admin_client.get(url(name, **kwargs)).content.decode(), name
