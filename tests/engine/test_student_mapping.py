"""The student spec's mapping: total, strict about bad input, friendly about missing data."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.engine.spec import ErrorCode, SyncConfig
from integrations.simulator.malformed import DEFECTS, malformed_users
from students.fields import CLASS_YEAR_FROM_GRADE
from students.sync import FIELDS, KEEP, SPEC, StudentRecordError, StudentValues

MAPPING = {
    "student_id": "roles.student.sis_id",
    "first_name": "name.first",
    "middle_name": "name.middle",
    "last_name": "name.last",
    "email": "email",
    "birth_date": "roles.student.dob",
    "gender": "roles.student.gender",
    "grade": "roles.student.grade",
    "class_year": "roles.student.grade",
    "graduation_year": "roles.student.graduation_year",
    "weighted_gpa": "roles.student.ext.gpa.weighted",
    "unweighted_gpa": "",
    "district_username": "roles.student.credentials.district_username",
    "state_id": "roles.student.state_id",
    "student_number": "roles.student.student_number",
}
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
    assert isinstance(m, StudentValues)
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


def test_grade_without_a_code_leaves_the_field_blank():
    m = SPEC.map_record(user(grade="Ungraded"), CONFIG)
    assert value(m, "grade") == "" and value(m, "class_year") is None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"grade": "Grade 9"}, ErrorCode.UNKNOWN_CODE),
        ({"grade": 9}, ErrorCode.INVALID_VALUE),
        ({"dob": "2011-05-17"}, ErrorCode.INVALID_DATE),
        ({"dob": "2/30/2011"}, ErrorCode.INVALID_DATE),
        ({"sis_id": ""}, ErrorCode.MISSING_LINK_ID),
        ({"school": "nowhere"}, ErrorCode.UNKNOWN_SCHOOL),
        ({"ext": {"gpa.weighted": "abc"}}, ErrorCode.INVALID_VALUE),
        ({"graduation_year": "20x0"}, ErrorCode.INVALID_VALUE),
        ({"schools": "not-a-list"}, ErrorCode.INVALID_VALUE),
    ],
)
def test_bad_role_values_are_errors_with_a_code(change, code):
    m = SPEC.map_record(user(**change), CONFIG)
    assert isinstance(m, StudentRecordError) and m.code == code and m.clever_id == "c1"
    assert m.message and "Ann" not in m.message


def test_a_known_but_unmatched_school_is_out_of_scope_not_an_error():
    m = SPEC.map_record(user(school="cs2"), CONFIG)
    assert isinstance(m, StudentValues) and m.scope_school is None


@pytest.mark.parametrize(
    "defect", [name for name, _ in DEFECTS if name not in ("sis_id_collision", "duplicate_id")]
)
def test_every_simulator_defect_is_a_record_error(defect):
    index = [name for name, _ in DEFECTS].index(defect)
    records = malformed_users(count=len(DEFECTS), district_id="d1", school_ids=["cs1"], seed=3)
    raw = records[index][1]
    m = SPEC.map_record(raw, CONFIG)
    assert isinstance(m, StudentRecordError), (defect, m)


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
        assert isinstance(m, StudentValues | StudentRecordError)
