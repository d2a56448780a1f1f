"""The student spec's mapping: total, strict about bad input, friendly about missing data."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.simulator.malformed import DEFECTS, ERROR, VALID, WARNING, malformed_users
from naviance_sync.sync_contract import KEEP, ErrorCode, Mapped, RecordError, SyncConfig
from students.fields import CLASS_YEAR_FROM_GRADE
from students.sync import FIELDS, SPEC
from tests.support.student_mapping import MAPPING

CONFIG = SyncConfig(
    district_id=1,
    clever_district_id="d1",
    data_type="students",
    mapping=MAPPING,
    codes={"grade": {"9": "9", "Kindergarten": "K"}, "class_year": {"9": "2030"}},
    school_matches={"cs1": 11},
    known_clever_schools=frozenset({"cs1", "cs2"}),
)


def user(**role_over):
    role = {
        "sis_id": " 00123 ",
        "school": "cs1",
        "grade": "9",
        "dob": "5/17/2011",
        "gender": "F",
        "graduation_year": "2030",
        "credentials": {"district_username": "ann1"},
        "ext": {"gpa.weighted": "3.5"},
    }
    role.update(role_over)
    return {
        "id": "c1",
        "district": "d1",
        "email": " Ann@Example.org ",
        "name": {"first": "Ann", "middle": None, "last": "Lee"},
        "roles": {"student": role},
    }


def value(mapped, field):
    return mapped.values[FIELDS.index(field)]


def test_maps_a_clean_record():
    m = SPEC.map_record(user(), CONFIG)
    assert isinstance(m, Mapped)
    assert value(m, "student_id") == "00123"  # leading zeros kept
    assert value(m, "birth_date") == date(2011, 5, 17)
    assert value(m, "class_year") == 2030 and value(m, "grade") == "9"
    assert value(m, "weighted_gpa") == Decimal("3.500")  # ext key with a dot in it
    assert value(m, "unweighted_gpa") is KEEP  # Do Not Import
    assert value(m, "middle_name") == "" and value(m, "email") == "Ann@Example.org"
    assert m.scope_school == 11 and m.name == "Lee, Ann"
    assert SPEC.link_key(m.values) == "00123"


def test_class_year_from_grade_marker_reads_the_grade():
    cfg = dataclasses.replace(CONFIG, mapping={**MAPPING, "class_year": CLASS_YEAR_FROM_GRADE})
    assert value(SPEC.map_record(user(), cfg), "class_year") == 2030


def test_grade_without_a_code_is_a_warning_and_leaves_grade_and_class_year_as_they_were():
    m = SPEC.map_record(user(grade="Ungraded"), CONFIG)
    assert isinstance(m, Mapped)
    assert value(m, "grade") is KEEP and value(m, "class_year") is KEEP
    assert [(f, c) for f, c, _m in m.warnings] == [
        ("grade", "unknown_code"),
        ("class_year", "unknown_code"),
    ]
    assert 'Grade: "Ungraded" has no code in Define Codes.' in [msg for *_x, msg in m.warnings]


def test_a_blank_grade_is_a_legal_value_that_clears_grade_without_a_warning():
    m = SPEC.map_record(user(grade=""), CONFIG)
    assert value(m, "grade") == "" and value(m, "class_year") is None and m.warnings == ()


def test_a_blank_grade_with_a_code_takes_that_code():
    cfg = dataclasses.replace(CONFIG, codes={"grade": {"": "U"}, "class_year": {}})
    assert value(SPEC.map_record(user(grade=""), cfg), "grade") == "U"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"sis_id": ""}, ErrorCode.MISSING_LINK_ID),
        ({"sis_id": "9" * 101}, ErrorCode.TOO_LONG),
        ({"sis_id": "12\u202e34"}, ErrorCode.INVALID_CHARACTERS),
        ({"school": "nowhere"}, ErrorCode.UNKNOWN_SCHOOL),
        ({"school": 7}, ErrorCode.INVALID_VALUE),
    ],
)
def test_identity_problems_are_errors_with_a_code(change, code):
    m = SPEC.map_record(user(**change), CONFIG)
    assert isinstance(m, RecordError) and m.code == code and m.clever_id == "c1"
    assert m.message and "Ann" not in m.message


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"grade": "Grade 9"}, "grade", ErrorCode.UNKNOWN_CODE),
        ({"grade": 9}, "grade", ErrorCode.INVALID_VALUE),
        ({"dob": "2011-05-17"}, "birth_date", ErrorCode.INVALID_DATE),
        ({"dob": "2/30/2011"}, "birth_date", ErrorCode.INVALID_DATE),
        ({"ext": {"gpa.weighted": "N/A"}}, "weighted_gpa", ErrorCode.INVALID_VALUE),
        ({"ext": {"gpa.weighted": "3,75"}}, "weighted_gpa", ErrorCode.INVALID_VALUE),
        ({"graduation_year": "20x0"}, "graduation_year", ErrorCode.INVALID_VALUE),
        ({"credentials": {"district_username": "u" * 151}}, "district_username", "too_long"),
    ],
)
def test_one_bad_optional_value_is_a_warning_and_the_student_is_still_imported(change, field, code):
    m = SPEC.map_record(user(**change), CONFIG)
    assert isinstance(m, Mapped), m
    assert value(m, field) is KEEP
    assert (field, code) in [(f, c) for f, c, _m in m.warnings]
    assert value(m, "student_id") == "00123" and m.scope_school == 11


@pytest.mark.parametrize(
    "email", ["ana@localschool", "first_last.example.org", "two@@example.org", "a b@example.org"]
)
def test_an_email_clever_did_not_validate_is_a_warning(email):
    raw = {**user(), "email": email}
    m = SPEC.map_record(raw, CONFIG)
    assert value(m, "email") is KEEP and [c for _f, c, _m in m.warnings] == ["invalid_email"]


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("Seán", "O`Brien"),
        ("Dario", "D´Angelo"),
        ("Nguyễn", "Thị Minh"),
        ("明", "李"),
        ("محمد", "العلي"),
        ("Ana-María", "de la Cruz y O'Neil"),
        ("A" * 255, "B" * 255),
    ],
)
def test_names_keep_every_printable_character_and_are_never_truncated(first, last):
    raw = {**user(), "name": {"first": first, "middle": None, "last": last}}
    m = SPEC.map_record(raw, CONFIG)
    assert m.warnings == ()
    assert value(m, "first_name") == first and value(m, "last_name") == last


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("C" * 256, "too_long"),
        ("Bad\x07Name", "invalid_characters"),
        ("Rec\u202eord", "invalid_characters"),
    ],
)
def test_an_unstorable_name_is_a_warning_and_the_old_name_is_kept(name, code):
    raw = {**user(), "name": {"first": name, "middle": None, "last": "Lee"}}
    m = SPEC.map_record(raw, CONFIG)
    assert value(m, "first_name") is KEEP and [(f, c) for f, c, _m in m.warnings] == [
        ("first_name", code)
    ]


def test_a_missing_name_is_a_warning_never_a_blanked_name():
    raw = {**user(), "name": None}
    m = SPEC.map_record(raw, CONFIG)
    assert value(m, "first_name") is KEEP and value(m, "last_name") is KEEP
    assert {f for f, _c, _m in m.warnings} == {"first_name", "last_name"}


def test_a_known_but_unmatched_school_is_out_of_scope_not_an_error():
    m = SPEC.map_record(user(school="cs2"), CONFIG)
    assert isinstance(m, Mapped) and m.scope_school is None


@pytest.mark.parametrize(
    "defect",
    [name for name, _d, _o in DEFECTS if name not in ("sis_id_collision", "duplicate_id")],
)
def test_every_simulator_defect_gets_what_the_product_owes_it(defect):
    index = [name for name, _d, _o in DEFECTS].index(defect)
    outcome = DEFECTS[index][2]
    records = malformed_users(count=len(DEFECTS), district_id="d1", school_ids=["cs1"], seed=3)
    raw = records[index][1]
    # The simulator's generator keeps GPA under ext.gpa_weighted (as connect_district maps it).
    config = dataclasses.replace(
        CONFIG, mapping={**MAPPING, "weighted_gpa": "roles.student.ext.gpa_weighted"}
    )
    m = SPEC.map_record(raw, config)
    if outcome == ERROR:
        assert isinstance(m, RecordError), (defect, m)
    else:
        assert isinstance(m, Mapped), (defect, m)
        assert bool(m.warnings) == (outcome == WARNING), (defect, m.warnings)
        assert outcome in (VALID, WARNING)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(
    json_values,
    st.dictionaries(
        st.sampled_from(["sis_id", "grade", "dob", "school", "ext", "graduation_year"]), json_values
    ),
)
def test_mapping_is_total(raw, role_changes):
    for candidate in (raw, user(**role_changes)):
        m = SPEC.map_record(candidate, CONFIG)
        assert isinstance(m, Mapped | RecordError)


def test_repeated_values_are_held_once_and_still_read_alike():
    """Memory at 1,000,000 students (issue 18): a student number equal to the student ID is the
    same text object; equal GPAs are one Decimal. Values compare exactly as before, a different
    number stays itself, and a GPA that is not a number warns every time it is seen."""
    same = SPEC.map_record(user(sis_id="00123", student_number="00123"), CONFIG)
    assert value(same, "student_number") == "00123"
    assert value(same, "student_number") is value(same, "student_id")
    other = SPEC.map_record(user(sis_id="00123", student_number="0123"), CONFIG)
    assert (value(other, "student_id"), value(other, "student_number")) == ("00123", "0123")
    gpas = [SPEC.map_record(user(ext={"gpa.weighted": g}), CONFIG) for g in ("3.5", "3.5", 3.5)]
    assert [value(m, "weighted_gpa") for m in gpas] == [Decimal("3.500")] * 3
    assert value(gpas[0], "weighted_gpa") is value(gpas[1], "weighted_gpa")
    zeros = [SPEC.map_record(user(ext={"gpa.weighted": g}), CONFIG) for g in (-0.0, "0", 0)]
    assert [str(value(m, "weighted_gpa")) for m in zeros] == ["0.000"] * 3
    for _ in range(2):
        bad = SPEC.map_record(user(ext={"gpa.weighted": "-1"}), CONFIG)
        assert value(bad, "weighted_gpa") is KEEP
        assert [w[0] for w in bad.warnings] == ["weighted_gpa"]
