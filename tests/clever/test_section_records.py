"""Sections as a staff sync reads them: ``CleverSection`` builds only what is read (its school
and teachers) and gives ``students`` on demand, exactly as it gave them when it built them.

The reference below is the section view as it was (every field read when built): any section
Clever's v3.0 spec allows, and any malformed one, reads the same through both.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.clever import CleverSection
from staff.sync_mapping import sections_by_teacher


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _ids(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def reference(raw: Any) -> dict[str, Any]:
    """What ``CleverSection.from_raw`` read before ``students`` became lazy."""
    data = raw if isinstance(raw, dict) else {}
    value = data.get("id")
    ident = value if isinstance(value, str) else "" if value is None else str(value)
    teacher = data.get("teacher")
    return {
        "id": ident if isinstance(raw, dict) else "",
        "school": _text(data.get("school")),
        "teacher": teacher if isinstance(teacher, str) else None,
        "teachers": _ids(data.get("teachers")),
        "students": _ids(data.get("students")),
    }


def read(section: CleverSection) -> dict[str, Any]:
    return {
        "id": section.id,
        "school": section.school,
        "teacher": section.teacher,
        "teachers": section.teachers,
        "students": section.students,
    }


# Every field of Clever's v3.0 ``Section`` (shared/clever/v3.0.yml), nullable ones included.
FULL_SECTION = {
    "id": "5f0000000000000000000001",
    "district": "5d0000000000000000000001",
    "school": "5e0000000000000000000001",
    "course": "5c0000000000000000000001",
    "created": "2026-08-01T12:00:00.000Z",
    "last_modified": "2026-08-02T12:00:00.000Z",
    "ext": {"room": "B12", "students": ["not", "these"]},
    "grade": "PostGraduate",
    "name": "Algebra I - P2",
    "period": "2",
    "section_number": "ALG-1-2",
    "sis_id": "SEC-42",
    "subject": "math",
    "teacher": "5a0000000000000000000001",
    "teachers": ["5a0000000000000000000001", "5a0000000000000000000002"],
    "students": ["5b0000000000000000000001", "5b0000000000000000000002"],
    "term_id": "5t0000000000000000000001",
}
NULLS = {**FULL_SECTION, **dict.fromkeys(("course", "grade", "period", "section_number"))}
NULLS |= {"subject": None, "teacher": None, "term_id": None}
BLANKS = {**FULL_SECTION, "school": "", "teacher": "", "teachers": [], "students": []}
WRONG_TYPES = {
    "id": 42,
    "school": ["s1"],
    "teacher": 7,
    "teachers": "t1",
    "students": ["ok", None, 3, {"id": "x"}, "", "also ok"],
}
SHAPES = [FULL_SECTION, NULLS, BLANKS, WRONG_TYPES, {}, {"id": None}, None, [], "section", 3]


def test_sections_of_every_shape_read_as_they_did_when_every_field_was_built():
    for raw in SHAPES:
        assert read(CleverSection.from_raw(raw)) == reference(raw), raw


def test_a_full_section_reads_its_teachers_and_students_in_clevers_order():
    section = CleverSection.from_raw(FULL_SECTION)
    assert section.students == FULL_SECTION["students"]
    assert section.teachers == FULL_SECTION["teachers"]
    assert section.raw is FULL_SECTION
    assert CleverSection.from_raw(dict(FULL_SECTION)) == section


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=6))
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
SECTION_KEYS = ("id", "school", "teacher", "teachers", "students", "name", "ext")
SECTIONS = st.dictionaries(
    st.sampled_from(SECTION_KEYS),
    st.one_of(JSON_VALUE, st.lists(st.one_of(st.text(max_size=3), JSON_LEAF), max_size=5)),
)


@settings(max_examples=300, deadline=None)
@given(raw=SECTIONS)
def test_any_section_reads_as_it_did_when_every_field_was_built(raw):
    assert read(CleverSection.from_raw(raw)) == reference(raw)


@settings(max_examples=200, deadline=None)
@given(raws=st.lists(SECTIONS, max_size=8))
def test_teachers_schools_are_the_same_from_raw_sections_and_from_section_views(raws):
    views = [CleverSection.from_raw(raw) for raw in raws]
    assert sections_by_teacher(raws) == sections_by_teacher(views)


def test_section_records_are_the_pages_clever_sent_and_sections_view_them(sim, make_client):
    district_id = sim.dataset.district_ids()[0]
    client = make_client(page_size=3)
    pages = list(client.section_records())
    assert all(1 <= len(page) <= 3 for page in pages)
    raws = [raw for page in pages for raw in page]
    assert raws == [
        sim.dataset.get("sections", i) for i in sim.dataset.index("sections", district_id)
    ]
    views = list(make_client(page_size=3).sections())
    assert [read(v) for v in views] == [reference(raw) for raw in raws]
    assert all(view.students for view in views)
