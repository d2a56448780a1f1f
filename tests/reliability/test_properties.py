"""P2 and P3 (RELIABILITY 6): the student mapping is total and the plan keeps its invariants, on
feeds made by mutating schema-valid Clever records from the simulator's generator.

P2 checks more than "no exception": a value the mapping lets through must also be one the
database accepts (fits its column, no NUL byte, numbers in range), or the failure would only move
from the mapping into the apply transaction and fail the whole import.
P3: conservation, permutation invariance (the same records in another order plan the same),
no record of another Clever district ever created or matched, inactivations only of active
linked records, no local record claimed twice.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from functools import cache

from hypothesis import given
from hypothesis import strategies as st

from integrations.engine.matching import build_index, plan_records
from integrations.simulator.generator import generate_district
from naviance_sync.sync_contract import ErrorCode, SyncConfig
from students import fields as student_fields
from students.models import Student
from students.sync import FIELDS, KEEP, SPEC
from tests.support.reliability import profile

ERROR_CODES = frozenset(ErrorCode)
COLUMNS = {f.attname: f for f in Student._meta.concrete_fields}
SMALLINT_MAX = 32767


@cache
def world():
    """Two Clever districts (ours and a stranger), and our district's configuration."""
    ours = generate_district(students=40, staff=0, schools=3, seed=7)
    other = generate_district(students=10, staff=0, schools=1, seed=8)
    district_id = ours["districts"][0]["id"]
    schools = [s["id"] for s in ours["schools"]]
    mapping = {f.name: f.default_clever_field for f in student_fields.STUDENT_FIELDS}
    students = [u for u in ours["users"] if "student" in (u.get("roles") or {})]
    grades = {u["roles"]["student"].get("grade") for u in students} | {"9", "10", "11", "12"}
    codes = {
        field: student_fields.default_codes(field, grades, school_year_end=2027)
        for field in ("grade", "class_year")
    }
    config = SyncConfig(
        district_id=1,
        clever_district_id=district_id,
        data_type="students",
        mapping=mapping,
        codes=codes,
        # Two of three schools matched: the third is known but out of scope.
        school_matches={schools[0]: 101, schools[1]: 102},
        known_clever_schools=frozenset(schools),
    )
    strangers = [u for u in other["users"] if "student" in (u.get("roles") or {})]
    return config, students, strangers


PATHS = (
    "id",
    "district",
    "email",
    "name",
    "name.first",
    "name.last",
    "name.middle",
    "roles",
    "roles.student",
    "roles.student.sis_id",
    "roles.student.school",
    "roles.student.schools",
    "roles.student.grade",
    "roles.student.dob",
    "roles.student.graduation_year",
    "roles.student.gender",
    "roles.student.state_id",
    "roles.student.student_number",
    "roles.student.credentials",
    "roles.student.credentials.district_username",
    "roles.student.ext",
)
DELETE = object()

nasty_text = st.sampled_from(
    [
        "",
        " ",
        "x" * 100_000,
        "a\x00b",
        "\u202eevil\u202c",
        "😀" * 3,
        "<script>alert(1)</script>",
        "no-at-sign.example.org",
        "a@b",
        "12/31/1999",
        "02/30/2011",
        "13",
        "-1",
        "Kindergarten",
        "1e309",
        "NaN",
        "\t\n",
        "Ж" * 300,
    ]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=30)
    | nasty_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
mutation = st.tuples(st.sampled_from(PATHS), st.one_of(st.just(DELETE), json_values, nasty_text))


def mutate(record: dict, path: str, value) -> dict:
    """Set (or delete) ``path`` in a copy of ``record``, creating or replacing parents."""
    out = copy.deepcopy(record)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if value is DELETE:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value
    return out


def assert_fits_the_database(values: tuple) -> None:
    for name, value in zip(FIELDS, values, strict=False):
        if value is KEEP or value is None:
            continue
        column = COLUMNS.get(name)
        if column is None:
            continue
        if isinstance(value, str):
            assert "\x00" not in value, f"{name}: NUL byte reaches the database"
            if column.max_length:
                assert len(value) <= column.max_length, f"{name}: {len(value)} characters"
        if name in ("class_year", "graduation_year"):
            assert isinstance(value, int) and 0 <= value <= SMALLINT_MAX, (name, value)
        if name in ("weighted_gpa", "unweighted_gpa"):
            assert isinstance(value, Decimal) and value.is_finite(), (name, value)
            assert abs(value) < Decimal("1000") and value.as_tuple().exponent >= -3, value
        if name == "birth_date":
            assert isinstance(value, dt.date), (name, value)


def map_one(raw):
    config, _, _ = world()
    result = SPEC.map_record(raw, config)  # must never raise
    if hasattr(result, "values"):
        assert_fits_the_database(result.values)
        assert isinstance(raw, dict) and raw.get("district") == config.clever_district_id
        assert result.clever_id == raw.get("id")
    else:
        assert result.code in ERROR_CODES, result.code
        assert isinstance(result.message, str) and result.message.strip()
    return result


# --- P2 ------------------------------------------------------------------------------------------


@profile()
@given(st.integers(min_value=0, max_value=39), st.lists(mutation, min_size=1, max_size=4))
def test_p2_mutated_clever_records_map_or_fail_with_a_code(which, mutations):
    _, students, _ = world()
    raw = students[which]
    for path, value in mutations:
        raw = mutate(raw, path, value)
    map_one(raw)


@profile()
@given(json_values)
def test_p2_any_json_value_maps_or_fails_with_a_code(raw):
    map_one(raw)


def test_p2_every_valid_generated_student_maps():
    config, students, strangers = world()
    results = [map_one(raw) for raw in students]
    assert all(hasattr(r, "values") for r in results), [
        r for r in results if not hasattr(r, "values")
    ]
    for raw in strangers:
        result = map_one(raw)
        assert result.code == ErrorCode.WRONG_DISTRICT


# --- P3 ------------------------------------------------------------------------------------------


def local_rows(mapped, *, inactive_every: int = 0, unlinked_every: int = 0):
    """Local records as the engine's index reads them: (pk, clever_id, status, scope, *values)."""
    rows = []
    for n, m in enumerate(mapped):
        if m.scope_school is None:
            continue
        clever_id = None if unlinked_every and n % unlinked_every == 0 else m.clever_id
        status = "inactive" if inactive_every and n % inactive_every == 1 else "active"
        values = tuple(None if v is KEEP else v for v in m.values)
        rows.append((1000 + n, clever_id, status, values[FIELDS.index("school_id")], *values))
    return rows


def plan_of(feed, locals_):
    config, _, _ = world()
    mapped, errors = [], []
    for raw in feed:
        result = map_one(raw)
        (mapped if hasattr(result, "values") else errors).append(result)
    return plan_records(SPEC, config, mapped, errors, build_index(SPEC, locals_))


def summary(plan) -> dict:
    return {
        "counts": plan.counts(),
        "creates": sorted(c.clever_id for c in plan.creates),
        "updates": sorted(u[0] for u in plan.updates),
        "unchanged": sorted(plan.unchanged_pks),
        "inactivations": sorted(i[0] for i in plan.inactivations),
        "errors": sorted((e.clever_id or "", e.code) for e in plan.errors),
        "alerts": sorted(a[0] for a in plan.alerts),
        "skipped": sorted(s[0] for s in plan.skipped),
    }


feeds = st.fixed_dictionaries(
    {
        "keep": st.lists(st.integers(min_value=0, max_value=39), max_size=40, unique=True),
        "mutations": st.lists(
            st.tuples(st.integers(min_value=0, max_value=39), mutation), max_size=12
        ),
        "strangers": st.lists(st.integers(min_value=0, max_value=9), max_size=4),
        "local_prefix": st.integers(min_value=0, max_value=40),
        "inactive_every": st.sampled_from([0, 3, 5]),
        "unlinked_every": st.sampled_from([0, 4, 7]),
    }
)


@profile()
@given(feeds, st.randoms(use_true_random=False))
def test_p3_plan_invariants(spec, rnd):
    config, students, strangers = world()
    previous = [SPEC.map_record(raw, config) for raw in students[: spec["local_prefix"]]]
    locals_ = local_rows(
        [m for m in previous if hasattr(m, "values")],
        inactive_every=spec["inactive_every"],
        unlinked_every=spec["unlinked_every"],
    )
    feed = [students[i] for i in spec["keep"]]
    feed += [mutate(students[i], path, value) for i, (path, value) in spec["mutations"]]
    feed += [strangers[i] for i in spec["strangers"]]

    plan = plan_of(feed, locals_)
    counts = plan.counts()
    # Conservation: every record read ends in exactly one bucket.
    assert counts["created"] + counts["matched"] + counts["errors"] + counts["alerts"] + counts[
        "skipped"
    ] == len(feed)

    # No cross-district record is created or matched.
    def ids(records):
        return {r["id"] for r in records if isinstance(r, dict) and isinstance(r.get("id"), str)}

    ours = [
        r for r in feed if isinstance(r, dict) and r.get("district") == config.clever_district_id
    ]
    foreign = ids(feed) - ids(ours)
    touched_clever = {c.clever_id for c in plan.creates} | {u[1] for u in plan.updates}
    assert not (touched_clever & foreign)
    # Inactivations only of active records linked to Clever, in a synced school.
    linked_active = {
        row[0] for row in locals_ if row[1] and row[2] == "active" and row[3] in (101, 102)
    }
    assert {i[0] for i in plan.inactivations} <= linked_active
    # No local record claimed twice.
    claimed = (
        [u[0] for u in plan.updates] + list(plan.unchanged_pks) + [i[0] for i in plan.inactivations]
    )
    assert len(claimed) == len(set(claimed))
    # Permutation invariance: the same records in another order (pages arrive in any order).
    shuffled = list(feed)
    rnd.shuffle(shuffled)
    assert summary(plan_of(shuffled, locals_)) == summary(plan)
