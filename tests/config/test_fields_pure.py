"""students/fields.py: the local fields, suggestions and default codes (no database)."""

from __future__ import annotations

import pytest

from students import fields as sf


def test_required_fields_are_the_guides():
    assert set(sf.REQUIRED_FIELDS) == {
        "student_id",
        "clever_id",
        "first_name",
        "last_name",
        "school",
    }
    assert sf.FIELDS_BY_NAME["clever_id"].default_clever_field == "id"
    assert not sf.FIELDS_BY_NAME["clever_id"].changeable
    assert set(sf.CODED_FIELDS) == {"grade", "class_year"}


def test_suggest_mapping_uses_defaults_present_in_the_data():
    available = [
        "id",
        "name.first",
        "name.middle",
        "name.last",
        "roles.student.sis_id",
        "roles.student.grade",
        "roles.student.dob",
        "roles.student.graduation_year",
        "roles.student.credentials.district_username",
    ]
    s = sf.suggest_mapping(available)
    assert s["student_id"] == "roles.student.sis_id"
    assert s["birth_date"] == "roles.student.dob"
    assert s["class_year"] == sf.CLASS_YEAR_FROM_GRADE
    assert s["district_username"] == "roles.student.credentials.district_username"
    assert s["state_id"] == ""  # not in the data: Do Not Import
    assert s["weighted_gpa"] == "" and s["unweighted_gpa"] == ""


def test_required_fields_are_suggested_even_when_the_sample_lacks_them():
    s = sf.suggest_mapping([])
    assert s["student_id"] == "roles.student.sis_id"
    assert s["first_name"] == "name.first" and s["last_name"] == "name.last"
    assert s["class_year"] == ""  # no grade in the data: nothing to base it on


@pytest.mark.parametrize(
    ("available", "weighted", "unweighted"),
    [
        (
            ["roles.student.ext.gpa_weighted", "roles.student.ext.gpa_unweighted"],
            "roles.student.ext.gpa_weighted",
            "roles.student.ext.gpa_unweighted",
        ),
        # "unweighted" contains "weighted": the weighted suggestion must not take it.
        (
            ["roles.student.ext.UnweightedGPA", "roles.student.ext.WeightedGPA"],
            "roles.student.ext.WeightedGPA",
            "roles.student.ext.UnweightedGPA",
        ),
        (["roles.student.ext.gpa.weighted"], "roles.student.ext.gpa.weighted", ""),
        # A field that is not a GPA, or not an ext field, is never suggested.
        (["roles.student.ext.weighted_credits", "roles.student.weighted_gpa"], "", ""),
    ],
)
def test_gpa_suggestions_come_from_ext_fields(available, weighted, unweighted):
    s = sf.suggest_mapping(available)
    assert s["weighted_gpa"] == weighted
    assert s["unweighted_gpa"] == unweighted


@pytest.mark.parametrize(
    ("grade", "class_year"),
    [
        ("12", "2027"),
        ("11", "2028"),
        ("9", "2030"),
        ("09", "2030"),
        ("1", "2038"),
        ("Kindergarten", "2039"),
        ("TransitionalKindergarten", "2040"),
        ("PreKindergarten", "2040"),
        ("Preschool", "2041"),
        ("InfantToddler", "2042"),
        ("13", "2026"),
        ("Grade 10", "2029"),
        ("PostGraduate", ""),
        ("Ungraded", ""),
        ("Other", ""),
        ("", ""),
        ("Senior-ish", ""),
        ("14", ""),
        ("2031", "2031"),
    ],
)
def test_class_year_from_grade(grade, class_year):
    assert sf.default_codes("class_year", [grade], school_year_end=2027) == {grade: class_year}


def test_grade_codes():
    codes = sf.default_codes(
        "grade",
        ["12", "09", "Kindergarten", "PreKindergarten", "Other", "Ungraded"],
        school_year_end=2027,
    )
    assert codes == {
        "12": "12",
        "09": "9",
        "Kindergarten": "K",
        "PreKindergarten": "PK",
        "Other": "",
        "Ungraded": "UG",
    }
    allowed = {c for c, _ in sf.code_choices("grade", school_year_end=2027)}
    assert {v for v in codes.values() if v} <= allowed


def test_class_year_defaults_are_offered_choices():
    grades = [
        "InfantToddler",
        "Preschool",
        "PreKindergarten",
        "Kindergarten",
        "13",
        *map(str, range(1, 13)),
    ]
    choices = set(sf.class_year_choices(school_year_end=2027))
    assert set(sf.default_codes("class_year", grades, school_year_end=2027).values()) <= choices


def test_default_codes_refuses_uncoded_fields():
    with pytest.raises(ValueError, match="not a coded"):
        sf.default_codes("first_name", ["x"], school_year_end=2027)


def test_grades_sort_in_school_order():
    assert sf.sort_clever_grades(
        ["12", "1", "Other", "Kindergarten", "PreKindergarten", "2", "Preschool", "1"]
    ) == ["Preschool", "PreKindergarten", "Kindergarten", "1", "2", "12", "Other"]
