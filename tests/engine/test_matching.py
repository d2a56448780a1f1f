"""Matching and planning on hard cases: pure, no database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.engine.matching import build_index, plan_records
from naviance_sync.sync_contract import KEEP, Mapped, SyncConfig
from students.sync import FIELDS, SPEC

SCHOOL = 7
OTHER_SCHOOL = 8


def config(**kw) -> SyncConfig:
    base = dict(
        district_id=1,
        clever_district_id="d1",
        data_type="students",
        mapping={},
        codes={},
        school_matches={"cs7": SCHOOL, "cs8": OTHER_SCHOOL},
    )
    base.update(kw)
    return SyncConfig(**base)


def values(**kw):
    row = dict.fromkeys(FIELDS, "")
    row.update(
        school_id=SCHOOL,
        birth_date=None,
        class_year=None,
        graduation_year=None,
        weighted_gpa=None,
        unweighted_gpa=None,
    )
    row.update(kw)
    return tuple(row[f] for f in FIELDS)


def rec(cid, **kw) -> Mapped:
    v = values(**kw)
    return Mapped(cid, v, SPEC.display_name(v), v[0])


def local(pk, clever_id=None, status="active", **kw):
    v = values(**kw)
    return (pk, clever_id, status, v[0], *v)


def plan(records, locals_, **kw):
    index = build_index(SPEC, locals_)
    resolutions = kw.pop("resolutions", None)
    return plan_records(
        SPEC,
        kw.pop("cfg", config()),
        records,
        kw.pop("errors", []),
        index,
        resolutions=resolutions,
        **kw,
    )


def test_clever_id_link_wins_over_a_different_student_id():
    p = plan(
        [rec("c1", student_id="NEW", last_name="A")],
        [local(1, "c1", student_id="OLD", last_name="A"), local(2, student_id="NEW")],
    )
    assert [(u[0], u[3]) for u in p.updates] == [(1, (("student_id", "OLD", "NEW"),))]
    assert not p.creates and not p.alerts


def test_configured_student_id_links_an_unlinked_record():
    p = plan(
        [rec("c1", student_id="S1", first_name="Ann")],
        [local(5, student_id="S1", first_name="Ann")],
    )
    assert p.updates == [(5, "c1", "Ann", (("clever_id", None, "c1"),), False)]


def test_two_unlinked_local_records_with_the_student_id_are_an_alert_not_a_guess():
    p = plan([rec("c1", student_id="S1")], [local(1, student_id="S1"), local(2, student_id="S1")])
    assert [a[2] for a in p.alerts] == [(1, 2)] and not p.updates and not p.creates


def test_same_name_and_birth_date_without_id_is_an_alert():
    dob = date(2010, 3, 4)
    p = plan(
        [rec("c1", student_id="S9", first_name="José", last_name="Núñez", birth_date=dob)],
        [local(3, student_id="X1", first_name="  JOSÉ ", last_name="núñez", birth_date=dob)],
    )
    assert [a[2] for a in p.alerts] == [(3,)] and not p.creates


def test_same_email_any_case_is_an_alert():
    p = plan(
        [rec("c1", student_id="S9", email="Pat.Lee@Example.org")],
        [local(3, student_id="X1", email=" pat.lee@example.org")],
    )
    assert len(p.alerts) == 1


def test_same_name_different_birth_date_is_a_new_student():
    p = plan(
        [
            rec(
                "c1",
                student_id="S9",
                first_name="Ann",
                last_name="Lee",
                birth_date=date(2010, 1, 1),
            )
        ],
        [local(3, student_id="X1", first_name="Ann", last_name="Lee", birth_date=date(2011, 1, 1))],
    )
    assert len(p.creates) == 1 and not p.alerts


def test_two_clever_records_claiming_one_student_id_are_both_errors():
    p = plan([rec("c1", student_id="S1"), rec("c2", student_id="S1")], [local(1, student_id="S1")])
    assert sorted(e.clever_id for e in p.errors) == ["c1", "c2"]
    assert {e.code for e in p.errors} == {"duplicate_link_id"}
    assert not p.updates and not p.creates


def test_duplicate_clever_ids_are_errors_and_protect_the_local_record():
    p = plan(
        [rec("c1", student_id="S1"), rec("c1", student_id="S2")], [local(1, "c1", student_id="S1")]
    )
    assert len(p.errors) == 2 and not p.inactivations


def test_student_id_held_by_a_record_linked_to_a_live_clever_id_is_an_error():
    p = plan(
        [rec("c1", student_id="S1"), rec("c2", student_id="S2")], [local(1, "c2", student_id="S1")]
    )
    assert [e.code for e in p.errors] == ["link_id_taken"]


def test_student_id_held_by_a_record_whose_clever_id_vanished_is_an_alert():
    p = plan([rec("c-new", student_id="S1")], [local(1, "c-old", student_id="S1")])
    # The candidate left Clever: it goes inactive, so Resolve Alerts may match it (and restore it).
    assert len(p.alerts) == 1 and [pk for pk, _c, _n in p.inactivations] == [1]


def test_an_unlinked_alert_candidate_is_protected_from_inactivation():
    p = plan(
        [rec("c-new", student_id="S1")],
        [local(1, None, student_id="S1"), local(2, None, student_id="S1")],
    )
    assert len(p.alerts) == 1 and not p.inactivations


def test_inactive_record_coming_back_is_restored():
    p = plan([rec("c1", student_id="S1")], [local(1, "c1", status="inactive", student_id="S1")])
    assert p.updates[0][4] is True and ("status", "inactive", "active") in p.updates[0][3]
    assert p.counts()["restored"] == 1


def test_absent_linked_records_of_synced_schools_are_inactivated_only():
    locals_ = [
        local(1, "c1", student_id="S1"),
        local(2, "gone", student_id="S2"),
        local(3, None, student_id="S3"),  # never linked: not "no longer in Clever"
        local(4, "gone2", student_id="S4", school_id=99),  # school not synced
        local(5, "gone3", status="inactive", student_id="S5"),
    ]
    p = plan([rec("c1", student_id="S1")], locals_)
    assert [i[0] for i in p.inactivations] == [2]


def test_empty_feed_inactivates_nobody():
    p = plan([], [local(1, "c1"), local(2, "c2")])
    assert p.inactivations == [] and p.notes


def test_resolved_match_and_create_are_remembered():
    dob = date(2010, 3, 4)
    locals_ = [local(3, student_id="X1", first_name="Ann", last_name="Lee", birth_date=dob)]
    r = rec("c1", student_id="S9", first_name="Ann", last_name="Lee", birth_date=dob)
    assert plan([r], locals_, resolutions={"c1": ("match", 3)}).updates[0][0] == 3
    assert len(plan([r], locals_, resolutions={"c1": ("create", None)}).creates) == 1


def test_do_not_import_fields_are_left_alone():
    v = list(values(student_id="S1", email="new@example.org"))
    v[FIELDS.index("email")] = KEEP
    r = Mapped("c1", tuple(v), "x", SCHOOL)
    p = plan([r], [local(1, "c1", student_id="S1", email="kept@example.org")])
    assert p.unchanged_pks == [1]


def test_import_rules():
    locals_ = [local(1, "c1", student_id="S1", last_name="Old"), local(2, "c2", student_id="S2")]
    records = [rec("c1", student_id="S1", last_name="New"), rec("c3", student_id="S3")]
    upd = plan(records, locals_, cfg=config(import_rule="update_only"))
    assert not upd.creates and len(upd.updates) == 1 and len(upd.inactivations) == 1
    cre = plan(records, locals_, cfg=config(import_rule="create_only"))
    assert len(cre.creates) == 1 and not cre.updates and not cre.inactivations


def test_school_scope_skips_other_schools_and_does_not_inactivate_them():
    cfg = config(scope_school_ids=frozenset({SCHOOL}))
    p = plan(
        [rec("c1", student_id="S1", school_id=OTHER_SCHOOL)],
        [local(1, "c2", student_id="S2", school_id=OTHER_SCHOOL)],
        cfg=cfg,
    )
    assert len(p.skipped) == 1 and not p.creates and not p.inactivations


ids = st.text(alphabet="abc123", min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(ids, ids), max_size=12),
    st.lists(st.tuples(st.one_of(st.none(), ids), ids, st.booleans()), max_size=12),
    st.randoms(use_true_random=False),
)
def test_plan_invariants_conservation_and_permutation(feed, locals_spec, rnd):
    records = [rec(f"c{c}", student_id=s) for c, s in feed]
    locals_ = [
        local(i + 1, f"c{c}" if c else None, "active" if a else "inactive", student_id=s)
        for i, (c, s, a) in enumerate(locals_spec)
    ]
    # Unique clever ids locally (the database guarantees it).
    seen, unique = set(), []
    for row in locals_:
        if row[1] and row[1] in seen:
            continue
        seen.add(row[1])
        unique.append(row)
    p = plan(records, unique)
    c = p.counts()
    assert c["created"] + c["matched"] + c["errors"] + c["alerts"] + c["skipped"] == len(records)
    active_linked = {row[0] for row in unique if row[1] and row[2] == "active"}
    assert {i[0] for i in p.inactivations} <= active_linked
    shuffled = list(records)
    rnd.shuffle(shuffled)
    q = plan(shuffled, unique)
    assert q.counts() == c
    assert sorted(i[0] for i in q.inactivations) == sorted(i[0] for i in p.inactivations)


@pytest.mark.parametrize("n", [0, 1, 5])
def test_a_local_record_is_never_claimed_twice(n):
    r = [rec("c1", student_id="S1"), rec("c2", student_id="S2")]
    p = plan(r, [local(1, "c1", student_id="S2")] + [local(10 + i, f"x{i}") for i in range(n)])
    touched = [u[0] for u in p.updates] + p.unchanged_pks
    assert len(touched) == len(set(touched))
