"""Issue 17 items 1, 2 and 7 end to end against the Clever simulator: the source check before a
plan (an empty feed, a feed cut to 40%), limits per operation with "Approve this run" (an update
storm, creates, date of birth / ID changes), and an events checkpoint Clever no longer keeps.
Both data types; the pure boundaries first."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from integrations.engine.safety import (
    Limits,
    SourceFigures,
    limits_check,
    sensitive_changes,
    source_check,
)
from integrations.engine.service import run_execute
from integrations.models import ImportRun, RunResult, SyncSettings, UpdateLog
from integrations.runs import run_approve
from students.models import Student
from tests.support.clever import fast_client, students_in_clever
from tests.support.districts import student_fingerprint

Status = ImportRun.Status

# --- pure boundaries ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "now", "tripped"),
    [(1030, 412, True), (1000, 500, False), (1000, 499, True), (10, 10, False), (10, 20, False)],
)
def test_source_check_records_drop_boundary(before, now, tripped):
    problems = source_check(
        now=SourceFigures(now, 3),
        before=SourceFigures(before, 3),
        local_linked=before,
        limit_pct=50,
        noun="students",
    )
    assert bool(problems) is tripped
    if before == 1030:
        assert problems[0].message == (
            "Clever sent 412 students; the last successful import had 1,030 (-60%, limit 50%)."
        )


def test_source_check_empty_feed_and_schools():
    empty = source_check(
        now=SourceFigures(0, 3), before=None, local_linked=12, limit_pct=50, noun="students"
    )
    assert [p.code for p in empty] == ["empty"]
    # A brand-new district with nothing linked yet: an empty feed is not "wrong".
    assert not source_check(now=SourceFigures(0, 0), before=None, local_linked=0, limit_pct=50)
    schools = source_check(
        now=SourceFigures(100, 1), before=SourceFigures(100, 3), local_linked=100, limit_pct=50
    )
    assert [p.code for p in schools] == ["schools"]
    assert "Clever shared 1 school; the last successful import had 3 (-67%" in schools[0].message


@pytest.mark.parametrize(
    ("op", "count", "tripped"),
    [("update", 75, False), ("update", 76, True), ("create", 500, False), ("inactivate", 11, True)],
)
def test_limits_per_operation_boundaries(op, count, tripped):
    counts = {"creates": 0, "updates": 0, "inactivations": 0, "sensitive": 0}
    counts[{"update": "updates", "create": "creates", "inactivate": "inactivations"}[op]] = count
    trips = limits_check(active_before=100, limits=Limits(), **counts)
    assert [t.op for t in trips] == ([op] if tripped else [])


def test_sensitive_limit_counts_records_and_ignores_the_scope_floor():
    updates = [
        (1, "c1", "A", (("birth_date", "2010-01-01", "2011-01-01"),), False),
        (2, "c2", "B", (("first_name", "A", "B"),), False),
        (3, "c3", "C", (("student_id", "S1", "S2"), ("email", "", "x@y.org")), False),
    ]
    pks = sensitive_changes(updates, ("birth_date", "student_id"))
    assert pks == [1, 3]
    trips = limits_check(
        active_before=3,
        creates=0,
        updates=3,
        inactivations=0,
        sensitive=len(pks),
        limits=Limits(sensitive_count=1),
    )
    assert [t.op for t in trips] == ["sensitive"]  # 3 records < floor: only the count applies


# --- students end to end -----------------------------------------------------------------------

e2e = pytest.mark.django_db(transaction=True)


def _import(run_sync) -> ImportRun:
    run = run_sync("import", client_factory=fast_client())
    assert run.status == Status.SUCCEEDED, (run.status, run.error_message, run.guard_detail)
    return run


def _execute(run: ImportRun) -> ImportRun:
    return run_execute(run_id=run.pk, client_factory=fast_client(), allow_retry=False).run


@e2e
def test_empty_feed_is_held_before_planning_and_emailed_once(connected, run_sync, clever_simulator):
    _import(run_sync)
    for raw in students_in_clever(clever_simulator):
        clever_simulator.dataset.delete_user(raw["id"])
    before = student_fingerprint(connected)
    mail.outbox.clear()
    held = run_sync("import", client_factory=fast_client())
    assert held.status == Status.HELD
    assert "Held: the source looks wrong. Clever sent no students" in held.guard_detail
    assert "the last successful import had 120" in held.guard_detail
    assert held.safety["source"]["failed"] == ["empty"]
    assert student_fingerprint(connected) == before
    assert not RunResult.objects.filter(run=held).exists()  # nothing planned
    assert not UpdateLog.objects.filter(run=held).exists()
    assert len(mail.outbox) == 1 and "held: source looks wrong" in mail.outbox[0].subject
    # The scheduled retry finds the same condition: held again, no second email, no failure.
    again = run_sync("import", client_factory=fast_client())
    assert again.status == Status.HELD and len(mail.outbox) == 1
    sync = SyncSettings.objects.get(district=connected, data_type="students")
    assert sync.consecutive_failures == 0 and not sync.paused_reason


@e2e
def test_feed_cut_to_40_percent_is_held_and_approval_goes_through_the_limits(
    connected, run_sync, clever_simulator, admin_user
):
    _import(run_sync)
    students = students_in_clever(clever_simulator)
    for raw in students[: len(students) * 6 // 10]:  # 72 of 120 gone: 40% left
        clever_simulator.dataset.delete_user(raw["id"])
    before = student_fingerprint(connected)
    test = run_sync("test", client_factory=fast_client())
    assert test.status == Status.SUCCEEDED
    assert "A real import would be held: Clever sent 48 students" in test.guard_detail
    held = run_sync("import", client_factory=fast_client())
    assert held.status == Status.HELD, held.guard_detail
    assert (
        "Clever sent 48 students; the last successful import had 120 (-60%, limit 50%)."
        in held.guard_detail
    )
    assert student_fingerprint(connected) == before
    # Approve this run: the feed is accepted, the limits still apply (72 inactivations > 10%).
    review = _execute(run_approve(run=held, user=admin_user))
    assert review.status == Status.NEEDS_REVIEW, review.guard_detail
    assert review.safety["source"]["accepted"] is True
    assert [t["op"] for t in review.safety["limits"]] == ["inactivate"]
    assert student_fingerprint(connected) == before
    applied = _execute(run_approve(run=review, user=admin_user))
    assert applied.status == Status.SUCCEEDED and applied.inactive == 72


@e2e
def test_update_storm_stops_for_review_and_approve_this_run_keeps_the_limits(
    connected, run_sync, clever_simulator, admin_user
):
    _import(run_sync)
    students = students_in_clever(clever_simulator)
    for raw in students[:100]:  # 100 of 120 renamed: 83% > the 75% update limit
        clever_simulator.dataset.update_user(raw["id"], {"name": {"last": "Storm"}})
    before = student_fingerprint(connected)
    test = run_sync("test", client_factory=fast_client())
    assert test.guard_tripped and "would update 100 records, 83.3%" in test.guard_detail
    assert [t["op"] for t in test.safety["limits"]] == ["update"]
    stopped = run_sync("import", client_factory=fast_client())
    assert stopped.status == Status.NEEDS_REVIEW
    assert "more than the 75% update limit" in stopped.guard_detail
    assert student_fingerprint(connected) == before
    assert RunResult.objects.filter(run=stopped, action="update").count() == 100
    applied = _execute(run_approve(run=stopped, user=admin_user))
    assert applied.status == Status.SUCCEEDED and applied.updated == 100
    assert Student.objects.filter(district=connected, last_name="Storm").count() == 100
    sync = SyncSettings.objects.get(district=connected, data_type="students")
    assert sync.update_limit_pct == Decimal(75)  # approved once; the limit stays
    # The next storm stops again.
    for raw in students[:100]:
        clever_simulator.dataset.update_user(raw["id"], {"name": {"last": "Storm Two"}})
    assert run_sync("import", client_factory=fast_client()).status == Status.NEEDS_REVIEW


@e2e
def test_approval_reviews_again_when_more_records_changed_after_review(
    connected, run_sync, clever_simulator, admin_user
):
    _import(run_sync)
    students = students_in_clever(clever_simulator)
    for raw in students[:100]:
        clever_simulator.dataset.update_user(raw["id"], {"name": {"last": "Storm"}})
    stopped = run_sync("import", client_factory=fast_client())
    for raw in students[100:110]:
        clever_simulator.dataset.update_user(raw["id"], {"name": {"last": "Late"}})
    again = _execute(run_approve(run=stopped, user=admin_user))
    assert again.status == Status.NEEDS_REVIEW
    assert "10 updates were not part of the approved set" in again.guard_detail
    assert not Student.objects.filter(district=connected, last_name="Storm").exists()


@e2e
def test_create_and_sensitive_limits(connected, run_sync, clever_simulator, admin_user):
    _import(run_sync)
    SyncSettings.objects.filter(district=connected).update(
        create_limit_pct=5, sensitive_change_limit=2
    )
    students = students_in_clever(clever_simulator)
    template = students[0]
    school = template["roles"]["student"]["school"]
    for n in range(10):  # 10 new of a 120 scope: 8.3% > 5%
        clever_simulator.dataset.create_user(
            {
                "name": {"first": "Nuevo", "last": f"Alumno {n}"},
                "roles": {
                    "student": {
                        "school": school,
                        "schools": [school],
                        "sis_id": f"NEW{n:04d}",
                        "grade": "9",
                        "dob": "1/2/2011",
                    }
                },
            }
        )
    for raw in students[:3]:  # three dates of birth rewritten: more than 2
        clever_simulator.dataset.update_user(raw["id"], {"roles": {"student": {"dob": "2/2/2002"}}})
    stopped = run_sync("import", client_factory=fast_client())
    assert stopped.status == Status.NEEDS_REVIEW, stopped.guard_detail
    assert [t["op"] for t in stopped.safety["limits"]] == ["create", "sensitive"]
    assert "would create 10 records" in stopped.guard_detail
    assert "date of birth or ID of 3 records" in stopped.guard_detail
    # The records behind the sensitive limit: the updates that change a date of birth or ID.
    from integrations import selectors

    behind = selectors.run_results(run=stopped, action=selectors.SENSITIVE_ACTION).rows
    assert sorted(r.clever_id for r in behind) == sorted(raw["id"] for raw in students[:3])
    shown = selectors.run_safety(run=stopped)
    assert [(limit.label, limit.action) for limit in shown.limits] == [
        ("Create limit", "create"),
        ("Date of birth / ID change limit", "sensitive"),
    ]
    applied = _execute(run_approve(run=stopped, user=admin_user))
    assert applied.status == Status.SUCCEEDED and applied.created == 10


@e2e
def test_clever_sync_json_keeps_its_keys_for_a_held_run(connected, run_sync, clever_simulator):
    _import(run_sync)
    for raw in students_in_clever(clever_simulator):
        clever_simulator.dataset.delete_user(raw["id"])
    out = StringIO()
    call_command(
        "clever_sync",
        district=connected.slug,
        data_type="students",
        mode="import",
        json=True,
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert result["status"] == "held"
    assert set(result) == {"run_id", "status", "guard", *ImportRun.COUNT_FIELDS}
    assert result["guard"].startswith("Held: the source looks wrong.")


# --- events that fell off Clever's window --------------------------------------------------------


def _old_event_id(days: int) -> str:
    return f"{int(time.time() - days * 86400) << 64:024x}"


@e2e
@pytest.mark.parametrize(
    ("checkpoint", "said"),
    [
        (_old_event_id(31), "older than the 30 days Clever keeps changes"),
        (_old_event_id(2), "Clever no longer has the changes since the last one applied"),
    ],
    ids=["older-than-30-days", "unknown-to-clever"],
)
def test_expired_checkpoint_runs_a_guarded_full_sync_instead(
    connected, run_sync, clever_simulator, checkpoint, said
):
    _import(run_sync)
    students = students_in_clever(clever_simulator)
    clever_simulator.dataset.update_user(students[0]["id"], {"name": {"last": "Renamed"}})
    SyncSettings.objects.filter(district=connected).update(last_event_id=checkpoint)
    run = run_sync("events", client_factory=fast_client())
    assert run.status == Status.SUCCEEDED, (run.error_message, run.guard_detail)
    assert run.mode == ImportRun.Mode.IMPORT
    assert said in run.guard_detail
    assert run.records_seen == len(students) and run.updated == 1
    sync = SyncSettings.objects.get(district=connected, data_type="students")
    assert sync.consecutive_failures == 0
    latest = clever_simulator.dataset.events()[-1]["id"]
    assert sync.last_event_id == latest  # the full sync's checkpoint: events go on from here
    nxt = run_sync("events", client_factory=fast_client())
    assert (nxt.mode, nxt.status) == (ImportRun.Mode.EVENTS, Status.SUCCEEDED)


@e2e
def test_expired_checkpoint_full_sync_is_guarded(connected, run_sync, clever_simulator, settings):
    settings.MASS_INACTIVATION_FLOOR = 20
    _import(run_sync)
    for raw in students_in_clever(clever_simulator)[:30]:  # 25% left: over the 10% limit
        clever_simulator.dataset.delete_user(raw["id"])
    SyncSettings.objects.filter(district=connected).update(last_event_id=_old_event_id(40))
    before = student_fingerprint(connected)
    run = run_sync("events", client_factory=fast_client())
    assert (run.mode, run.status) == (ImportRun.Mode.IMPORT, Status.NEEDS_REVIEW)
    assert student_fingerprint(connected) == before


def test_simulator_answers_an_unknown_or_expired_checkpoint_like_clever(clever_simulator):
    from integrations.clever import CleverClient, CleverNotFoundError

    sim = clever_simulator
    with CleverClient(token=sim.token(), base_url=sim.url, sleep=lambda _s: None) as c:
        with pytest.raises(CleverNotFoundError):
            list(c.events(starting_after=_old_event_id(40)))
        with pytest.raises(CleverNotFoundError):
            list(c.events(starting_after="0" * 24))


# --- Sync Settings: limits and support's floors --------------------------------------------------


@pytest.mark.django_db
def test_sync_settings_saves_limits_and_refuses_a_value_below_the_floor(connected, admin_client):
    from django.urls import reverse

    url = reverse("integrations:sync_settings", kwargs={"data_type": "students"})
    form = {
        "scope": "all",
        "frequency": "daily",
        "import_rule": "create_update",
        "threshold_pct": "10",
        "update_limit_pct": "60",
        "create_limit_pct": "",
        "sensitive_change_limit": "3",
        "source_drop_limit_pct": "40",
        "action": "save",
    }
    assert admin_client.post(url, form).status_code == 302
    row = SyncSettings.objects.get(district=connected, data_type="students")
    assert (row.update_limit_pct, row.create_limit_pct, row.sensitive_change_limit) == (
        Decimal(60),
        None,
        3,
    )
    assert row.source_drop_limit_pct == Decimal(40)
    # Support's floors (Django admin): the district cannot go below them.
    SyncSettings.objects.filter(pk=row.pk).update(
        update_floor_pct=70, inactivation_floor_pct=5, sensitive_floor=2
    )
    page = admin_client.post(
        url, {**form, "update_limit_pct": "65", "threshold_pct": "4", "sensitive_change_limit": "1"}
    ).content.decode()
    assert "Support set a floor of 70% for this limit: enter 70% or more" in page
    assert "Support set a floor of 5% for this limit: enter 5% or more." in page
    assert "Support set a floor of 2 records for this limit" in page
    assert 'value="65"' in page  # what was typed stays
    row.refresh_from_db()
    assert row.update_limit_pct == Decimal(60) and row.inactivation_threshold_pct == Decimal(10)
    # Blank (no limit) is above any floor.
    assert admin_client.post(url, {**form, "update_limit_pct": ""}).status_code == 302
    row.refresh_from_db()
    assert row.update_limit_pct is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"update_limit_pct": "0"}, "update_limit_pct"),
        ({"update_limit_pct": "NaN"}, "update_limit_pct"),
        ({"create_limit_pct": "-5"}, "create_limit_pct"),
        ({"sensitive_change_limit": "2.5"}, "sensitive_change_limit"),
        ({"sensitive_change_limit": "abc"}, "sensitive_change_limit"),
        ({"source_drop_limit_pct": "101"}, "source_drop_limit_pct"),
        ({"source_drop_limit_pct": "٥٠"}, None),  # Arabic-Indic 50: a number, accepted
    ],
)
def test_sync_settings_service_refuses_limits_out_of_range(connected, limits, field):
    """The service checks what any caller (not only the form) passes, naming the field."""
    from integrations import config

    def save():
        return config.sync_settings_save(
            district=connected,
            data_type="students",
            scope="all",
            frequency="daily",
            import_rule="create_update",
            threshold_pct="10",
            limits=limits,
        )

    if field is None:
        assert save().source_drop_limit_pct == Decimal(50)
        return
    with pytest.raises(config.ConfigError) as refused:
        save()
    assert set(refused.value.errors) == {field}
