"""Define Codes takes every value Clever may legally send, and every error names field and value.

Clever's grade enum (v3.0.yml ``Student.grade``) includes ``""``: a blank grade is a normal row
shown as "(blank)", it may be given a code or left without one, on the page, through
``clever_setup``, and the code reaches the students in the next import.
"""

from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from integrations import config
from integrations.engine.service import run_execute
from integrations.models import CodeDefinition, SchoolMatch
from integrations.runs import run_start
from integrations.schools import school_matches_accept_suggestions
from students import fields as sf
from students.models import Student

pytestmark = pytest.mark.django_db

# Student.grade in Clever's v3.0 spec, in the spec's order ("" is a legal value).
CLEVER_GRADE_ENUM = (
    "InfantToddler",
    "Preschool",
    "PreKindergarten",
    "TransitionalKindergarten",
    "Kindergarten",
    *(str(n) for n in range(1, 14)),
    "PostGraduate",
    "Ungraded",
    "Other",
    "",
)
CODES_URL = reverse("integrations:codes", kwargs={"data_type": "students"})


def student_ids(sim) -> list[str]:
    district_id = sim.dataset.district_ids()[0]
    return sim.dataset.index("users", district_id, "student")


def give_every_grade(sim, *, schools=None) -> dict[str, str]:
    """One student per value of Clever's grade enum (the blank one too): {grade: clever id},
    chosen among the students of ``schools`` (Clever school ids) when given."""
    ids = [
        i
        for i in student_ids(sim)
        if schools is None or sim.dataset.get("users", i)["roles"]["student"]["school"] in schools
    ]
    chosen = {}
    for grade, clever_id in zip(CLEVER_GRADE_ENUM, ids, strict=False):
        sim.dataset.set_grade(clever_id, grade)
        chosen[grade] = clever_id
    return chosen


@pytest.fixture
def set_up(connected):
    school_matches_accept_suggestions(district=connected)
    config.field_mappings_save(
        district=connected,
        data_type="students",
        mapping=sf.suggest_mapping(["roles.student.grade"]),
    )
    return connected


def page_rows(response) -> dict[str, dict[str, str]]:
    """{field: {Clever value: form field name}} as the Define Codes page renders them."""
    return {
        section["field"].name: {value: f.html_name for value, f in section["rows"]}
        for section in response.context["sections"]
    }


def post_defaults(client, response, **overrides):
    """Post the page as shown (its suggestions), with ``overrides`` {form field name: code}."""
    data = {}
    for section in response.context["sections"]:
        for value, f in section["rows"]:
            data[f.html_name] = section["initial"][value]
    data.update(overrides)
    return client.post(CODES_URL, {**data, "action": "save"})


def test_define_codes_saves_every_clever_grade_including_the_blank_one(
    admin_client, set_up, clever_simulator
):
    give_every_grade(clever_simulator)
    response = admin_client.get(CODES_URL)
    rows = page_rows(response)
    assert set(CLEVER_GRADE_ENUM) <= set(rows["grade"]) and "" in rows["class_year"]
    page = response.content.decode()
    assert "(blank)" in page
    assert "Grade code for Clever value (blank)" in page  # the blank row's label

    # As suggested (the blank grade left without a code), then with a code for it.
    saved = post_defaults(admin_client, response)
    assert saved.status_code == 302, saved.context["form"].errors
    stored = config.saved_codes(district=set_up, data_type="students")
    assert stored["grade"][""] == "" and stored["class_year"][""] == ""
    assert stored["grade"]["Kindergarten"] == "K" and stored["grade"]["13"] == "13"
    again = post_defaults(admin_client, admin_client.get(CODES_URL), **{rows["grade"][""]: "UG"})
    assert again.status_code == 302
    assert config.saved_codes(district=set_up, data_type="students")["grade"][""] == "UG"
    assert CodeDefinition.objects.filter(district=set_up, clever_value="").count() == 2


def test_a_code_given_to_the_blank_grade_reaches_the_students_it_belongs_to(
    admin_client, set_up, clever_simulator
):
    matched = set(
        SchoolMatch.objects.filter(district=set_up, clever_school__isnull=False).values_list(
            "clever_school__clever_id", flat=True
        )
    )
    chosen = give_every_grade(clever_simulator, schools=matched)
    assert set(chosen) == set(CLEVER_GRADE_ENUM)
    response = admin_client.get(CODES_URL)
    rows = page_rows(response)
    assert post_defaults(admin_client, response, **{rows["grade"][""]: "UG"}).status_code == 302
    run = run_start(district=set_up, data_type="students", mode="import", enqueue=False)
    run = run_execute(run_id=run.pk, allow_retry=False).run
    assert run.status == "succeeded", run.error_message
    assert run.errors == 0
    blank = Student.objects.get(district=set_up, clever_id=chosen[""])
    ninth = Student.objects.get(district=set_up, clever_id=chosen["9"])
    assert blank.grade == "UG" and blank.class_year is None
    assert ninth.grade == "9"


def test_a_wrong_code_is_refused_naming_the_field_and_the_value_and_keeps_what_was_typed(
    admin_client, set_up, clever_simulator
):
    give_every_grade(clever_simulator)
    response = admin_client.get(CODES_URL)
    rows = page_rows(response)
    posted = post_defaults(
        admin_client,
        response,
        **{rows["grade"]["Ungraded"]: "NINE", rows["grade"][""]: "PG", rows["grade"]["9"]: "10"},
    )
    assert posted.status_code == 200
    errors = posted.context["form"].errors
    assert errors[rows["grade"]["Ungraded"]] == [
        "Grade “Ungraded”: “NINE” is not a grade code; choose a code from the list or leave it "
        "blank."
    ]
    page = posted.content.decode()
    # What was typed stays: the blank grade's PG and grade 9's 10.
    assert re.search(rf'name="{rows["grade"][""]}"[^>]*>.*?<option value="PG" selected', page, re.S)
    assert re.search(
        rf'name="{rows["grade"]["9"]}"[^>]*>.*?<option value="10" selected', page, re.S
    )
    assert not CodeDefinition.objects.filter(district=set_up).exists()


@pytest.mark.parametrize(
    "value, code, expected",
    [
        ("Ungraded", "NINE", "Grade “Ungraded”: “NINE” is not a grade code"),
        ("", "NINE", "Grade (blank): “NINE” is not a grade code"),
        ("九年级", "NINE", "Grade “九年级”: “NINE” is not a grade code"),
        ("9", "K" * 61, "Grade “9”: the code is longer than 60 characters"),
        ("Ω" * 250, "9", f"Grade “{'Ω' * 40}…”: a Clever value longer than 200 characters (250)"),
    ],
)
def test_code_errors_name_the_field_and_the_value(set_up, value, code, expected):
    allowed = [c for c, _ in sf.code_choices("grade", school_year_end=2027)]
    with pytest.raises(config.CodesError) as info:
        config.codes_save(
            district=set_up,
            data_type="students",
            codes={"grade": {value: code, "10": "10"}},
            allowed={"grade": allowed} if len(code) < 61 else None,
        )
    assert expected in info.value.value_errors[("grade", value)]
    assert expected in info.value.message  # what clever_setup prints
    assert not CodeDefinition.objects.filter(district=set_up).exists()


def test_long_and_non_latin_values_save_and_a_value_too_long_to_store_stays_without_a_code(set_up):
    long_value = "Клас " + "ю" * 300
    config.field_mappings_save(
        district=set_up,
        data_type="students",
        mapping={**sf.suggest_mapping([]), "class_year": "roles.student.ext.cohort"},
    )
    config.codes_save(
        district=set_up,
        data_type="students",
        codes={"class_year": {"二〇三〇年卒業": "2030", "Promoción 2031": "2031", long_value: ""}},
    )
    assert config.saved_codes(district=set_up, data_type="students")["class_year"] == {
        "二〇三〇年卒業": "2030",
        "Promoción 2031": "2031",
    }
    # A class year mapped to a field that holds years stays an absolute year.
    assert set(
        CodeDefinition.objects.filter(district=set_up).values_list("local_code", flat=True)
    ) == {"2030", "2031"}


def test_clever_setup_accepts_a_blank_grade_and_names_field_and_value_when_it_cannot_save(
    district, clever_simulator, clever_ids, local_schools
):
    give_every_grade(clever_simulator)
    district_id, token, _ = clever_ids
    options = dict(
        district=district.slug,
        clever_district=district_id,
        token=token,
        api_url=clever_simulator.url,
        accept_suggestions=True,
        verbosity=0,
    )
    call_command("clever_setup", **options)
    grades = config.saved_codes(district=district, data_type="students")["grade"]
    assert grades[""] == "" and grades["Ungraded"] == "UG"

    # A saved code that is not a class year (written before validation existed) is named.
    CodeDefinition.objects.filter(
        district=district, local_field="class_year", clever_value="9"
    ).update(local_code="ninth")
    with pytest.raises(CommandError) as info:
        call_command("clever_setup", **options)
    assert "Class year “9”: “ninth” is not a class year" in str(info.value)
