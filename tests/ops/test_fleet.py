"""Fleet selectors, support's two actions and the support console in Django admin (issue 19)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations import fleet, runs
from integrations.models import ImportRun, SyncSettings
from integrations.selectors import review_pending
from naviance_sync.models import AuditEvent
from tests.factories import DistrictAdminFactory, SupportStaffFactory
from tests.ops.scenario import build_fleet, connected_district, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Runs sent to a worker (by id, after commit) are recorded, not sent to a broker."""
    out: list[int] = []
    monkeypatch.setattr(runs, "_send_run", out.append)
    return out


@pytest.fixture
def support(db):
    return SupportStaffFactory(username="support-sam")


def _names(section):
    return sorted({r.district_name for r in section.rows})


def test_fleet_health_puts_each_district_in_its_section_only():
    f = build_fleet()
    sections = {s.key: s for s in fleet.fleet_health()}
    assert _names(sections["stale"]) == [f.stale.name]
    assert _names(sections["paused"]) == [f.paused.name]
    assert _names(sections["review"]) == [f.held.name]
    assert [r.run_id for r in sections["review"].rows] == [f.held_run.pk]
    # The paused district failed too; the failing one has a failed run and a connection error.
    assert _names(sections["failing"]) == sorted([f.paused.name, f.failing.name])
    assert sections["failing"].count == 3  # two schedules + one connection
    assert {s.key: s.count for s in sections.values()} == {
        "stale": 1,
        "paused": 1,
        "review": 1,
        "failing": 3,
    }


@pytest.mark.parametrize(
    ("frequency", "age", "stale"),
    [
        ("6h", timedelta(hours=11), False),
        ("6h", timedelta(hours=13), True),
        ("12h", timedelta(hours=23), False),
        ("12h", timedelta(hours=25), True),
        ("daily", timedelta(hours=47), False),
        ("daily", timedelta(hours=49), True),
        ("weekly", timedelta(days=13), False),
        ("weekly", timedelta(days=15), True),
        ("manual", timedelta(days=400), False),
    ],
)
def test_stale_is_twice_the_frequency(frequency, age, stale):
    d = connected_district("Fir", "fir", frequency=frequency, last_ok=timezone.now() - age)
    assert fleet.stale_schedules().filter(district=d).exists() is stale
    health = fleet.district_health(district=d)
    assert health.types[0].stale is stale


def test_events_runs_do_not_make_a_schedule_fresh_and_a_newer_import_does():
    now = timezone.now()
    d = connected_district("Fir", "fir", last_ok=now - timedelta(days=3))
    make_run(d, mode="events", at=now - timedelta(minutes=5))
    make_run(d, mode="test", at=now - timedelta(minutes=4))
    make_run(d, status="failed", at=now - timedelta(minutes=3))
    assert fleet.stale_schedules().filter(district=d).exists()
    make_run(d, at=now - timedelta(minutes=1))
    assert not fleet.stale_schedules().filter(district=d).exists()


def test_disabled_schedules_are_never_stale():
    d = connected_district("Fir", "fir", last_ok=timezone.now() - timedelta(days=30))
    SyncSettings.objects.filter(district=d).update(enabled=False)
    assert not fleet.stale_schedules().exists()


def test_held_reviews_agree_with_review_pending_in_every_case():
    now = timezone.now()
    cases = {}
    # waiting; approved; replaced by a later import; a later failure replaces nothing;
    # a test import stopped for review holds nothing; replaced by a later events run.
    for slug, after in [
        ("waiting", None),
        ("approved", "approve"),
        ("replaced", "succeeded"),
        ("later-failed", "failed"),
        ("test-mode", "test"),
        ("events-later", "events"),
    ]:
        d = connected_district(slug, slug)
        held = make_run(
            d,
            status="needs_review",
            mode="test" if after == "test" else "import",
            at=now - timedelta(hours=1),
        )
        if after == "approve":
            make_run(d, status="queued", approves=held, trigger="approval", at=now)
        elif after in ("succeeded", "failed"):
            make_run(d, status=after, at=now)
        elif after == "events":
            make_run(d, mode="events", at=now)
        cases[slug] = (d, held)
    held_ids = set(fleet.held_reviews().values_list("pk", flat=True))
    for _slug, (d, held) in cases.items():
        waiting = review_pending(district_id=d.pk, data_type="students")
        assert (held.pk in held_ids) is (waiting is not None and waiting.pk == held.pk), _slug
    assert {cases["waiting"][1].pk, cases["later-failed"][1].pk} == held_ids


def test_district_health_reports_every_part():
    f = build_fleet()
    h = fleet.district_health(district=f.paused)
    students = h.types[0]
    assert students.data_type == "students"
    assert students.consecutive_failures == 3
    assert students.schedule_state == "paused"
    assert "Clever is unreachable" in students.paused_reason
    assert students.last_import_at is not None and not students.stale
    assert students.checkpoint == "evt-0001"
    assert timedelta(hours=1) < students.checkpoint_age < timedelta(hours=3)
    assert students.checkpoint_age_text.startswith("2 h")
    assert h.connection_state.startswith("Connected") and h.failing
    held = fleet.district_health(district=f.held).types[0]
    assert held.review_run_id == f.held_run.pk and held.schedule_state == "review"
    failing = fleet.district_health(district=f.failing)
    assert failing.connection_error.startswith("Clever no longer shares")
    assert failing.failing
    assert not fleet.district_health(district=f.healthy).failing
    # Staff is enabled for the district but never configured: listed, with nothing to show.
    staff = fleet.district_health(district=f.healthy).types[1]
    assert (staff.data_type, staff.last_import_at, staff.checkpoint_age) == ("staff", None, None)


def test_support_resume_resumes_and_is_audited_with_who(support):
    f = build_fleet()
    sync = fleet.support_schedule_resume(district=f.paused, data_type="students", actor=support)
    assert (sync.paused_reason, sync.consecutive_failures) == ("", 0)
    event = AuditEvent.objects.get(district=f.paused, action="support.schedule.resumed")
    assert event.actor == support and event.actor_label == "support-sam"
    assert "Clever is unreachable" in event.old_value and event.new_value == ""
    with pytest.raises(fleet.SupportActionRefused, match="is not paused"):
        fleet.support_schedule_resume(district=f.paused, data_type="students", actor=support)
    with pytest.raises(fleet.SupportActionRefused, match="not a data type"):
        fleet.support_schedule_resume(district=f.paused, data_type="teachers", actor=support)


@pytest.mark.django_db(transaction=True)
def test_support_start_run_queues_by_id_and_is_audited(support, sent):
    f = build_fleet()
    run = fleet.support_run_start(district=f.stale, data_type="students", actor=support)
    assert (run.status, run.mode, run.started_by) == ("queued", "import", support)
    assert sent == [run.pk]
    event = AuditEvent.objects.get(district=f.stale, action="run.started")
    assert event.actor == support
    with pytest.raises(fleet.SupportActionRefused, match="already in progress"):
        fleet.support_run_start(district=f.stale, data_type="students", actor=support)


# --- the admin ----------------------------------------------------------------------------------


@pytest.fixture
def support_client(client, support):
    client.force_login(support)
    return client


def test_fleet_page_lists_counts_and_links(support_client):
    f = build_fleet()
    response = support_client.get(reverse("admin:integrations_fleet"))
    assert response.status_code == 200
    html = response.content.decode()
    for district in (f.stale, f.paused, f.held, f.failing):
        assert reverse("admin:naviance_sync_district_change", args=[district.pk]) in html
    assert f.healthy.name not in html
    assert reverse("admin:integrations_importrun_change", args=[f.held_run.pk]) in html
    assert '<strong id="count-failing">3</strong>' in html
    index = support_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:integrations_fleet") in index


def test_fleet_actions_resume_and_start_from_the_page(support_client, support, sent):
    f = build_fleet()
    response = support_client.post(
        reverse("admin:integrations_fleet_resume"),
        {"district": f.paused.pk, "data_type": "students"},
        follow=True,
    )
    assert "automatic students syncs resumed" in response.content.decode()
    assert SyncSettings.objects.get(district=f.paused).paused_reason == ""
    assert AuditEvent.objects.filter(
        district=f.paused, action="support.schedule.resumed", actor=support
    ).exists()
    response = support_client.post(
        reverse("admin:integrations_fleet_resume"),
        {"district": f.paused.pk, "data_type": "students"},
        follow=True,
    )
    assert "is not paused" in response.content.decode()
    support_client.post(
        reverse("admin:integrations_fleet_start"), {"district": f.stale.pk, "data_type": "students"}
    )
    run = ImportRun.objects.filter(district=f.stale, status="queued").get()
    assert run.started_by == support
    assert support_client.get(reverse("admin:integrations_fleet_start")).status_code == 405
    for bad in ({"district": "x'; --", "data_type": "students"}, {"data_type": "students"}):
        response = support_client.post(reverse("admin:integrations_fleet_start"), bad, follow=True)
        assert "Choose a district." in response.content.decode()
    response = support_client.post(
        reverse("admin:integrations_fleet_start"),
        {"district": f.stale.pk, "data_type": "teachers"},
        follow=True,
    )
    assert "teachers&quot; is not a data type" in response.content.decode()


def test_district_changelist_actions_resume_and_start(support_client, sent):
    f = build_fleet()
    url = reverse("admin:naviance_sync_district_changelist")
    support_client.post(
        url,
        {"action": "support_schedule_resume_students", "_selected_action": [f.paused.pk]},
    )
    assert SyncSettings.objects.get(district=f.paused).paused_reason == ""
    support_client.post(
        url, {"action": "support_run_start_students", "_selected_action": [f.stale.pk]}
    )
    assert ImportRun.objects.filter(district=f.stale, status="queued").count() == 1
    page = support_client.get(url).content.decode()
    assert "Failures in a row" in page and "Last successful import" in page


def test_district_page_shows_its_sync_health(support_client):
    f = build_fleet()
    html = support_client.get(
        reverse("admin:naviance_sync_district_change", args=[f.held.pk])
    ).content.decode()
    assert "Sync health" in html
    assert reverse("admin:integrations_importrun_change", args=[f.held_run.pk]) in html
    assert "evt-0001" in html
    html = support_client.get(
        reverse("admin:naviance_sync_district_change", args=[f.failing.pk])
    ).content.decode()
    assert "Clever no longer shares" in html


def test_run_admin_is_read_only_with_the_district_admins_summary(support_client):
    f = build_fleet()
    url = reverse("admin:integrations_importrun_change", args=[f.held_run.pk])
    html = support_client.get(url).content.decode()
    assert "40% of active students" in html
    assert "What the district admin sees" in html
    assert f"<code>/integrations/runs/{f.held_run.pk}/</code>" in html
    # Why admin shows the summary: support cannot open the district's portal page.
    assert support_client.get(f"/integrations/runs/{f.held_run.pk}/").status_code == 403
    assert 'name="_save"' not in html
    assert support_client.post(url, {}).status_code == 403
    changelist = reverse("admin:integrations_importrun_changelist")
    for query in (
        "?status__exact=needs_review",
        "?data_type__exact=students&mode__exact=import",
        f"?district__id__exact={f.held.pk}",
        "?created_at__year=2026",
        "?q=Dogwood",
        "?q=not-a-number",
        f"?q={f.held_run.pk}",
    ):
        response = support_client.get(changelist + query)
        assert response.status_code == 200, query
    html = support_client.get(changelist + "?status__exact=needs_review").content.decode()
    assert re.findall(r'class="field-district[^"]*">([^<]*)<', html) == [f.held.name]


def test_district_admins_never_reach_the_support_console(client):
    f = build_fleet()
    client.force_login(DistrictAdminFactory(district=f.held, username="admin-dogwood"))
    for url in (
        reverse("admin:integrations_fleet"),
        reverse("admin:integrations_importrun_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.post(
        reverse("admin:integrations_fleet_resume"),
        {"district": f.paused.pk, "data_type": "students"},
    )
    assert response.status_code == 302
    assert SyncSettings.objects.get(district=f.paused).paused_reason != ""
