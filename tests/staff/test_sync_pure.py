"""The staff rules as pure functions: mapping, title keywords, matching, school access."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.engine.matching import build_index, plan_records
from naviance_sync.sync_contract import SyncConfig
from staff.sync import EXTRA_FIELDS, FIELDS, SPEC
from staff.sync_mapping import (
    DISTRICT,
    SCHOOL,
    StaffRecordError,
    StaffValues,
    email_username,
    map_staff,
    normalize_email,
    normalize_employee_id,
    normalize_text,
    school_access,
    sections_by_teacher,
)
from staff.sync_roles import (
    Defaults,
    KeywordRule,
    StaffConfig,
    keyword_matches,
    resolve_title,
    winning_rule,
)


def user(
    uid="u1", *, first="Ana", middle="Maria", last="Lopez", email="ana.lopez@mv.k12.us", **roles
):
    return {
        "id": uid,
        "district": "d1",
        "email": email,
        "name": {"first": first, "middle": middle, "last": last},
        "roles": roles,
    }


# --- mapping ---------------------------------------------------------------------------------------


def test_teacher_maps_middle_name_title_and_teacher_number():
    values = map_staff(
        user(
            teacher={
                "teacher_number": "T-77",
                "sis_id": "9001",
                "title": "Math Teacher",
                "school": "s1",
                "schools": ["s1", "s2"],
            }
        )
    )
    assert isinstance(values, StaffValues)
    assert values.account_type == SCHOOL
    assert values.middle_name == "Maria"
    assert values.employee_id == "T-77"
    assert values.job_title == "Math Teacher"
    assert values.clever_schools == ("s1", "s2")


def test_teacher_without_teacher_number_uses_sis_id():
    values = map_staff(user(teacher={"teacher_number": "", "sis_id": "9001", "schools": []}))
    assert values.employee_id == "9001"


def test_staff_maps_staff_id_and_never_a_middle_name():
    values = map_staff(user(staff={"staff_id": "S-5", "title": "Registrar", "schools": ["s3"]}))
    assert values.account_type == SCHOOL
    assert values.employee_id == "S-5"
    assert values.middle_name is None  # the guide: middle name only for Clever Teachers
    assert "middle_name" not in values.fields()


def test_district_admin_is_district_staff_without_employee_id():
    values = map_staff(user(district_admin={"title": "Director of Counseling"}))
    assert values.account_type == DISTRICT
    assert values.employee_id is None and values.middle_name is None
    assert values.fields() == {
        "first_name": "Ana",
        "last_name": "Lopez",
        "email": "ana.lopez@mv.k12.us",
        "job_title": "Director of Counseling",
    }


def test_district_admin_role_wins_over_teacher_role():
    values = map_staff(
        user(teacher={"sis_id": "1", "title": "Teacher"}, district_admin={"title": ""})
    )
    assert values.account_type == DISTRICT
    assert values.job_title == "Teacher"  # admin has no title: the other role's title is used
    assert values.clever_roles == ("teacher", "district_admin")


def test_student_is_not_staff():
    error = map_staff(user(student={"sis_id": "1"}))
    assert isinstance(error, StaffRecordError) and error.code == "not_staff"


def test_missing_last_name_is_a_record_error_with_a_reason():
    error = map_staff(user(last="  ", teacher={"sis_id": "1"}))
    assert isinstance(error, StaffRecordError)
    assert error.code == "no_last_name" and "last name" in error.reason


@pytest.mark.parametrize("raw", [None, [], "x", {"name": "oops"}, {"id": 5, "roles": []}])
def test_malformed_records_never_raise(raw):
    assert isinstance(map_staff(raw), StaffRecordError)


def test_null_email_and_wrong_types_become_blanks():
    values = map_staff(user(email=None, staff={"staff_id": 42, "title": None, "schools": "s1"}))
    assert values.email == "" and values.employee_id == "" and values.job_title == ""
    assert values.clever_schools == ()


# --- school access --------------------------------------------------------------------------------


def test_sections_give_teachers_access_to_more_schools():
    sections = [
        {"id": "x1", "school": "s1", "teacher": "t1", "teachers": ["t1"]},
        {"id": "x2", "school": "s2", "teacher": "t9", "teachers": ["t9", "t1"]},  # co-teacher
        {"id": "x3", "school": "", "teacher": "t1"},
    ]
    by_teacher = sections_by_teacher(sections)
    assert by_teacher["t1"] == {"s1", "s2"}
    values = map_staff(user("t1", teacher={"sis_id": "1", "school": "s1", "schools": ["s1"]}))
    access = school_access(
        values=values,
        section_schools=by_teacher["t1"],
        local_school_by_clever_id={"s1": 10, "s2": 20},
    )
    assert access == {10: "clever_school", 20: "clever_section"}


def test_staff_access_comes_from_their_clever_schools_only():
    values = map_staff(user("st", staff={"staff_id": "1", "schools": ["s1", "s3"]}))
    access = school_access(
        values=values,
        section_schools={"s2"},
        local_school_by_clever_id={"s1": 10, "s2": 20, "s3": 30},
    )
    assert access == {10: "clever_school", 30: "clever_school"}


def test_unmatched_clever_schools_give_no_access():
    values = map_staff(user(teacher={"schools": ["s1", "nowhere"]}))
    assert school_access(values=values, local_school_by_clever_id={"s1": 1}) == {1: "clever_school"}


# --- title keywords --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "title", "expected"),
    [
        ("counselor", "School Counselor", True),
        ("Counselor", "school COUNSELOR", True),
        ("school counselor", "Lead  School\tCounselor", True),
        ("art", "Department Chair", False),
        ("art", "Art Teacher", True),
        ("teacher", "Teachers' aide", False),
        ("vice principal", "Principal", False),
        ("c++", "C++ Instructor", True),
        ("", "anything", False),
        ("counselor", "", False),
    ],
)
def test_keyword_matches_whole_words_ignoring_case(keyword, title, expected):
    assert keyword_matches(keyword, title) is expected


def test_lowest_position_wins_then_longest_keyword():
    rules = [
        KeywordRule("teacher", position=2, role_id=1),
        KeywordRule("counselor", position=1, role_id=2),
        KeywordRule("school counselor", position=1, role_id=3),
    ]
    assert winning_rule("Teacher and School Counselor", rules).role_id == 3
    assert winning_rule("Counselor", rules).role_id == 2
    assert winning_rule("Teacher", rules).role_id == 1
    assert winning_rule("Janitor", rules) is None


def test_rule_order_in_the_list_does_not_change_the_winner():
    a = KeywordRule("math", position=0, role_id=1)
    b = KeywordRule("math teacher", position=0, role_id=2)
    assert winning_rule("Math Teacher", [a, b]) == winning_rule("Math Teacher", [b, a]) == b


def test_resolve_title_uses_rule_and_falls_back_per_field():
    defaults = Defaults(role_id=90, function_id=91, on_teacher_list=True)
    rule = KeywordRule("counselor", role_id=5, function_id=None, on_counselor_list=True)
    got = resolve_title(title="Guidance Counselor", rules=[rule], defaults=defaults)
    assert (got.role_id, got.function_id) == (5, 91)
    assert (got.role_source, got.function_source) == ("keyword", "default")
    assert got.on_counselor_list and not got.on_teacher_list  # the rule decides the lists
    assert got.keyword == "counselor"


def test_resolve_title_without_keyword_gets_defaults():
    defaults = Defaults(role_id=90, function_id=91, on_teacher_list=True)
    got = resolve_title(title="", rules=[KeywordRule("counselor", role_id=5)], defaults=defaults)
    assert (got.role_id, got.function_id, got.on_teacher_list) == (90, 91, True)
    assert got.role_source == got.function_source == "default"


# --- matching: the engine's one matcher (``plan_records``) with the staff spec -----------------------
# These prove the code that runs: the same ``build_index`` + ``plan_records`` a sync calls.


def _config() -> SyncConfig:
    return SyncConfig(
        district_id=1,
        clever_district_id="d1",
        data_type="staff",
        mapping={},
        codes={},
        school_matches={"cs7": 7},
        extra={"staff": StaffConfig()},
    )


def local(pk, *, account_type=SCHOOL, clever_id=None, **kw):
    """An existing account as the engine's index reads it (``build_index`` rows)."""
    row = dict.fromkeys(FIELDS, "")
    row.update(
        first_name="Ana",
        last_name="Lopez",
        account_type=account_type,
        role_id=None,
        job_function_id=None,
        on_teacher_list=False,
        on_counselor_list=False,
        zone_id=None,
    )
    row.update(kw)
    values = tuple(row[f] for f in FIELDS) + (None,) * len(EXTRA_FIELDS)
    return (pk, clever_id, None, pk, *values)


def teacher(uid="c1", *, number="", **kw):
    return user(uid, **kw, teacher={"teacher_number": number, "schools": ["cs7"]})


def district_admin(uid="c1", **kw):
    return user(uid, **kw, district_admin={"title": "Superintendent"})


def plan(raws, locals_):
    cfg = _config()
    mapped = [SPEC.map_record(raw, cfg) for raw in raws]
    records = [m for m in mapped if hasattr(m, "values")]
    errors = [m for m in mapped if not hasattr(m, "values")]
    return plan_records(SPEC, cfg, records, errors, build_index(SPEC, locals_))


def matched(result) -> list[int]:
    return sorted([u[0] for u in result.updates] + list(result.unchanged_pks))


def test_staff_match_by_last_name_and_email_ignoring_case_and_spaces():
    result = plan(
        [teacher(last="lopez", email="ana.lopez@mv.k12.us")],
        [local(1, last_name="  LOPEZ ", email="Ana.Lopez@MV.k12.us ")],
    )
    assert matched(result) == [1]
    assert "last name and email" in result.reasons[("match", 1)]


def test_staff_match_by_employee_id_when_email_is_personal():
    result = plan(
        [teacher(email="ana.lopez@mv.k12.us", number="e100")],
        [local(1, email="ana@gmail.com", employee_id="E100")],
    )
    assert matched(result) == [1]
    assert result.reasons[("match", 1)] == "In both: matched by employee ID."


def test_employee_id_keeps_leading_zeros():
    # Another first name: not even "looks alike", so the only question is the employee ID.
    result = plan(
        [teacher(email="", number="0042")],
        [local(1, first_name="Bo", email="x@y.z", employee_id="42")],
    )
    assert matched(result) == [] and len(result.creates) == 1


def test_same_email_but_other_last_name_is_never_a_match():
    result = plan([teacher()], [local(1, last_name="Garcia", email="ana.lopez@mv.k12.us")])
    assert matched(result) == []
    # Looks alike (same email): a person decides, never a merge.
    assert [a[2] for a in result.alerts] == [(1,)]


def test_clever_id_link_wins_over_everything():
    result = plan(
        [teacher(uid="c1")],
        [
            local(1, last_name="Married-Name", email="new@x.org", clever_id="c1"),
            local(2, email="ana.lopez@mv.k12.us"),
        ],
    )
    assert 1 in matched(result) and 2 not in matched(result)


def test_email_and_employee_id_pointing_at_two_accounts_is_an_alert():
    result = plan(
        [teacher(number="T1")],
        [local(1, email="ana.lopez@mv.k12.us"), local(2, email="other@x.org", employee_id="T1")],
    )
    assert matched(result) == [] and not result.creates
    assert set(result.alerts[0][2]) == {1, 2}


def test_two_local_accounts_with_same_last_name_and_email_is_an_alert():
    result = plan(
        [teacher()],
        [local(1, email="ana.lopez@mv.k12.us"), local(2, email="ANA.LOPEZ@mv.k12.us")],
    )
    assert matched(result) == [] and not result.creates
    assert set(result.alerts[0][2]) == {1, 2}


def test_account_linked_to_another_clever_record_is_never_taken():
    result = plan(
        [teacher(uid="c1")], [local(1, email="ana.lopez@mv.k12.us", clever_id="someone-else")]
    )
    assert matched(result) == []


def test_two_clever_records_with_one_employee_id_never_share_an_account():
    result = plan(
        [teacher(uid="c1", number="T1"), teacher(uid="c2", last="Diaz", number="T1")],
        [local(1, email="x@y.z", employee_id="T1")],
    )
    assert matched(result) == []
    assert {e.code for e in result.errors} == {"duplicate_link_id"}


def test_district_staff_never_match_by_employee_id():
    result = plan([district_admin()], [local(1, email="other@x.org", employee_id="T1")])
    assert matched(result) == []


def test_district_staff_match_by_last_name_and_email():
    result = plan(
        [district_admin()], [local(1, account_type=DISTRICT, email="ana.lopez@mv.k12.us")]
    )
    assert matched(result) == [1]


def test_blank_email_never_matches_blank_email():
    result = plan([teacher(email="")], [local(1, email="")])
    assert matched(result) == []


@settings(max_examples=500)
@given(st.text(max_size=30))
def test_normalisation_is_idempotent(text):
    assert normalize_text(normalize_text(text)) == normalize_text(text)
    assert normalize_email(normalize_email(text)) == normalize_email(text)
    assert normalize_employee_id(normalize_employee_id(text)) == normalize_employee_id(text)


def test_full_width_and_non_breaking_spaces_compare_equal():
    assert normalize_text("Ｌopez\u00a0Jr") == normalize_text("lopez jr")


# --- diffs and usernames ---------------------------------------------------------------------------


def test_changes_only_for_supplied_non_blank_fields():
    account = local(
        1,
        clever_id="c9",
        email="ana@x.org",
        job_title="Teacher",
        middle_name="M",
        employee_id="E1",
    )
    raw = user("c9", middle="", email="", staff={"staff_id": "E2", "title": "Registrar"})
    raw["roles"]["staff"]["schools"] = ["cs7"]
    ((pk, _cid, _name, changes, _restore),) = plan([raw], [account]).updates
    got = {c[0]: (c[1], c[2]) for c in changes}
    assert pk == 1
    assert got["job_title"] == ("Teacher", "Registrar")
    assert got["employee_id"] == ("E1", "E2")
    # A blank from Clever never wipes what the account has.
    assert "email" not in got and "middle_name" not in got


def test_the_username_is_the_mapped_email_in_lower_case_or_none():
    values = map_staff(user("abc", email=" Ana.Lopez@MV.k12.us", teacher={}))
    assert email_username(values.email) == "ana.lopez@mv.k12.us"
    assert email_username(map_staff(user("abc", email=None, teacher={})).email) == ""


def _format_value_reference(field_name, value):
    """``StaffSpec.format_value`` before text values were returned first."""
    from naviance_sync.sync_contract import KEEP
    from staff.sync import SOURCE_LABELS

    if field_name == "inactive_since" and value is not KEEP:
        return "active" if value is None else "inactive"
    if value is None or value is KEEP:
        return ""
    if field_name == "school_access":
        return "; ".join(
            f"{name} ({SOURCE_LABELS.get(source, source)})"
            for _, name, source in sorted(value, key=lambda item: (item[1], item[0]))
        )
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


@settings(max_examples=300, deadline=None)
@given(
    field_name=st.sampled_from((*FIELDS, *EXTRA_FIELDS, "inactive_since", "clever_id")),
    value=st.one_of(
        st.text(max_size=8),
        st.none(),
        st.booleans(),
        st.integers(),
        st.datetimes(),
        st.just(frozenset({(2, "West", "clever_school"), (1, "East", "manual")})),
        st.sampled_from(("", "active", "inactive")),
    ),
)
def test_every_value_of_a_result_row_is_shown_as_it_was(field_name, value):
    from naviance_sync.sync_contract import KEEP

    def shown(format_value, value):
        try:
            return format_value(field_name, value)
        except Exception as exc:  # noqa: BLE001 - a value no row holds fails the same way
            return type(exc)

    assert shown(SPEC.format_value, value) == shown(_format_value_reference, value)
    assert shown(SPEC.format_value, KEEP) == shown(_format_value_reference, KEEP)
