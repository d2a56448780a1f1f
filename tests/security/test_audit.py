"""S11: every change path writes an audit event (actor, old -> new), and the Audit Log page shows
a district admin their own district's events only, filterable, paginated, cheaply."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from integrations import config
from integrations.alerts import alert_choose
from integrations.models import Alert, ImportRun, SchoolMatch
from integrations.schools import school_matches_save
from naviance_sync import services as launch
from naviance_sync.audit import audit_record
from naviance_sync.models import AuditEvent
from tests.factories import StudentFactory, SupportStaffFactory
from tests.support.districts import connect_district

pytestmark = pytest.mark.django_db


def events(district, action):
    return list(AuditEvent.objects.filter(district=district, action=action))


def test_every_change_path_is_audited_with_actor_and_old_new(
    district, admin_user, clever_simulator
):
    connect_district(district, clever_simulator)
    support = SupportStaffFactory(username="support-1")

    # Sync settings.
    config.sync_settings_save(
        district=district,
        actor=admin_user,
        data_type="students",
        scope="all",
        frequency="6h",
        import_rule="update_only",
        threshold_pct="15",
    )
    saved = events(district, "clever.students.settings.saved")
    assert saved and all(e.actor == admin_user for e in saved)
    assert {(e.field, e.new_value) for e in saved} >= {("import_rule", "update_only")}

    # Field mappings.
    current, _ = config.mapping_choices_or_suggested(
        district=district, data_type="students", available=()
    )
    changed = dict(current, district_username="")
    config.field_mappings_save(
        district=district,
        actor=admin_user,
        data_type="students",
        mapping=changed,
        available=[v for v in current.values() if v],
    )
    mapped = events(district, "clever.students.fields.saved")
    assert any(e.field == "district_username" and e.new_value == "" and e.old_value for e in mapped)

    # Codes.
    codes = config.saved_codes(district=district, data_type="students")
    grade_value = next(iter(codes["grade"]))
    codes["grade"][grade_value] = ""
    config.codes_save(district=district, actor=admin_user, data_type="students", codes=codes)
    assert events(district, "clever.students.codes.saved")

    # School matches.
    match = SchoolMatch.objects.filter(district=district).first()
    school_matches_save(district=district, actor=admin_user, choices={match.school_id: ""})
    matched = events(district, "clever.school_match.saved")
    assert matched and matched[0].actor == admin_user and matched[0].old_value

    # Recipients.
    config.recipients_add(
        district=district, actor=admin_user, data_type="students", text="a@maple.example.org"
    )
    assert events(district, "clever.students.recipients.added")

    # Alert resolution.
    student = StudentFactory(district=district)
    alert = Alert.objects.create(
        district=district, data_type="students", clever_id="c-x", candidate_ids=[student.pk]
    )
    alert_choose(
        district=district, alert_id=alert.pk, choice="match", local_id=student.pk, user=admin_user
    )
    resolved = events(district, "alert.resolved")
    assert resolved and resolved[0].old_value == "Open" and resolved[0].actor == admin_user

    # Who started an import, and who approved one the guard stopped.
    from integrations.runs import run_approve, run_start

    run = run_start(
        district=district, data_type="students", mode="test", user=admin_user, enqueue=False
    )
    (started,) = events(district, "run.started")
    assert started.actor == admin_user and started.object_id == str(run.pk)
    assert started.new_value == "Test import of Students queued"
    ImportRun.objects.filter(pk=run.pk).update(status="needs_review", mode="import")
    run.refresh_from_db()
    approval = run_approve(run=run, user=admin_user)
    (approved,) = events(district, "run.approved")
    assert (
        approved.object_id == str(approval.pk) and approved.old_value == f"#{run.pk} needs review"
    )

    # Launch date (support staff in Django admin).
    before = district.launch_date
    launch.launch_date_set(district=district, new_date=dt.date(2031, 1, 6), actor=support)
    launched = AuditEvent.objects.filter(district=district, action__startswith="launch.").first()
    assert launched.actor == support and launched.new_value == "2031-01-06"
    assert launched.old_value == (str(before) if before else "")

    # Connection reset.
    config.connection_reset(district=district, actor=admin_user)
    assert AuditEvent.objects.filter(
        district=district, action__startswith="clever.connection"
    ).exists()

    # Every event names who did it.
    assert not AuditEvent.objects.filter(district=district, actor_label="").exists()


def test_audit_log_page_is_scoped_filterable_and_cheap(
    client, district, other_district, admin_user, other_admin, django_assert_max_num_queries
):
    for n in range(120):
        audit_record(
            district=district,
            actor=admin_user,
            action="clever.students.settings.saved" if n % 2 else "alert.resolved",
            field="f",
            old=f"old-{n}",
            new=f"new-{n}",
        )
    audit_record(
        district=other_district, actor=other_admin, action="secret.other", old="OTHER-MARK"
    )
    client.force_login(admin_user)
    url = reverse("audit_log")
    with django_assert_max_num_queries(12):
        first = client.get(url)
    body = first.content.decode()
    assert first.status_code == 200
    assert "new-119" in body and "OTHER-MARK" not in body and "secret.other" not in body
    assert "Older events" in body
    cursor = body.split("after=")[1].split('"')[0]
    with django_assert_max_num_queries(12):
        second = client.get(url, {"after": cursor})
    assert "new-69" in second.content.decode() and "new-119" not in second.content.decode()
    filtered = client.get(url, {"action": "alert.resolved"}).content.decode()
    assert "new-118" in filtered and "new-119" not in filtered
    # An action of another district is not a filter choice and filters nothing out.
    assert "OTHER-MARK" not in client.get(url, {"action": "secret.other"}).content.decode()
    # Bad cursors are ignored, not errors.
    assert client.get(url, {"after": "x'; DROP"}).status_code == 200
    # The nav links to it for users who can import.
    assert f'href="{url}"' in client.get(reverse("home")).content.decode()


def test_audit_log_is_not_for_users_without_the_import_permission(client, district):
    from tests.factories import UserFactory

    teacher = UserFactory(
        district=district, role__name="Teacher", role__can_import_district_data=False
    )
    client.force_login(teacher)
    assert client.get(reverse("audit_log")).status_code == 403
    assert 'href="/audit/"' not in client.get(reverse("home")).content.decode()
