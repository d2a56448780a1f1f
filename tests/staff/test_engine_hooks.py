"""The engine's optional spec hooks with the staff spec, pure (no database, no Clever).

Several matching keys (last name + email, or employee ID), their names in messages, never-linked
accounts reported Inactive, sections giving school access, reasons per result row.
"""

from __future__ import annotations

import dataclasses

from integrations.engine.matching import build_index, may_need_review, plan_records
from naviance_sync.sync_contract import SyncConfig
from staff.sync import EXTRA_FIELDS, FIELDS, KEEP, SPEC
from staff.sync_roles import StaffConfig

SCHOOL, OTHER = 7, 8


def config(**extra) -> SyncConfig:
    return SyncConfig(
        district_id=1,
        clever_district_id="d1",
        data_type="staff",
        mapping={},
        codes={},
        school_matches={"cs7": SCHOOL, "cs8": OTHER},
        extra={"staff": StaffConfig(**extra)},
    )


def clever(uid, *, last="Lopez", email="ana.lopez@mv.k12.us", staff_id="E1", schools=("cs7",)):
    return {
        "id": uid,
        "district": "d1",
        "email": email,
        "name": {"first": "Ana", "middle": "", "last": last},
        "roles": {"staff": {"staff_id": staff_id, "title": "Counselor", "schools": list(schools)}},
    }


def local(pk, *, clever_id=None, last="Lopez", email="", employee_id="", inactive=None):
    row = dict.fromkeys(FIELDS, "")
    row.update(
        first_name="Ana",
        last_name=last,
        email=email,
        employee_id=employee_id,
        account_type="school",
        role_id=None,
        job_function_id=None,
        on_teacher_list=False,
        on_counselor_list=False,
        zone_id=None,
    )
    values = tuple(row[f] for f in FIELDS) + (None,) * len(EXTRA_FIELDS)
    return (pk, clever_id, inactive, pk, *values)


def plan(raws, locals_, cfg=None):
    cfg = cfg or config()
    mapped = [SPEC.map_record(raw, cfg) for raw in raws]
    records = [m for m in mapped if hasattr(m, "values")]
    errors = [m for m in mapped if not hasattr(m, "values")]
    return plan_records(SPEC, cfg, records, errors, build_index(SPEC, locals_))


def test_either_key_matches_and_the_reason_says_which():
    by_email = plan([clever("c1")], [local(1, last=" LOPEZ ", email="Ana.Lopez@MV.k12.us ")])
    assert [u[0] for u in by_email.updates] == [1]
    assert by_email.reasons[("match", 1)] == "In both: matched by last name and email."
    by_id = plan([clever("c1")], [local(1, email="home@example.com", employee_id=" e1 ")])
    assert [u[0] for u in by_id.updates] == [1]
    assert by_id.reasons[("match", 1)] == "In both: matched by employee ID."
    both = plan([clever("c1")], [local(1, email="ana.lopez@mv.k12.us", employee_id="E1")])
    assert both.reasons[("match", 1)].endswith("and by employee ID.")


def test_keys_pointing_at_two_accounts_are_an_alert_never_a_merge():
    result = plan(
        [clever("c1")],
        [local(1, email="ana.lopez@mv.k12.us"), local(2, email="x@y.org", employee_id="E1")],
    )
    assert not result.updates and not result.creates
    (alert,) = result.alerts
    assert set(alert[2]) == {1, 2}
    assert "2 local records have this last name and email, or employee ID" in alert[3]
    assert not result.inactivations  # both candidates are protected


def test_two_clever_records_with_one_employee_id_are_errors_named_by_the_key():
    result = plan(
        [clever("c1", email="a@mv.k12.us"), clever("c2", last="Diaz", email="b@mv.k12.us")], []
    )
    assert [e.code for e in result.errors] == ["duplicate_link_id"] * 2
    assert "2 Clever records have the same employee ID" in result.errors[0].message


def test_never_linked_accounts_not_in_clever_are_inactive_unless_a_clever_record_has_their_key():
    result = plan(
        [
            clever("c1"),
            # Two Clever records sharing an email: errors, so the account with that email is
            # not "not in Clever".
            clever("c2", last="Kim", email="kim@mv.k12.us", staff_id="E2"),
            clever("c3", last="Kim", email="kim@mv.k12.us", staff_id="E3"),
        ],
        [
            local(1, email="ana.lopez@mv.k12.us"),
            local(2, last="Nobody", email="nobody@mv.k12.us"),
            local(3, last="Kim", email="kim@mv.k12.us"),
            local(4, last="Gone", email="gone@mv.k12.us", inactive="2025-01-01"),
        ],
    )
    assert [pk for pk, _cid, _name in result.inactivations] == [2]
    assert result.inactivations[0][1] == ""
    assert "In the product but not in Clever" in result.reasons[("inactivate", 2)]


def test_not_in_clever_role_goes_only_to_accounts_clever_never_had_and_is_logged():
    from django.db.models import F

    cfg = config(not_in_clever_role_id=42)
    unlinked = SPEC.inactive_values("now", config=cfg, linked=False)
    assert unlinked == {
        "inactive_since": "now",
        "role_id": 42,
        "role_source": "not_in_clever",
        "replaced_role_id": F("role_id"),
        "replaced_role_source": F("role_source"),
    }
    # Who Clever had and who left is deactivated and keeps the role; sessions end.
    linked = SPEC.inactive_values("now", config=cfg, linked=True)
    assert linked["is_active"] is False and "role_id" not in linked
    assert linked["session_generation"] == F("session_generation") + 1
    result = plan(
        [clever("c1")],
        [local(1, email="ana.lopez@mv.k12.us"), local(2, last="Nobody", email="n@mv.k12.us")],
        cfg,
    )
    assert result.inactivation_changes == {
        2: (("role_id", None, 42), ("role_source", "", "not_in_clever"))
    }


def test_a_returning_person_gets_back_the_role_the_not_in_clever_rule_replaced():
    row = local(1, email="ana.lopez@mv.k12.us", inactive="2025-01-01")
    values = list(row)
    offset = 4
    values[offset + FIELDS.index("role_id")] = 42
    values[offset + FIELDS.index("role_source")] = "not_in_clever"
    values[offset + FIELDS.index("replaced_role_id")] = 7
    values[offset + FIELDS.index("replaced_role_source")] = "keyword"
    result = plan([clever("c1")], [tuple(values)], config(not_in_clever_role_id=42))
    ((pk, _cid, _name, changes, restore),) = result.updates
    assert pk == 1 and restore
    assert ("role_id", 42, 7) in changes and ("role_source", "not_in_clever", "keyword") in changes


def test_errors_protect_the_account_their_keys_would_match():
    result = plan(
        [clever("c1"), clever("c2", last="Fox", email="fox@mv.k12.us", staff_id="E9", schools=())],
        [local(1, email="ana.lopez@mv.k12.us"), local(2, last="Kim", employee_id="E9")],
    )
    (error,) = result.errors
    assert error.code == "unknown_school" and error.link_keys == (
        "le:fox|fox@mv.k12.us",
        "id:e9",
    )
    assert result.inactivations == []


def test_a_record_at_two_schools_imports_both():
    result = plan([clever("c1", schools=("cs7", "cs8"))], [])
    assert result.schools_imported == frozenset({SCHOOL, OTHER})


def test_sections_add_section_schools_to_teachers_only():
    cfg = config()
    extra = SPEC.add_sections(
        dict(cfg.extra), [{"school": "cs8", "teacher": "t1", "teachers": ["t1"]}]
    )
    cfg = dataclasses.replace(cfg, extra=extra)
    teacher = {
        "id": "t1",
        "district": "d1",
        "email": "t@mv.k12.us",
        "name": {"first": "Tim", "last": "Ng"},
        "roles": {"teacher": {"teacher_number": "T1", "school": "cs7", "schools": ["cs7"]}},
    }
    mapped = SPEC.map_record(teacher, cfg)
    access = mapped.values[-1]
    assert {(school, source) for school, _name, source in access} == {
        (SCHOOL, "clever_school"),
        (OTHER, "clever_section"),
    }
    staff = SPEC.map_record(clever("t1"), cfg)  # same id, staff role: sections do not count
    assert {school for school, _n, _s in staff.values[-1]} == {SCHOOL}


def test_may_need_review_looks_at_every_key():
    index = build_index(SPEC, [local(1, email="home@example.com", employee_id="E1")])
    mapped = SPEC.map_record(clever("c1"), config())
    assert may_need_review(SPEC, index, mapped)


def test_district_admin_matches_by_last_name_and_email_only():
    admin = {
        "id": "a1",
        "district": "d1",
        "email": "boss@mv.k12.us",
        "name": {"first": "Bo", "last": "Sims"},
        "roles": {"district_admin": {"title": "Superintendent"}},
    }
    mapped = SPEC.map_record(admin, config())
    assert mapped.values[FIELDS.index("employee_id")] is KEEP
    assert SPEC.link_keys(mapped.values) == ("le:sims|boss@mv.k12.us",)
    result = plan([admin], [local(1, last="Sims", email="BOSS@mv.k12.us")])
    assert [u[0] for u in result.updates] == [1]
    assert result.schools_imported == frozenset()


def test_a_field_clever_does_not_validate_is_a_warning_not_an_error():
    raw = clever("c1", email="first_last.example.org")
    raw["roles"]["staff"]["title"] = "T" * 201
    mapped = SPEC.map_record(raw, config())
    assert hasattr(mapped, "values"), mapped
    assert mapped.values[FIELDS.index("email")] is KEEP
    assert mapped.values[FIELDS.index("job_title")] is KEEP
    assert {(f, code) for f, code, _m in mapped.warnings} == {
        ("email", "invalid_email"),
        ("job_title", "too_long"),
    }
    assert SPEC.link_keys(mapped.values) == ("id:e1",)  # matched by employee ID
    # The last name is the record's identity: unusable, it is an error (that still protects).
    raw = clever("c2", last="Lopez\u202e")
    error = SPEC.map_record(raw, config())
    assert error.code == "invalid_characters" and error.link_keys == ("id:e1",)
