"""Issue 16, item 12: the Students page sorts names case-insensitively (on PostgreSQL and SQLite
alike), pages through them in that order, and offers grades in school order."""

from __future__ import annotations

import pytest
from django.urls import reverse

from students import selectors
from students.sync import CLEVER_GRADE_ORDER, grade_sort_key
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

# Clever's v3.0 grade enum, in the order of the spec's Student.grade enum.
SPEC_ORDER = [
    "InfantToddler",
    "Preschool",
    "PreKindergarten",
    "TransitionalKindergarten",
    "Kindergarten",
    *[str(n) for n in range(1, 14)],
    "PostGraduate",
    "Ungraded",
    "Other",
]


def test_grade_order_is_the_clever_enum_order():
    assert list(CLEVER_GRADE_ORDER) == SPEC_ORDER
    shuffled = sorted(SPEC_ORDER)  # "1", "10", "11", ... "Ungraded": the old, wrong order
    assert sorted(shuffled, key=grade_sort_key) == SPEC_ORDER


def test_district_codes_follow_clevers_grades():
    grades = ["Senior", "09", "12", "K-Local", "PostGraduate", "14", "Kindergarten", "1"]
    assert sorted(grades, key=grade_sort_key) == [
        "Kindergarten",
        "1",
        "09",
        "12",
        "PostGraduate",
        "14",
        "K-Local",
        "Senior",
    ]


def test_grade_filter_lists_grades_in_school_order(district):
    for grade in ["12", "2", "Kindergarten", "10", "1", "PreKindergarten", "Ungraded", "", "11"]:
        StudentFactory(district=district, grade=grade)
    choices = selectors.student_filter_choices(district=district)["grades"]
    assert choices == ["PreKindergarten", "Kindergarten", "1", "2", "10", "11", "12", "Ungraded"]


def test_names_sort_case_insensitively_across_pages(district):
    names = ["CHEN", "Chavez", "chan", "Ábrego", "de la Cruz", "DIAZ", "Zhou", "o'brien", "Nguyen"]
    for last in names:
        StudentFactory(district=district, last_name=last, first_name="Sam")
    seen = []
    cursor = None
    while True:
        page = selectors.student_list(district=district, cursor=cursor, size=2)
        seen += [s.last_name for s in page.rows]
        if not page.has_next:
            break
        cursor = page.next_cursor
    assert len(seen) == len(names) and set(seen) == set(names)  # every one, once
    assert seen.index("chan") < seen.index("Chavez") < seen.index("CHEN")
    assert seen.index("de la Cruz") < seen.index("DIAZ") < seen.index("Nguyen")
    assert seen.index("Nguyen") < seen.index("o'brien") < seen.index("Zhou")


def test_students_page_shows_chavez_before_chen(admin_client, district):
    StudentFactory(district=district, last_name="CHEN", first_name="Li")
    StudentFactory(district=district, last_name="Chavez", first_name="Ana")
    page = admin_client.get(reverse("students:list")).content.decode()
    assert page.index("Chavez, Ana") < page.index("CHEN, Li")
    assert 'type="search"' in page
