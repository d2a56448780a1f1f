"""integrations/fieldkinds.py: which Clever fields fit which student field (no database).

Issue 16 item 2: Student ID mapped to ``created`` and Weighted GPA to ``name.first`` were saved.
The kinds come from Clever's v3.0 schema plus the district's actual values; these tests run the
checks over everything Clever may legally send: blanks, nulls, non-Latin and very long text,
invalid emails, impossible dates.
"""

from __future__ import annotations

import pytest
import yaml

from integrations import fieldkinds as fk
from tests.clever.spec import SPEC_DIR

# Clever's v3.0 schema as kept in the repository, so these tests run on any checkout.
SPEC = SPEC_DIR / "v3.0.yml"
GPA = "roles.student.ext.gpa_weighted"


def profile_of(path: str, values) -> fk.PathProfile:
    profile = fk.PathProfile()
    for value in values:
        profile.add(value, fk.kinds_to_check(path))
    return profile.finish()


# --- the kinds agree with Clever's schema -------------------------------------------------------


@pytest.fixture(scope="module")
def spec():
    definitions = yaml.safe_load(SPEC.read_text())["definitions"]
    return definitions


def test_every_timestamp_in_the_schema_is_technical_and_never_offered(spec):
    for prefix, name in (("", "User"), ("roles.student.", "Student")):
        for prop, schema in spec[name]["properties"].items():
            if schema.get("format") == "datetime":
                assert fk.spec_kind(prefix + prop) == fk.TECHNICAL, prop
                assert not fk.is_offered(prefix + prop)


def test_every_enum_of_the_student_schema_is_a_code_or_the_grade(spec):
    for prop, schema in spec["Student"]["properties"].items():
        if "enum" in schema:
            expected = fk.GRADE if prop == "grade" else fk.CODE
            assert fk.spec_kind(f"roles.student.{prop}") == expected, prop


def test_every_scalar_student_field_of_the_schema_has_a_kind(spec):
    for prop, schema in spec["Student"]["properties"].items():
        if "$ref" in schema or schema.get("type") == "object":
            continue  # credentials, location, ext: their own fields are listed
        assert f"roles.student.{prop}" in fk.SPEC_KINDS, prop
    for prop in spec["Location"]["properties"]:
        assert f"roles.student.location.{prop}" in fk.SPEC_KINDS, prop


def test_ids_of_other_records_and_coordinates_are_not_offered():
    for path in (
        "created",
        "last_modified",
        "district",
        "roles.student.school",
        "roles.student.schools",
        "roles.student.enrollments",
        "roles.student.location.lat",
        "roles.student.location.lon",
        "roles.student.ext",  # ``ext: null``: the container, not a field
    ):
        assert not fk.is_offered(path), path
    assert fk.spec_kind(GPA) == fk.ANY and fk.spec_kind("roles.student.frl_status") == fk.ANY


# --- names in words -------------------------------------------------------------------------------


def test_options_are_named_in_words():
    assert fk.path_label("roles.student.student_number") == "Student number (SIS)"
    assert fk.path_label("roles.student.sis_id") == "Student ID (SIS)"
    assert fk.path_label(GPA) == "Weighted GPA (extension field gpa_weighted)"
    assert (
        fk.path_label("roles.student.ext.gpa_unweighted")
        == "Unweighted GPA (extension field gpa_unweighted)"
    )
    assert fk.path_label("roles.student.ext.等级") == "等级 (extension field 等级)"
    assert fk.path_label("roles.student.ext.home_room") == "Home room (extension field home_room)"
    assert fk.path_label("roles.student.frl_status") == "roles.student.frl_status"


def test_each_field_is_offered_only_fields_of_a_fitting_kind():
    available = [
        "id",
        "created",
        "email",
        "name.first",
        "roles.student.sis_id",
        "roles.student.student_number",
        "roles.student.dob",
        "roles.student.grade",
        "roles.student.location.lat",
        GPA,
    ]
    assert fk.options_for("student_id", available) == [
        "id",
        "roles.student.sis_id",
        "roles.student.student_number",
        GPA,  # an ext field: only its values can tell (checked on save)
    ]
    assert fk.options_for("weighted_gpa", available) == [GPA]
    assert fk.options_for("birth_date", available) == ["roles.student.dob", GPA]
    assert fk.options_for("email", available) == ["email", GPA]
    assert fk.options_for("first_name", available) == ["name.first", GPA]
    assert fk.options_for("class_year", available) == ["roles.student.grade", GPA]


# --- one value at a time: what Clever may legally send --------------------------------------------


@pytest.mark.parametrize("kind", sorted(fk.KIND_WORDS))
@pytest.mark.parametrize("blank", [None, "", "   ", "\t"])
def test_blank_and_null_fit_every_kind(kind, blank):
    assert fk.value_fits(kind, blank)


@pytest.mark.parametrize(
    ("kind", "value", "fits"),
    [
        (fk.ID, "A-00123", True),
        (fk.ID, "000123", True),
        (fk.ID, 123456, True),  # a number sent as a number
        (fk.ID, "学生-12", True),  # non-Latin ids exist
        (fk.ID, "x" * 100, True),
        (fk.ID, "x" * 101, False),  # longer than the student ID column
        (fk.ID, "2024-05-01T13:45:00.000Z", False),  # a timestamp
        (fk.ID, "Maria Lopez", False),
        (fk.ID, "maria@example.org", False),
        (fk.ID, True, False),
        (fk.ID, ["a"], False),
        (fk.TEXT, "Nguyễn Thị Đặng", True),
        (fk.TEXT, "محمد", True),
        (fk.TEXT, "李小龙", True),
        (fk.TEXT, "O'Brien-Smith", True),
        (fk.TEXT, "a" * 255, True),
        (fk.TEXT, "a" * 256, False),
        (fk.TEXT, "2024-05-01T13:45:00Z", False),
        (fk.EMAIL, "ana.maría@example.org", True),
        (fk.EMAIL, " Jane.Doe@Example.ORG ", True),
        (fk.EMAIL, "not-an-address", False),
        (fk.EMAIL, "a@b", False),
        (fk.EMAIL, "a b@example.org", False),
        (fk.EMAIL, "@example.org", False),
        (fk.EMAIL, "a@@example.org", False),
        (fk.EMAIL, "x" * 250 + "@e.org", False),
        (fk.DATE, "2/29/2024", True),
        (fk.DATE, "02/09/2010", True),
        (fk.DATE, "2/30/2024", False),  # not a real day
        (fk.DATE, "13/1/2010", False),
        (fk.DATE, "2010-05-01", False),  # Clever's dob is m/d/yyyy
        (fk.DATE, "١/٢/٢٠١٠", True),  # Arabic-Indic digits: the engine reads them too
        (fk.CODE, "F", True),
        (fk.CODE, "X", True),
        (fk.CODE, "Two or More Races", False),
        (fk.GRADE, "Kindergarten", True),
        (fk.GRADE, "09", True),
        (fk.GRADE, "Grade 9", True),
        (fk.GRADE, "PostGraduate", True),
        (fk.GRADE, "Other", True),
        (fk.GRADE, "Maria", False),
        (fk.YEAR, "2027", True),
        (fk.YEAR, 2027, True),
        (fk.YEAR, "27", False),
        (fk.YEAR, "２０２７", True),  # full-width digits: the engine reads them too
        (fk.YEAR, "3027", False),
        (fk.NUMBER, "3.875", True),
        (fk.NUMBER, "4", True),
        (fk.NUMBER, ".5", True),
        (fk.NUMBER, 3.5, True),
        (fk.NUMBER, "N/A", False),
        (fk.NUMBER, "NaN", False),
        (fk.NUMBER, "Infinity", False),
        (fk.NUMBER, "３.５", True),  # as the engine reads it
        (fk.NUMBER, "-1", False),  # a GPA is 0 to 999.999, as the engine accepts
        (fk.NUMBER, "1000", False),
        (fk.NUMBER, "3,5", False),
        (fk.NUMBER, False, False),
    ],
)
def test_a_value_fits_a_kind(kind, value, fits):
    assert fk.value_fits(kind, value) is fits


# --- a choice against the district's values -------------------------------------------------------


def test_student_id_from_a_timestamp_and_gpa_from_a_first_name_are_refused():
    created = fk.choice_problem(
        local_field="student_id", label="Student ID", path="created", profile=None
    )
    assert created.refused and "Student ID needs an id" in created.message
    assert "created is a technical field" in created.message
    first = fk.choice_problem(
        local_field="weighted_gpa", label="Weighted GPA", path="name.first", profile=None
    )
    assert first.refused
    assert first.message.startswith("Weighted GPA needs numbers; First name (name.first) is text")


def test_a_gpa_field_whose_values_are_not_numbers_is_refused_naming_an_example():
    profile = profile_of(GPA, ["Honors", "3.5", "", None, "Honors", "AP"])
    problem = fk.choice_problem(
        local_field="weighted_gpa", label="Weighted GPA", path=GPA, profile=profile
    )
    assert problem.refused
    assert problem.message == (
        "Weighted GPA needs numbers, but 3 of 4 values in Weighted GPA (extension field "
        f"gpa_weighted) ({GPA}) are not (for example “Honors”). Choose another field."
    )


def test_a_few_bad_values_among_many_are_a_warning_and_the_threshold_is_five_percent():
    values = [f"{3 + i / 100:.2f}" for i in range(95)]
    five = profile_of(GPA, [*values, *["N/A"] * 5])  # 5 of 100: a warning
    problem = fk.choice_problem(
        local_field="weighted_gpa", label="Weighted GPA", path=GPA, profile=five
    )
    assert not problem.refused
    assert "5 of 100 values" in problem.message and "“N/A”" in problem.message
    six = profile_of(GPA, [*values, *["N/A"] * 6])  # 6 of 101: refused
    assert fk.choice_problem(
        local_field="weighted_gpa", label="Weighted GPA", path=GPA, profile=six
    ).refused


def test_student_id_must_differ_from_student_to_student():
    path = "roles.student.ext.homeroom"
    shared = profile_of(path, ["R101", "R101", "R102", "R102", "R103"])
    problem = fk.choice_problem(
        local_field="student_id", label="Student ID", path=path, profile=shared
    )
    assert problem.refused and "repeat another student's" in problem.message
    assert "“R101”" in problem.message
    # Another id field (state ID) may repeat: only the field that matches students must not.
    assert (
        fk.choice_problem(local_field="state_id", label="State ID", path=path, profile=shared)
        is None
    )
    unique = profile_of(path, [f"S{i}" for i in range(50)])
    assert (
        fk.choice_problem(local_field="student_id", label="Student ID", path=path, profile=unique)
        is None
    )


def test_a_code_field_with_many_different_values_is_refused():
    path = "roles.student.ext.code"
    profile = profile_of(path, [f"c{i}" for i in range(30)])
    problem = fk.choice_problem(
        local_field="gender", label="Gender", path=path, profile=profile, distinct=30
    )
    assert problem.refused and "30 different values" in problem.message


def test_class_year_takes_years_or_grades_and_a_path_with_no_values_is_accepted():
    grades = profile_of("roles.student.ext.level", ["9", "10", "Kindergarten"])
    assert (
        fk.choice_problem(
            local_field="class_year",
            label="Class year",
            path="roles.student.ext.level",
            profile=grades,
        )
        is None
    )
    empty = profile_of(GPA, [None, "", " "])
    assert empty.present == 0
    assert (
        fk.choice_problem(local_field="weighted_gpa", label="Weighted GPA", path=GPA, profile=empty)
        is None
    )


def test_long_and_non_latin_examples_are_shortened_not_lost():
    path = "roles.student.ext.note"
    profile = profile_of(path, ["注" * 80])
    problem = fk.choice_problem(
        local_field="weighted_gpa", label="Weighted GPA", path=path, profile=profile
    )
    assert problem.refused and ("注" * 57 + "…") in problem.message
