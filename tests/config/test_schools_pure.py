"""School match suggestions: NCES id first, then normalised names (no database)."""

from __future__ import annotations

import pytest

from integrations.schools import SchoolRef, normalise_school_name, suggest_school_matches


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Lincoln HS", "Lincoln High School"),
        ("LINCOLN HIGH SCHOOL", "lincoln high"),
        ("Washington Elem.", "Washington Elementary School"),
        ("Washington ES", "Washington Elementary"),
        ("St. Mary's H.S.", "Saint Marys High School"),
        ("Roosevelt Jr. High", "Roosevelt Junior High School"),
        ("Valley View MS", "Valley View Middle School"),
        ("Mt. Pleasant Acad.", "Mount Pleasant Academy"),
        ("Science & Tech Ctr", "Science and Technical Center"),
        ("École Côté", "Ecole Cote School"),
        ("The Brook School", "Brook"),
        ("  Oak   Ridge  Elementary ", "Oak Ridge Elementary"),
    ],
)
def test_names_that_mean_the_same_school_normalise_equal(a, b):
    assert normalise_school_name(a) == normalise_school_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Lincoln High School", "Lincoln Middle School"),
        ("Lincoln Elementary", "Lincoln Elementary 2"),
        ("North High", "South High"),
        ("Washington High", "Washington Junior High"),
    ],
)
def test_different_schools_stay_different(a, b):
    assert normalise_school_name(a) != normalise_school_name(b)


def local(*items):
    return [SchoolRef(i, name, nces) for i, (name, nces) in enumerate(items, start=1)]


def clever(*items):
    return [SchoolRef(f"c{i}", name, nces) for i, (name, nces) in enumerate(items, start=1)]


def test_nces_beats_name():
    result = suggest_school_matches(
        local(("Lincoln High", "170993000001")),
        clever(("Lincoln High School", "170993000099"), ("Renamed Campus", "170993000001")),
    )
    assert result[1].clever_id == "c2" and result[1].method == "nces"


def test_nces_ignores_formatting():
    result = suggest_school_matches(local(("A", "17-0993-000001")), clever(("B", "170993000001")))
    assert result[1].clever_id == "c1"


def test_a_clever_school_is_suggested_once():
    # The first local school takes c1 by NCES id; the second would match c1 by name: no suggestion.
    result = suggest_school_matches(
        local(("Other Name", "111"), ("Lincoln High School", "")),
        clever(("Lincoln HS", "111")),
    )
    assert result == {1: result[1]} and result[1].clever_id == "c1"


def test_ambiguous_names_suggest_nothing():
    result = suggest_school_matches(
        local(("Lincoln Elementary", "")),
        clever(("Lincoln Elem", ""), ("Lincoln Elementary School", "")),
    )
    assert result == {}
    result = suggest_school_matches(
        local(("Lincoln Elem", ""), ("Lincoln Elementary School", "")),
        clever(("Lincoln Elementary", "")),
    )
    assert result == {}


def test_duplicate_nces_ids_suggest_nothing_by_nces():
    result = suggest_school_matches(local(("X", "1"), ("Y", "1")), clever(("X", "1")))
    assert result[1].method == "name" and 2 not in result


def test_taken_clever_schools_are_not_suggested():
    assert suggest_school_matches(local(("A", "1")), clever(("A", "1")), taken={"c1"}) == {}


def test_unmatched_local_schools_get_no_suggestion():
    assert suggest_school_matches(local(("Online Academy", "")), clever(("Lincoln", ""))) == {}
