"""integrations.config / integrations.schools / integrations.crypto services, against the simulator."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integrations import config
from integrations.clever import CleverAuthError, CleverNotFoundError
from integrations.crypto import decrypt_token, encrypt_token
from integrations.models import (
    CleverConnection,
    CleverSchool,
    CodeDefinition,
    FieldMapping,
    NotificationRecipient,
    SchoolMatch,
    SyncSettings,
)
from integrations.schools import (
    SchoolMatchError,
    school_match_rows,
    school_matches_accept_suggestions,
    school_matches_save,
)
from naviance_sync.models import AuditEvent
from students import fields as sf
from tests.factories import SchoolFactory, StudentFactory

pytestmark = pytest.mark.django_db


# --- crypto ---------------------------------------------------------------------------------------


def test_token_round_trip_and_key_rotation(settings):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    stored = encrypt_token("secret-token-1234")
    assert "secret-token" not in stored
    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # rotation: the old key still decrypts
    assert decrypt_token(stored) == "secret-token-1234"
    settings.FIELD_ENCRYPTION_KEYS = [new]
    from integrations.crypto import TokenDecryptError

    with pytest.raises(TokenDecryptError):
        decrypt_token(stored)


def test_derived_key_when_no_keys_configured(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    assert decrypt_token(encrypt_token("abc")) == "abc"


# --- connection -------------------------------------------------------------------------------------


def test_connect_launches_the_integration(connected, clever_ids, caplog):
    district_id, token, schools = clever_ids
    connection = CleverConnection.objects.get(district=connected)
    assert connection.status == CleverConnection.Status.CONNECTED
    assert connection.clever_district_id == district_id
    assert connection.token_last4 == token[-4:]
    assert token not in connection.token_encrypted
    assert config.clever_credentials(district=connected).token == token
    assert set(CleverSchool.objects.filter(district=connected).values_list("name", flat=True)) == {
        s["name"] for s in schools
    }
    events = AuditEvent.objects.filter(district=connected, action="clever.connection.saved")
    assert {e.field for e in events} >= {"clever_district_id", "token", "status"}
    assert all(token not in (e.new_value + e.old_value) for e in events)
    assert all(token not in r.getMessage() for r in caplog.records)


def test_wrong_district_id_saves_nothing(district, clever_simulator, clever_ids):
    _, token, _ = clever_ids
    # Support confirmed an id Clever does not know: Clever's answer says so.
    type(district).objects.filter(pk=district.pk).update(
        confirmed_clever_district_id="000000000000000000000000"
    )
    with pytest.raises(CleverNotFoundError) as info:
        config.connection_connect(
            district=district,
            clever_district_id="000000000000000000000000",
            token=token,
            api_url=clever_simulator.url,
        )
    assert "district id is wrong or data sharing" in info.value.admin_message
    assert not CleverConnection.objects.filter(district=district).exists()


def test_revoked_token_is_an_auth_error(district, clever_simulator, clever_ids):
    district_id, token, _ = clever_ids
    clever_simulator.faults.revoke_token_after = 0
    with pytest.raises(CleverAuthError) as info:
        config.connection_connect(
            district=district,
            clever_district_id=district_id,
            token=token,
            api_url=clever_simulator.url,
        )
    assert "revoked" in info.value.admin_message


def test_blank_token_keeps_the_stored_one(connected, clever_ids, clever_simulator):
    district_id, token, _ = clever_ids
    config.connection_connect(
        district=connected, clever_district_id=district_id, token="", api_url=clever_simulator.url
    )
    assert config.clever_credentials(district=connected).token == token


def test_reset_disables_sync_and_keeps_data(connected, admin_user):
    student = StudentFactory(district=connected)
    SyncSettings.objects.create(district=connected, data_type="students", enabled=True)
    school_matches_accept_suggestions(district=connected)
    matches = SchoolMatch.objects.filter(district=connected).count()
    config.connection_reset(district=connected, actor=admin_user)
    assert not SyncSettings.objects.get(district=connected).enabled
    assert CleverConnection.objects.get(district=connected).status == "reset"
    assert SchoolMatch.objects.filter(district=connected).count() == matches
    student.refresh_from_db()
    assert AuditEvent.objects.filter(action="clever.connection.reset", actor=admin_user).exists()
    assert AuditEvent.objects.filter(action="clever.sync.disabled").exists()
    assert not config.setup_done(district=connected)


# --- school matches ---------------------------------------------------------------------------------


def test_school_suggestions_nces_then_name_and_unmatched_first(
    connected, local_schools, clever_ids
):
    _, _, schools = clever_ids
    rows = school_match_rows(district=connected)
    by_school = {r.school.pk: r for r in rows}
    first, second, online = local_schools
    assert by_school[first.pk].suggested.clever_id == schools[0]["id"]
    assert by_school[first.pk].suggested.method == "nces"
    assert by_school[second.pk].suggested.clever_id == schools[1]["id"]
    assert by_school[second.pk].suggested.method == "name"
    assert by_school[online.pk].suggested is None
    school_matches_accept_suggestions(district=connected)
    rows = school_match_rows(district=connected)
    assert rows[0].school == online  # unmatched first
    assert SchoolMatch.objects.get(school=first).method == "nces"


def test_a_clever_school_matches_one_local_school(connected, local_schools, clever_ids):
    _, _, schools = clever_ids
    first, second, _ = local_schools
    with pytest.raises(SchoolMatchError) as info:
        school_matches_save(
            district=connected,
            choices={first.pk: schools[2]["id"], second.pk: schools[2]["id"]},
        )
    assert "can match only one local school" in info.value.errors[first.pk]
    assert not SchoolMatch.objects.filter(district=connected).exists()


def test_swapping_two_matches_works(connected, local_schools, clever_ids):
    _, _, schools = clever_ids
    first, second, _ = local_schools
    school_matches_save(
        district=connected, choices={first.pk: schools[0]["id"], second.pk: schools[1]["id"]}
    )
    school_matches_save(
        district=connected, choices={first.pk: schools[1]["id"], second.pk: schools[0]["id"]}
    )
    assert SchoolMatch.objects.get(school=first).clever_school.clever_id == schools[1]["id"]


def test_locked_match_cannot_change(connected, local_schools, clever_ids):
    _, _, schools = clever_ids
    first = local_schools[0]
    school_matches_save(district=connected, choices={first.pk: schools[0]["id"]})
    SchoolMatch.objects.filter(school=first).update(locked_at=timezone.now())
    with pytest.raises(SchoolMatchError) as info:
        school_matches_save(district=connected, choices={first.pk: schools[2]["id"]})
    assert "locked" in info.value.errors[first.pk]
    # Saving the same value is fine.
    school_matches_save(district=connected, choices={first.pk: schools[0]["id"]})


def test_another_districts_school_is_refused(connected, other_district):
    stranger = SchoolFactory(district=other_district)
    with pytest.raises(SchoolMatchError):
        school_matches_save(district=connected, choices={stranger.pk: ""})


# --- fields ----------------------------------------------------------------------------------------


def test_available_fields_include_ext(connected):
    sample = config.available_clever_fields(district=connected, data_type="students")
    assert not sample.error and sample.records > 0
    assert "roles.student.sis_id" in sample.fields
    assert any(".ext." in f for f in sample.fields)


def test_required_fields_cannot_be_left_out(connected):
    mapping = sf.suggest_mapping([])
    mapping["student_id"] = ""
    with pytest.raises(config.ConfigError) as info:
        config.field_mappings_save(district=connected, data_type="students", mapping=mapping)
    assert "Student ID is required" in info.value.errors["student_id"]


def test_clever_id_and_school_cannot_be_changed(connected):
    mapping = {**sf.suggest_mapping([]), "clever_id": "roles.student.sis_id", "school": "x"}
    saved = config.field_mappings_save(district=connected, data_type="students", mapping=mapping)
    assert saved["clever_id"] == "id" and saved["school"] == "roles.student.school"


def test_class_year_from_grade_is_only_for_class_year(connected):
    mapping = {**sf.suggest_mapping([]), "grade": sf.CLASS_YEAR_FROM_GRADE}
    with pytest.raises(config.ConfigError) as info:
        config.field_mappings_save(district=connected, data_type="students", mapping=mapping)
    assert "grade" in info.value.errors


def test_changing_student_id_after_students_exist_needs_confirmation(connected, admin_user):
    mapping = sf.suggest_mapping(["roles.student.grade"])
    config.field_mappings_save(district=connected, data_type="students", mapping=mapping)
    StudentFactory(district=connected)
    changed = {**mapping, "student_id": "roles.student.state_id"}
    with pytest.raises(config.ConfirmationRequired) as info:
        config.field_mappings_save(district=connected, data_type="students", mapping=changed)
    assert "re-matched" in info.value.message
    assert FieldMapping.objects.get(local_field="student_id").clever_field == "roles.student.sis_id"
    config.field_mappings_save(
        district=connected,
        actor=admin_user,
        data_type="students",
        mapping=changed,
        confirm_link_change=True,
    )
    assert (
        FieldMapping.objects.get(local_field="student_id").clever_field == "roles.student.state_id"
    )
    event = AuditEvent.objects.get(field="student_id", actor=admin_user)
    assert (event.old_value, event.new_value, event.actor) == (
        "roles.student.sis_id",
        "roles.student.state_id",
        admin_user,
    )


def test_changing_student_id_without_students_needs_no_confirmation(connected):
    mapping = sf.suggest_mapping([])
    config.field_mappings_save(district=connected, data_type="students", mapping=mapping)
    config.field_mappings_save(
        district=connected,
        data_type="students",
        mapping={**mapping, "student_id": "roles.student.state_id"},
    )


def test_integration_config_resolves_class_year_from_grade(connected):
    mapping = sf.suggest_mapping(["roles.student.grade"])
    config.field_mappings_save(district=connected, data_type="students", mapping=mapping)
    config.codes_save(
        district=connected,
        data_type="students",
        codes={"class_year": {"12": "2027", "Other": ""}, "grade": {"12": "12"}},
    )
    cfg = config.integration_config(district=connected, data_type="students")
    assert cfg.mapping_choices["class_year"] == sf.CLASS_YEAR_FROM_GRADE
    assert cfg.mapping["class_year"] == "roles.student.grade"
    assert cfg.mapping["clever_id"] == "id"
    assert cfg.codes == {"class_year": {"12": "2027"}, "grade": {"12": "12"}}  # unmapped left out
    assert cfg.class_year_from_grade and cfg.connected
    assert cfg.scope_school_ids is None


# --- codes ----------------------------------------------------------------------------------------


def test_clever_values_scan_the_whole_district(connected, clever_simulator):
    found, error = config.clever_values(
        district=connected, data_type="students", paths=["roles.student.grade"]
    )
    assert not error
    expected = {
        u["roles"]["student"]["grade"]
        for u in clever_simulator.dataset.records(
            "users", clever_simulator.dataset.district_ids()[0]
        )
        if "student" in u.get("roles", {})
    }
    assert set(found["roles.student.grade"]) == expected


def test_codes_refuse_unknown_local_codes(connected):
    with pytest.raises(config.ConfigError):
        config.codes_save(
            district=connected,
            data_type="students",
            codes={"grade": {"9": "NINE"}},
            allowed={"grade": ["9"]},
        )
    with pytest.raises(config.ConfigError):
        config.codes_save(district=connected, data_type="students", codes={"gender": {"M": "M"}})
    assert not CodeDefinition.objects.exists()


# --- sync settings and recipients ---------------------------------------------------------------


def test_sync_settings_specific_schools_must_be_matched(connected, local_schools):
    school_matches_accept_suggestions(district=connected)
    online = local_schools[2]
    with pytest.raises(config.ConfigError) as info:
        config.sync_settings_save(
            district=connected,
            data_type="students",
            scope="specific",
            school_ids=[online.pk],
            frequency="daily",
            import_rule="create_update",
            threshold_pct=10,
        )
    assert "matched" in info.value.errors["schools"]
    with pytest.raises(config.ConfigError) as info:
        config.sync_settings_save(
            district=connected,
            data_type="students",
            scope="all",
            frequency="hourly",
            import_rule="nope",
            threshold_pct=0,
        )
    assert set(info.value.errors) == {"frequency", "import_rule", "threshold_pct"}
    row = config.sync_settings_save(
        district=connected,
        data_type="students",
        scope="specific",
        school_ids=[local_schools[0].pk],
        frequency="12h",
        import_rule="update_only",
        threshold_pct="5.5",
    )
    cfg = config.integration_config(district=connected, data_type="students")
    assert cfg.scope_school_ids == frozenset({local_schools[0].pk})
    assert cfg.import_rule == "update_only" and cfg.threshold_pct == 5.5
    assert row.frequency == "12h"


def test_parse_recipients_names_each_bad_address():
    emails, errors = config.parse_recipients(
        "a@example.org, B@Example.ORG,, not-an-email, b@example.org ; c@x"
    )
    assert emails == ["a@example.org", "B@example.org"]
    assert errors == [
        "“not-an-email” is not a valid email address.",
        "“c@x” is not a valid email address.",
    ]


def test_recipients_add_adds_to_the_list_and_audits(district, admin_user):
    config.recipients_add(
        district=district,
        actor=admin_user,
        data_type="students",
        text="a@example.org, b@example.org",
    )
    result = config.recipients_add(
        district=district,
        actor=admin_user,
        data_type="students",
        text="B@example.org, c@example.org",
    )
    # "Add Email Recipients" adds: the first two stay, b is not added twice (any case).
    assert set(NotificationRecipient.objects.values_list("email", flat=True)) == {
        "a@example.org",
        "b@example.org",
        "c@example.org",
    }
    assert result.added == ["c@example.org"] and result.already == ["B@example.org"]
    assert AuditEvent.objects.filter(action="clever.students.recipients.added").count() == 2
    with pytest.raises(config.ConfigError, match="bad@"):
        config.recipients_add(district=district, data_type="students", text="ok@x.org, bad@")
    assert not NotificationRecipient.objects.filter(email="ok@x.org").exists()
    with pytest.raises(config.ConfigError, match="Enter the email address"):
        config.recipients_add(district=district, data_type="students", text=" , ")


# --- steps ----------------------------------------------------------------------------------------


def test_configuration_steps_say_what_is_missing(connected):
    steps = {s.key: s for s in config.configuration_steps(district=connected)}
    assert steps["connection"].done and not steps["schools"].done
    assert not config.ready_to_import(list(steps.values()))
    school_matches_accept_suggestions(district=connected)
    mapping = sf.suggest_mapping(["roles.student.grade"])
    config.field_mappings_save(district=connected, data_type="students", mapping=mapping)
    steps = {s.key: s for s in config.configuration_steps(district=connected)}
    assert steps["schools"].done and "1 school without" in steps["schools"].missing[0]
    assert not steps["codes"].done
    config.codes_save(
        district=connected,
        data_type="students",
        codes={"grade": {"9": "9"}, "class_year": {"9": "2030", "Other": ""}},
    )
    config.sync_settings_save(
        district=connected,
        data_type="students",
        scope="all",
        frequency="daily",
        import_rule="create_update",
        threshold_pct=10,
    )
    steps = config.configuration_steps(district=connected)
    assert config.ready_to_import(steps)
    by_key = {s.key: s for s in steps}
    assert "1 class year value without a code" in by_key["codes"].missing[0]
    assert not by_key["notifications"].done and not by_key["notifications"].required


def test_school_year_end():
    assert config.school_year_end(dt.date(2026, 11, 25)) == 2027
    assert config.school_year_end(dt.date(2027, 5, 1)) == 2027
    assert config.school_year_end(dt.date(2027, 7, 1)) == 2028
