"""One events checkpoint per data type: the students and the staff events runs each apply their
own role's events, in any order and at the same time, and the migration that split the shared
checkpoint continues both from where it was."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from integrations.clever import CleverClient
from integrations.engine.service import run_execute
from integrations.models import CleverConnection, ImportRun, SyncSettings, UpdateLog
from integrations.runs import run_start
from staff import services as staff_services
from staff.models import User
from students.models import Student
from tests.support.clever import fast_client as support_fast_client

pytestmark = pytest.mark.django_db(transaction=True)


fast_client = support_fast_client()


def sync(district, data_type: str, mode: str, *, client_factory=fast_client) -> ImportRun:
    run = run_start(district=district, data_type=data_type, mode=mode, enqueue=False)
    return run_execute(run_id=run.pk, client_factory=client_factory, allow_retry=False).run


def users(sim, role: str) -> list[dict]:
    district_id = sim.dataset.district_ids()[0]
    return [
        u
        for u in sim.dataset.records("users", district_id)
        if isinstance(u.get("roles"), dict) and role in u["roles"]
    ]


def checkpoint(district, data_type: str) -> str:
    return SyncSettings.objects.get(district=district, data_type=data_type).last_event_id


@pytest.fixture
def both_imported(connected, clever_simulator):
    """Students and staff fully imported; then Clever renames one teacher and one student."""
    staff_services.staff_settings_ensure(district=connected)
    assert sync(connected, "students", "import").status == ImportRun.Status.SUCCEEDED
    assert sync(connected, "staff", "test").status == ImportRun.Status.SUCCEEDED
    assert sync(connected, "staff", "import").status == ImportRun.Status.SUCCEEDED
    sim = clever_simulator.dataset
    teacher, student = users(clever_simulator, "teacher")[0], users(clever_simulator, "student")[0]
    sim.update_user(teacher["id"], {"name": dict(teacher["name"], last="Teachrenamed")})
    sim.update_user(student["id"], {"name": dict(student["name"], last="Studrenamed")})
    return {"teacher": teacher["id"], "student": student["id"], "last": sim.events()[-1]["id"]}


def assert_both_applied(district, changed) -> None:
    assert User.objects.get(district=district, clever_id=changed["teacher"]).last_name == (
        "Teachrenamed"
    )
    assert Student.objects.get(district=district, clever_id=changed["student"]).last_name == (
        "Studrenamed"
    )
    assert checkpoint(district, "students") == checkpoint(district, "staff") == changed["last"]
    names = UpdateLog.objects.filter(district=district, field="last_name")
    assert names.count() == 2  # each change applied once, by its own data type's run


def test_student_events_run_leaves_teacher_events_to_the_staff_events_run(connected, both_imported):
    students = sync(connected, "students", "events")
    assert students.status == ImportRun.Status.SUCCEEDED and students.updated == 1
    staff = sync(connected, "staff", "events")
    assert staff.status == ImportRun.Status.SUCCEEDED, staff.error_message
    assert staff.updated == 1
    assert_both_applied(connected, both_imported)


def test_staff_and_student_events_runs_interleaved_both_succeed_and_lose_nothing(
    connected, both_imported
):
    """The staff run has read Clever's events when the students run reads, applies and commits
    its own; then the staff run applies. Neither waits for the reaper, neither loses events."""
    staff_run = run_start(district=connected, data_type="staff", mode="events", enqueue=False)
    students_run = run_start(district=connected, data_type="students", mode="events", enqueue=False)
    finished: list[ImportRun] = []

    def staff_client(conn: CleverConnection) -> CleverClient:
        client = fast_client(conn)
        read = client.events

        def events(**kwargs):
            yield from read(**kwargs)
            finished.append(run_execute(run_id=students_run.pk, client_factory=fast_client).run)

        client.events = events
        return client

    staff = run_execute(run_id=staff_run.pk, client_factory=staff_client).run

    assert [r.status for r in finished] == [ImportRun.Status.SUCCEEDED]
    assert staff.status == ImportRun.Status.SUCCEEDED, staff.error_message
    assert (staff.updated, finished[0].updated) == (1, 1)
    assert_both_applied(connected, both_imported)
    sync_rows = SyncSettings.objects.filter(district=connected)
    assert sorted(sync_rows.values_list("consecutive_failures", flat=True)) == [0, 0]


def test_the_shared_checkpoint_is_copied_to_both_data_types_by_the_migration():
    executor = MigrationExecutor(connection)
    target = next(
        key
        for key in executor.loader.disk_migrations
        if key[0] == "integrations" and "sched_events_checkpoint" in key[1]
    )
    before = [
        dep
        for dep in executor.loader.disk_migrations[target].dependencies
        if dep[0] == "integrations"
    ]
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        district = old.get_model("naviance_sync", "District").objects.create(name="Old", slug="old")
        old.get_model("integrations", "CleverConnection").objects.create(
            district=district, last_event_id="65a0000000000000000000ff"
        )
        rows = old.get_model("integrations", "SyncSettings").objects
        rows.create(district=district, data_type="students", frequency="daily")
        rows.create(
            district=district,
            data_type="staff",
            frequency="manual",
            next_run_at="2026-12-01T02:00Z",
        )

        executor = MigrationExecutor(connection)
        executor.migrate([target])

        new = executor.loader.project_state([target]).apps
        migrated = new.get_model("integrations", "SyncSettings").objects.filter(
            district_id=district.pk
        )
        assert dict(migrated.values_list("data_type", "last_event_id")) == {
            "students": "65a0000000000000000000ff",
            "staff": "65a0000000000000000000ff",
        }
        assert migrated.get(data_type="staff").next_run_at is None  # Manual only
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
