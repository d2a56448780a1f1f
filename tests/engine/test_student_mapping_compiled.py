"""The compiled student mapping (``students.compiled``) decides exactly what the interpreted
per-field steps decide: the same values, the same warnings in the same order, the same
rejection, for any value a field can hold (text of every kind, lengths around the column's,
emails, dates, numbers, objects, missing steps and dotted extension keys)."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from naviance_sync.sync_contract import KEEP, SyncConfig
from students import sync
from students.compiled import after_miss
from students.sync import FIELDS
from tests.support.student_mapping import MAPPING, full_lookup

CONFIG = SyncConfig(
    district_id=1,
    clever_district_id="d1",
    data_type="students",
    mapping=MAPPING,
    codes={
        "grade": {"9": "9", "Kindergarten": "K", "Grade 9": "9"},
        "class_year": {
            "9": "2030",
            "Kindergarten": " 2031",
            "Grade 9": "2032",
            "10": "1850",
            "11": "x",
        },
    },
    school_matches={"cs1": 11},
    known_clever_schools=frozenset({"cs1", "cs2"}),
)


def user(**role_over):
    role = {"sis_id": " 00123 ", "school": "cs1", "credentials": {"district_username": "ann1"}}
    role.update(role_over)
    return {"id": "c1", "district": "d1", "roles": {"student": role}}


def interpreted(raw, config):
    """The mapping the old way: every step looked up and converted by the interpreted code."""
    values = [KEEP] * len(FIELDS)
    warnings = []
    for step in sync._plan_for(config):
        sync._slow_step(step, full_lookup(raw, step[3], step[2], step[8]), values, warnings)
    return values, warnings


def compiled(raw, config):
    values = [KEEP] * len(FIELDS)
    warnings = []
    sync._fill_for(config)(raw, raw["roles"]["student"], values, warnings)
    return values, warnings


def outcome(fn, raw, config):
    try:
        return fn(raw, config)
    except sync._Reject as reject:
        return ("rejected", reject.code, reject.message)


TEXTS = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=300),
    st.sampled_from(
        ["", " ", "Ann", " O'Brien ", "a\tb", "a\nb", "x\x7f", "\u202eevil", "Zoë", "a" * 256]
    ),
    st.sampled_from(
        ["ann@example.org", " ann@example.org ", "not an email", "a@b", "@x.y", "a" * 250 + "@b.co"]
    ),
    st.sampled_from(["1850", "2030", "0999", "Grade 9", "9", "10", "Kindergarten", " 9 "]),
    st.sampled_from(["5/17/2011", "2/30/2011", "17/5/2011", "2011-05-17", " 5/17/2011 "]),
    st.integers(min_value=-5, max_value=3000),
    st.booleans(),
    st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
CONFIGS = [
    CONFIG,
    dataclasses.replace(CONFIG, mapping={**MAPPING, "first_name": "roles.student.ext.nick"}),
    dataclasses.replace(CONFIG, mapping={}, codes={}),
]


@settings(max_examples=400, deadline=None)
@given(
    values=st.fixed_dictionaries(
        {},
        optional={
            key: TEXTS
            for key in (
                "sis_id",
                "state_id",
                "student_number",
                "dob",
                "gender",
                "grade",
                "graduation_year",
            )
        },
    ),
    names=st.fixed_dictionaries({}, optional={k: TEXTS for k in ("first", "middle", "last")}),
    email=TEXTS,
    ext=st.dictionaries(st.sampled_from(["gpa.weighted", "gpa", "nick"]), TEXTS, max_size=3),
    which=st.integers(min_value=0, max_value=len(CONFIGS) - 1),
)
def test_compiled_mapping_matches_the_interpreted_steps(values, names, email, ext, which):
    raw = user(**values, ext=ext)
    raw["name"] = names
    raw["email"] = email
    config = CONFIGS[which]
    assert outcome(compiled, raw, config) == outcome(interpreted, raw, config)


def test_a_new_configuration_compiles_a_new_function():
    first = sync._fill_for(CONFIG)
    assert sync._fill_for(CONFIG) is first
    assert sync._fill_for(dataclasses.replace(CONFIG, mapping={})) is not first


SAMPLES = [
    None,
    "",
    " ",
    "Ann",
    " O'Brien ",
    "a\tb",
    "a\nb",
    "x\x7f",
    "\u202eevil",
    "Zoë",
    "a" * 60,
    "a" * 256,
    "ann@example.org",
    " ann@example.org ",
    "not an email",
    "a" * 250 + "@b.co",
    "5/17/2011",
    "2/30/2011",
    " 5/17/2011 ",
    "1850",
    "2030",
    " 2030",
    "0999",
    "Grade 9",
    "9",
    "10",
    "11",
    "Kindergarten",
    " 9 ",
    "3.5",
    "N/A",
    2030,
    3.5,
    True,
    [],
    {},
]


def test_every_sample_value_in_every_field_maps_the_same():
    keys = ("sis_id", "state_id", "student_number", "dob", "gender", "grade", "graduation_year")
    for config in CONFIGS:
        for value in SAMPLES:
            for key in keys:
                raw = user(**{key: value})
                assert outcome(compiled, raw, config) == outcome(interpreted, raw, config)
            for key in ("first", "middle", "last"):
                raw = user(ext={"gpa.weighted": value, "nick": value})
                raw["name"] = {key: value}
                raw["email"] = value
                assert outcome(compiled, raw, config) == outcome(interpreted, raw, config)


_ABSENT = object()
_KEYS = st.sampled_from(
    [
        "roles",
        "student",
        "ext",
        "gpa_weighted",
        "roles.student",
        "student.ext",
        "ext.gpa_weighted",
        "roles.student.ext",
        "student.ext.gpa_weighted",
        "roles.student.ext.gpa_weighted",
    ]
)
_NESTED = st.recursive(
    st.one_of(st.none(), st.sampled_from(["3.5", ""]), st.integers()),
    lambda inner: st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(raw=st.dictionaries(_KEYS, _NESTED, max_size=4))
def test_the_lookup_after_a_missed_plain_walk_answers_as_the_full_lookup(raw):
    """``after_miss`` (what the compiled mapping calls when its plain nested lookup misses)
    answers what the interpreted lookup (``full_lookup``) does, dotted keys at every level included."""
    path = "roles.student.ext.gpa_weighted"
    parts = tuple(path.split("."))
    # What get_path tries at each level: the rest of the path joined, longest first.
    dotted = tuple(
        tuple(".".join(parts[i:j]) for j in range(len(parts), i + 1, -1)) for i in range(len(parts))
    )
    node = raw
    for part in parts:
        node = node.get(part, _ABSENT) if node.__class__ is dict else _ABSENT
    if node is _ABSENT:  # the plain walk missed: only then is after_miss asked
        sets = tuple(frozenset(level) for level in dotted)
        assert after_miss(raw, parts, path, sets) == full_lookup(raw, parts, path, dotted)
