"""P4 (RELIABILITY 6): a stateful machine over the simulator and the real engine.

Rules change the district's Clever data (add, remove, rename, move a student between schools),
and run what an admin or the beat tick runs: a test import, a real import, a real import with a
failure injected at the k-th write to the live table (inside the apply transaction), and the
approval of an import the mass-inactivation guard stopped, and the undo of the newest import not
yet undone (issue 17.3). The invariant, checked after every step: the live students equal a pure
model of "the last successful import" (each Clever student seen by it, with the values it
carried; earlier students it no longer saw are inactive with the values they last had), and a
test import, a failed import or a guard trip never changes them; an undo puts the model back to
what the remaining imports produced (the students the undone import created stay, inactive).

The failure is injected with a Django execute wrapper, so it fires whatever the engine uses to
write (bulk UPDATE, COPY, INSERT): the k-th statement that writes ``students_student`` raises.
Every example starts a fresh district and simulator inside a savepoint that is rolled back.
CI: 50 examples x 20 steps, derandomized: the same examples on every run, so whether the machine
reaches every outcome (asserted below) does not depend on the run's luck. A random draw reached no
approval once in CI's embedded leg (one guard trip in 50 examples), December 2026.
``STATEFUL_EXAMPLES`` / ``STATEFUL_STEPS`` for more, ``STATEFUL_RANDOM=1`` to explore new examples
(then only the invariants are checked, not which outcomes were reached).
"""

from __future__ import annotations

import copy
import os
from itertools import count

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from integrations.engine.service import run_execute
from integrations.engine.undo import UndoRefused, undo_apply
from integrations.models import ImportRun, SyncSettings
from integrations.runs import RunRefused, run_approve, run_start
from integrations.simulator import Dataset, Faults, SimulatorServer
from integrations.simulator.generator import generate_district
from students.models import Student
from tests.factories import DistrictFactory
from tests.support.clever import fast_client
from tests.support.districts import connect_district

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "50"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "20"))
RANDOM = os.environ.get("STATEFUL_RANDOM", "") == "1"
START_STUDENTS = 12
FLOOR = 5  # the guard's floor for this small district (settings.MASS_INACTIVATION_FLOOR)
THRESHOLD = 10  # percent

_BASE: dict = {}
SEEN: dict[str, int] = {}  # what the machine ran, by outcome (the test asserts each was reached)
_serial = count(1)


def base_dataset() -> dict:
    if "data" not in _BASE:
        _BASE["data"] = generate_district(students=START_STUDENTS, staff=0, schools=2, seed=21)
    return copy.deepcopy(_BASE["data"])


class InjectedFailure(Exception):
    """Raised by the execute wrapper at the chosen live write."""


class FailAtWrite:
    """``connection.execute_wrapper``: the k-th statement writing the live student table raises."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.writes = 0
        self.fired = False

    def __call__(self, execute, sql, params, many, context):
        text = sql.lstrip().upper()
        if text.startswith(("INSERT", "UPDATE", "DELETE", "COPY")) and "STUDENTS_STUDENT" in text:
            self.writes += 1
            if self.writes == self.k:
                self.fired = True
                raise InjectedFailure(f"injected at live write {self.k}")
        return execute(sql, params, many, context)


def clever_view(dataset: Dataset, district_id: str) -> dict[str, tuple]:
    """What an import of the dataset now would leave, per Clever student id (the pure model)."""
    out = {}
    for raw in dataset.records("users", district_id):
        student = (raw.get("roles") or {}).get("student")
        if not isinstance(student, dict):
            continue
        name = raw.get("name") or {}
        out[raw["id"]] = (name.get("first", ""), name.get("last", ""), student.get("school"))
    return out


def live_view(district) -> dict[str, tuple]:
    """The live students: Clever id -> (first, last, Clever school id, status)."""
    rows = Student.objects.filter(district=district).values_list(
        "clever_id",
        "first_name",
        "last_name",
        "school__clever_match__clever_school__clever_id",
        "status",
    )
    return {cid: (first, last, school, status) for cid, first, last, school, status in rows}


class SyncMachine(RuleBasedStateMachine):
    """One district, one simulator, and a model of the last successful import."""

    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.server = SimulatorServer(Dataset(base_dataset()), Faults())
        self.server.start()
        self.dataset = self.server.dataset
        self.clever_district = self.dataset.district_ids()[0]
        self.schools = [s["id"] for s in self.dataset.records("schools", self.clever_district)]
        n = next(_serial)
        self.district = DistrictFactory(name=f"Stateful {n}", slug=f"stateful-{n}")
        connect_district(self.district, self.server)
        SyncSettings.objects.filter(district=self.district, data_type="students").update(
            inactivation_threshold_pct=THRESHOLD
        )
        # The model: Clever id -> (first, last, school, status) after the last successful import.
        self.model: dict[str, tuple] = {}
        self.pending_review: ImportRun | None = None
        # Imports that can be undone, newest last, each with the model from before it.
        self.undoable: list[tuple[ImportRun, dict[str, tuple]]] = []
        self.added = 0
        self.template = copy.deepcopy(self.dataset.get("users", self._students()[0]))
        self.log: list[str] = []

    def teardown(self) -> None:
        self.server.stop()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- the model ---------------------------------------------------------------------------

    def _succeeded(self) -> None:
        """A real import applied: every Clever student as Clever has it now; the rest inactive."""
        now = clever_view(self.dataset, self.clever_district)
        model = {cid: (*values[:3], "inactive") for cid, values in self.model.items()}
        model.update({cid: (*values, "active") for cid, values in now.items()})
        self.model = model

    def _run(self, mode: str, *, fail_at: int | None = None) -> ImportRun | None:
        try:
            run = run_start(
                district=self.district, data_type="students", mode=mode, user=None, enqueue=False
            )
        except RunRefused as refused:
            # Only an import already waiting for approval blocks nothing; anything else is a bug.
            raise AssertionError(f"refused: {refused.message}") from None
        return self._execute(run, fail_at=fail_at)

    def _execute(self, run: ImportRun, *, fail_at: int | None = None) -> ImportRun:
        before = live_view(self.district)
        injector = FailAtWrite(fail_at) if fail_at else None
        if injector is not None:
            with connection.execute_wrapper(injector):
                run_execute(run_id=run.pk, allow_retry=False, client_factory=fast_client())
        else:
            run_execute(run_id=run.pk, allow_retry=False, client_factory=fast_client())
        run = ImportRun.objects.get(pk=run.pk)
        self.log.append(f"{run.mode} #{run.pk} -> {run.status} {run.error_message[:60]}")
        key = f"{'approved ' if run.approves_id else ''}{run.mode} {run.status}"
        SEEN[key] = SEEN.get(key, 0) + 1
        if injector is not None and injector.fired:
            SEEN["injected failures"] = SEEN.get("injected failures", 0) + 1
        if injector is not None and injector.fired:
            assert run.status == ImportRun.Status.FAILED, (run.status, run.error_message)
            assert "Nothing was changed" in run.error_message, run.error_message
        if run.status == ImportRun.Status.SUCCEEDED and run.mode == ImportRun.Mode.IMPORT:
            self.undoable.append((run, dict(self.model)))
            self._succeeded()
            self.pending_review = None
        else:
            assert live_view(self.district) == before, f"{run.mode} {run.status} changed live data"
            # Stopped by a limit, or held by the source check before any plan (issue 17): both
            # wait for "Approve this run" and change nothing meanwhile.
            if run.status in (ImportRun.Status.NEEDS_REVIEW, ImportRun.Status.HELD):
                self.pending_review = run
            else:
                assert run.status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.FAILED), (
                    run.status
                )
        return run

    # --- Clever changes ------------------------------------------------------------------------

    def _students(self) -> list[str]:
        return sorted(clever_view(self.dataset, self.clever_district))

    @rule(school=st.integers(min_value=0, max_value=1), first=st.sampled_from(["Ada", "Zoë", "Li"]))
    def add(self, school, first):
        self.added += 1
        template = copy.deepcopy(self.template)
        template.pop("id", None)
        template["name"] = {"first": first, "middle": "", "last": f"Added{self.added}"}
        template["email"] = f"added{self.added}@students.example.org"
        student = template["roles"]["student"]
        student["sis_id"] = student["student_number"] = f"9{self.added:05d}"
        student["state_id"] = f"77{self.added:08d}"
        student["credentials"] = {"district_username": f"added{self.added}"}
        student["school"] = self.schools[school]
        student["schools"] = [self.schools[school]]
        self.dataset.create_user(template)
        self.log.append(f"add {first} Added{self.added}")

    @precondition(lambda self: len(self._students()) > 1)
    @rule(data=st.data())
    def remove(self, data):
        victim = data.draw(st.sampled_from(self._students()))
        self.dataset.delete_user(victim)
        self.log.append(f"remove {victim}")

    @precondition(lambda self: len(self._students()) > 4)
    @rule(data=st.data(), k=st.integers(min_value=2, max_value=3))
    def remove_several(self, data, k):
        """A sharing change or a school leaving: enough removals for the guard to trip."""
        victims = data.draw(
            st.lists(st.sampled_from(self._students()), min_size=k, max_size=k, unique=True)
        )
        for victim in victims:
            self.dataset.delete_user(victim)
        self.log.append(f"remove {victims}")

    @precondition(lambda self: self._students())
    @rule(data=st.data(), last=st.sampled_from(["O'Neil", "Nguyễn", "Smith-Jones", "Renamed"]))
    def rename(self, data, last):
        who = data.draw(st.sampled_from(self._students()))
        self.dataset.update_user(who, {"name": {"last": last}})
        self.log.append(f"rename {who} {last}")

    @precondition(lambda self: self._students())
    @rule(data=st.data(), school=st.integers(min_value=0, max_value=1))
    def move(self, data, school):
        who = data.draw(st.sampled_from(self._students()))
        self.dataset.move_student(who, self.schools[school])
        self.log.append(f"move {who} {school}")

    # --- runs ------------------------------------------------------------------------------------

    @rule()
    def test_import(self):
        run = self._run(ImportRun.Mode.TEST)
        assert run.status == ImportRun.Status.SUCCEEDED, run.error_message

    @rule()
    def real_import(self):
        self._run(ImportRun.Mode.IMPORT)

    @rule(k=st.integers(min_value=1, max_value=3))
    def real_import_that_fails(self, k):
        self._run(ImportRun.Mode.IMPORT, fail_at=k)

    @precondition(lambda self: self.pending_review is not None)
    @rule()
    def approve(self):
        try:
            approval = run_approve(run=self.pending_review, user=None)
        except RunRefused:
            # Already approved once: a changed plan needs a new review (a new real import).
            self.pending_review = None
            return
        self._execute(approval)

    @precondition(lambda self: self.undoable)
    @rule()
    def undo_newest_import(self):
        """Undo the newest import not yet undone: the live students go back to what the
        imports before it produced; students it created stay, inactive."""
        run, before = self.undoable.pop()
        after = self.model
        try:
            undo = undo_apply(run=run)
        except UndoRefused as refused:
            # Only an import that changed nothing has nothing to undo: the live students are
            # what they were before it, but for the students a later import created, which
            # stay, inactive, once that import was undone (found by this machine, 2026-12-04:
            # import, no-change import, add, import, undo, undo).
            assert "changed no records" in refused.message, refused.message
            assert {cid: v for cid, v in after.items() if cid in before} == before
            assert all(v[3] == "inactive" for cid, v in after.items() if cid not in before), after
            SEEN["undo refused (nothing changed)"] = (
                SEEN.get("undo refused (nothing changed)", 0) + 1
            )
            return
        self.log.append(f"undo #{run.pk} -> {undo.status} {undo.error_message[:60]}")
        assert undo.status == ImportRun.Status.SUCCEEDED, undo.error_message
        SEEN["undo succeeded"] = SEEN.get("undo succeeded", 0) + 1
        model = dict(before)
        for cid, values in after.items():
            if cid not in before:
                model[cid] = (*values[:3], "inactive")
        self.model = model

    # --- the invariant ---------------------------------------------------------------------------

    @invariant()
    def live_equals_the_last_successful_import(self):
        assert live_view(self.district) == self.model, "\n".join(self.log[-8:])

    @invariant()
    def nothing_is_left_running(self):
        assert not ImportRun.objects.filter(
            district=self.district, status__in=ImportRun.ACTIVE_STATUSES
        ).exists()


@pytest.fixture
def small_guard(settings, sent):
    settings.MASS_INACTIVATION_FLOOR = FLOOR
    return settings


def test_live_state_is_always_the_last_successful_import(small_guard):
    SEEN.clear()
    run_state_machine_as_test(
        SyncMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            derandomize=not RANDOM,
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print("P4 outcomes:", dict(sorted(SEEN.items())))
    if RANDOM:
        return  # new examples reach what they reach; the invariants above held for each
    # The machine must have reached every kind of outcome, or the invariant proved little.
    for outcome in (
        "test succeeded",
        "import succeeded",
        "import failed",
        "injected failures",
        "import needs_review",
        "undo succeeded",
    ):
        assert SEEN.get(outcome), (outcome, SEEN)
    assert any(key.startswith("approved import") for key in SEEN), SEEN


def test_an_undo_refused_after_a_later_undo_keeps_what_that_undo_left(small_guard):
    """The machine's find, replayed: undoing the import that created a student leaves that
    student inactive; undoing the import before it, which changed nothing, is refused and moves
    nothing, that student included (the machine's model once expected it gone)."""
    machine = SyncMachine()
    try:
        machine.real_import()
        machine.real_import()  # changes nothing
        machine.add(school=0, first="Ada")
        machine.real_import()  # creates Ada
        machine.live_equals_the_last_successful_import()
        machine.undo_newest_import()  # Ada stays, inactive
        machine.live_equals_the_last_successful_import()
        ada = [v for v in machine.model.values() if v[1] == "Added1"]
        assert [v[0] for v in ada] == ["Ada"] and ada[0][3] == "inactive"
        machine.undo_newest_import()  # refused: nothing to undo
        machine.live_equals_the_last_successful_import()
        assert [v for v in machine.model.values() if v[1] == "Added1"] == ada
    finally:
        machine.teardown()
