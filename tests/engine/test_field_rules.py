"""Issue 17 item 4, field rules (who wins), end to end against the Clever simulator: a locally
edited GPA under "Keep local edits", "Clever always wins" and "Fill only when empty"; a rule
changed between two runs; a test import that shows the kept value and writes nothing; an events
run after a full sync; a staff field. The pure rule first."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.engine.field_rules import (
    CLEVER_WINS,
    FILL_EMPTY,
    KEEP_LOCAL,
    baseline_after,
    rule_changes,
)
from integrations.field_rules import rules_save
from integrations.models import ImportRun, RunResult, UpdateLog
from naviance_sync.imported import edited_fields, encode
from students.models import Student
from students.services import locally_edited, student_edit
from tests.support.clever import by_clever_id, fast_client, students_in_clever

Status = ImportRun.Status
KEPT = RunResult.Action.KEPT_LOCAL

# --- pure ----------------------------------------------------------------------------------------


def test_encode_is_canonical_so_equal_values_compare_equal():
    assert encode(Decimal("3.900")) == encode(Decimal("3.9")) == "3.9"
    assert encode("") is None and encode(None) is None
    assert edited_fields({"weighted_gpa": Decimal("3.500")}, {"weighted_gpa": "3.5"}) == ()
    assert edited_fields({"weighted_gpa": Decimal("3.9")}, {"weighted_gpa": "3.5"}) == (
        "weighted_gpa",
    )
    # A field the last import did not write is not "edited": nothing is known about it.
    assert edited_fields({"email": "a@b.org"}, {}) == ()


@pytest.mark.parametrize(
    ("rule", "local", "imported", "kept"),
    [
        (KEEP_LOCAL, Decimal("3.9"), {"weighted_gpa": "3.5"}, True),  # edited here
        (KEEP_LOCAL, Decimal("3.5"), {"weighted_gpa": "3.5"}, False),  # not edited
        (KEEP_LOCAL, Decimal("3.9"), {}, False),  # imported before rules: Clever wins
        (FILL_EMPTY, Decimal("3.5"), {}, True),  # not empty
        (FILL_EMPTY, None, {"weighted_gpa": "3.5"}, False),  # blank: filled
        (CLEVER_WINS, Decimal("3.9"), {"weighted_gpa": "3.5"}, False),
    ],
)
def test_rule_changes(rule, local, imported, kept):
    changes = (("weighted_gpa", local, Decimal("2.5")), ("first_name", "A", "B"))
    left, held = rule_changes(changes, {"weighted_gpa": rule}, imported)
    assert bool(held) is kept
    assert ("first_name", "A", "B") in left  # a field without a rule: Clever wins
    assert (changes[0] in left) is not kept


def test_baseline_moves_only_with_written_rule_fields():
    fields = frozenset({"weighted_gpa", "email"})
    assert baseline_after({"weighted_gpa": "3.5"}, [("school_id", 1, 2)], fields) is None
    assert baseline_after(
        {"weighted_gpa": "3.5"}, [("weighted_gpa", None, Decimal("2.50"))], fields
    ) == {"weighted_gpa": "2.5"}


# --- students end to end -------------------------------------------------------------------------

e2e = pytest.mark.django_db(transaction=True)


def _ok(run: ImportRun) -> ImportRun:
    assert run.status == Status.SUCCEEDED, (run.status, run.error_message, run.guard_detail)
    return run


def _with_gpa(sim, n: int = 2) -> list[dict]:
    found = [
        u
        for u in students_in_clever(sim)
        if (u["roles"]["student"].get("ext") or {}).get("gpa_weighted")
    ]
    assert len(found) >= n
    return found[:n]


def _clever_gpa(sim, raw: dict, value: str) -> None:
    sim.dataset.update_user(raw["id"], {"roles": {"student": {"ext": {"gpa_weighted": value}}}})


def _edit(district, clever_id: str, **values) -> Student:
    student = by_clever_id(district, clever_id)
    assert student_edit(student=student, values=values)
    return by_clever_id(district, clever_id)


def _rule(district, data_type: str = "students", **rules) -> None:
    rules_save(district=district, data_type=data_type, rules=rules)


def _kept_rows(run: ImportRun) -> list[RunResult]:
    return list(RunResult.objects.filter(run=run, action=KEPT))


@e2e
def test_locally_edited_gpa_is_kept_and_reported_with_keep_local_edits(
    connected, run_sync, clever_simulator
):
    _ok(run_sync("import", client_factory=fast_client()))
    edited, untouched = _with_gpa(clever_simulator)
    _rule(connected, weighted_gpa=KEEP_LOCAL)
    student = _edit(connected, edited["id"], weighted_gpa=Decimal("3.111"))
    assert [label for _f, label in locally_edited(student)] == ["Weighted GPA"]
    _clever_gpa(clever_simulator, edited, "2.500")
    _clever_gpa(clever_simulator, untouched, "2.600")

    # A test import shows the kept value and writes nothing.
    test = _ok(run_sync("test", client_factory=fast_client()))
    assert test.kept == 1 and test.updated == 1  # the untouched student's GPA still follows
    [row] = _kept_rows(test)
    assert row.local_id == student.pk and row.changes == {"weighted_gpa": ["3.111", "2.500"]}
    assert "Weighted GPA (edited here since the last import (Keep local edits))" in row.reason
    assert by_clever_id(connected, edited["id"]).weighted_gpa == Decimal("3.111")
    assert by_clever_id(connected, untouched["id"]).weighted_gpa != Decimal("2.600")

    run = _ok(run_sync("import", client_factory=fast_client()))
    assert run.kept == 1 and run.counts()["kept"] == 1
    assert by_clever_id(connected, edited["id"]).weighted_gpa == Decimal("3.111")
    assert by_clever_id(connected, untouched["id"]).weighted_gpa == Decimal("2.600")
    assert [r.local_id for r in _kept_rows(run)] == [student.pk]
    assert not UpdateLog.objects.filter(run=run, record_id=student.pk).exists()
    # Still edited here (the last import did not write it): the next import keeps it again.
    assert locally_edited(by_clever_id(connected, edited["id"]))
    assert _ok(run_sync("import", client_factory=fast_client())).kept == 1


@e2e
def test_clever_always_wins_overwrites_the_local_edit(connected, run_sync, clever_simulator):
    _ok(run_sync("import", client_factory=fast_client()))
    [edited] = _with_gpa(clever_simulator, 1)
    _edit(connected, edited["id"], weighted_gpa=Decimal("3.111"))
    _clever_gpa(clever_simulator, edited, "2.500")
    run = _ok(run_sync("import", client_factory=fast_client()))
    student = by_clever_id(connected, edited["id"])
    assert student.weighted_gpa == Decimal("2.500") and run.kept == 0
    assert not _kept_rows(run)
    assert locally_edited(student) == []  # what the import wrote is the value now


@e2e
def test_fill_only_when_empty_fills_blanks_and_never_overwrites(
    connected, run_sync, clever_simulator
):
    _ok(run_sync("import", client_factory=fast_client()))
    blank, filled = _with_gpa(clever_simulator)
    _rule(connected, weighted_gpa=FILL_EMPTY)
    _edit(connected, blank["id"], weighted_gpa=None)
    _clever_gpa(clever_simulator, filled, "2.700")  # not edited, but not empty: stays
    run = _ok(run_sync("import", client_factory=fast_client()))
    assert by_clever_id(connected, blank["id"]).weighted_gpa == Decimal(
        blank["roles"]["student"]["ext"]["gpa_weighted"]
    )
    assert by_clever_id(connected, filled["id"]).weighted_gpa != Decimal("2.700")
    assert run.kept == 1 and "Fill only when empty" in _kept_rows(run)[0].reason


@e2e
def test_a_rule_changed_between_two_runs(connected, run_sync, clever_simulator):
    _ok(run_sync("import", client_factory=fast_client()))
    [edited] = _with_gpa(clever_simulator, 1)
    _rule(connected, weighted_gpa=KEEP_LOCAL)
    _edit(connected, edited["id"], weighted_gpa=Decimal("3.111"))
    _clever_gpa(clever_simulator, edited, "2.500")
    assert _ok(run_sync("import", client_factory=fast_client())).kept == 1
    assert by_clever_id(connected, edited["id"]).weighted_gpa == Decimal("3.111")
    _rule(connected, weighted_gpa=CLEVER_WINS)
    run = _ok(run_sync("import", client_factory=fast_client()))
    assert run.kept == 0 and run.updated == 1
    assert by_clever_id(connected, edited["id"]).weighted_gpa == Decimal("2.500")
    # Back to keep-local: the value is Clever's again (not edited), so Clever's changes flow.
    _rule(connected, weighted_gpa=KEEP_LOCAL)
    _clever_gpa(clever_simulator, edited, "2.400")
    assert _ok(run_sync("import", client_factory=fast_client())).kept == 0
    assert by_clever_id(connected, edited["id"]).weighted_gpa == Decimal("2.400")


@e2e
def test_events_run_after_a_full_sync_honours_the_rule(connected, run_sync, clever_simulator):
    _ok(run_sync("import", client_factory=fast_client()))
    edited, untouched = _with_gpa(clever_simulator)
    _rule(connected, weighted_gpa=KEEP_LOCAL)
    _edit(connected, edited["id"], weighted_gpa=Decimal("3.111"))
    _clever_gpa(clever_simulator, edited, "2.500")
    _clever_gpa(clever_simulator, untouched, "2.600")
    run = _ok(run_sync("events", client_factory=fast_client()))
    assert run.mode == ImportRun.Mode.EVENTS and run.kept == 1 and run.updated == 1
    assert by_clever_id(connected, edited["id"]).weighted_gpa == Decimal("3.111")
    assert by_clever_id(connected, untouched["id"]).weighted_gpa == Decimal("2.600")
    assert [r.local_id for r in _kept_rows(run)] == [by_clever_id(connected, edited["id"]).pk]
