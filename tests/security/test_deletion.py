"""S10: disconnect + delete on request. Afterwards every district-owned table (found by
introspecting the models, so a new table is covered the day it lands) holds no row of the district
except the tables ``integrations.privacy.KEPT`` names with a reason; a DeletionRecord with counts
and no PII remains; the other district is untouched (fingerprint and per-table counts)."""

from __future__ import annotations

import pytest
from allauth.socialaccount.models import SocialAccount
from django.apps import apps
from django.core import mail
from django.db import models
from django.urls import reverse

from integrations.models import Alert, ImportRun
from integrations.privacy import DELETE_ACTION, KEPT, DeletionRefused, district_data_delete
from naviance_sync.models import AuditEvent, DeletionRecord, District
from staff.models import StaffSchoolAccess, User
from students.models import Student
from tests.factories import DistrictAdminFactory, DistrictFactory, UserFactory
from tests.reliability.fingerprint import fingerprint
from tests.support.districts import connect_district

pytestmark = pytest.mark.django_db(transaction=True)


def district_lookup(model: type[models.Model]) -> str | None:
    """How ``model`` reaches a district (``district`` or ``<fk>__district``), or None."""
    names = {f.name for f in model._meta.get_fields()}
    if "district" in names and model is not District:
        return "district"
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model not in (None, model, District):
            if "district" in {g.name for g in f.related_model._meta.get_fields()}:
                return f"{f.name}__district"
    return None


def district_owned_models() -> list[tuple[type[models.Model], str]]:
    out = []
    for model in apps.get_models():
        lookup = district_lookup(model)
        if lookup:
            out.append((model, lookup))
    return out


def table_counts(district) -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.filter(**{lookup: district}).count()
        for model, lookup in district_owned_models()
    }


@pytest.fixture
def two_connected(clever_simulator, other_clever_simulator, run_sync):
    a = DistrictFactory(name="Maple Valley Unified", slug="maple")
    b = DistrictFactory(name="Bravo County Schools", slug="bravo")
    # A Clever district belongs to one district: the second is another Clever district.
    for d, sim in ((a, clever_simulator), (b, other_clever_simulator)):
        connect_district(d, sim)
        run = run_sync("import", target=d)
        assert run.status == "succeeded", run.error_message
    admin = DistrictAdminFactory(district=a, username="maple-admin", clever_id="c-admin")
    admin.role_source = User.Source.KEYWORD
    admin.save()
    school = a.school_set.first()
    imported = [
        UserFactory(district=a, username=f"imp{n}", clever_id=f"c-imp{n}", role_source="keyword")
        for n in range(3)
    ]
    for user in imported:
        StaffSchoolAccess.objects.create(user=user, school=school, source="clever_school")
    manual = UserFactory(district=a, username="by-hand", clever_id="c-manual", role_source="manual")
    StaffSchoolAccess.objects.create(user=manual, school=school, source="clever_school")
    StaffSchoolAccess.objects.create(
        user=manual,
        school=school.__class__.objects.create(district=a, name="Hand School"),
        source="manual",
    )
    SocialAccount.objects.create(user=manual, provider="clever", uid="c-manual")
    student = Student.objects.filter(district=a).first()
    Alert.objects.create(
        district=a, data_type="students", clever_id="c-alert", display_name=str(student)
    )
    # District B has the same kinds of rows.
    UserFactory(district=b, username="b-imp", clever_id="c-b", role_source="keyword")
    Alert.objects.create(district=b, data_type="students", clever_id="c-alert", display_name="B")
    return a, b, admin, manual


def test_every_district_owned_model_is_deleted_or_kept_for_a_reason():
    labels = {model._meta.label for model, _ in district_owned_models()}
    assert "students.Student" in labels and "integrations.RunResult" in labels
    assert set(KEPT) - labels - {"naviance_sync.District"} == set(), "stale KEPT entries"


def test_delete_on_request_removes_everything_imported_and_nothing_else(
    client, two_connected, clever_simulator
):
    a, b, admin, manual = two_connected
    b_before = (fingerprint(b), table_counts(b))
    a_before = table_counts(a)
    a_names = [str(s) for s in Student.objects.filter(district=a)]
    assert a_before["students.Student"] > 100 and a_before["integrations.ImportRun"] == 1
    client.force_login(admin)
    url = reverse("integrations:privacy_delete")

    page = client.get(url)
    assert page.status_code == 200
    assert (
        f"every student record of the district ({a_before['students.Student']})"
        in page.content.decode()
    )

    wrong = client.post(url, {"district_name": "Maple Valley"})
    assert wrong.status_code == 400 and b"Type the district name" in wrong.content
    assert table_counts(a) == a_before

    done = client.post(url, {"district_name": "  maple valley   unified "})
    assert done.status_code == 302
    after = table_counts(a)
    for label, count in after.items():
        if label in KEPT:
            continue
        assert count == 0, f"{label}: {count} rows of the deleted district remain"
    # Kept accounts: the requester and the hand-made one, both unlinked from Clever.
    remaining = User.objects.filter(district=a)
    assert set(remaining.values_list("username", flat=True)) == {"maple-admin", "by-hand"}
    assert not remaining.filter(clever_id__isnull=False).exists()
    assert list(StaffSchoolAccess.objects.filter(user=manual).values_list("source", flat=True)) == [
        "manual"
    ]
    assert not SocialAccount.objects.filter(user__district=a).exists()
    # Proof of deletion: counts only, and the audit trail.
    record = DeletionRecord.objects.get(district=a)
    assert (
        record.requested_by == admin and record.counts["students"] == a_before["students.Student"]
    )
    assert record.counts["staff_accounts"] == 3 and record.counts["runs"] == 1
    assert all(isinstance(v, int) for v in record.counts.values())
    event = AuditEvent.objects.get(district=a, action=DELETE_ACTION)
    assert event.actor == admin
    # Written confirmation, without names.
    confirmations = [m for m in mail.outbox if m.subject.startswith("Clever data deleted")]
    assert len(confirmations) == 1 and confirmations[0].to == [admin.email]
    body = confirmations[0].body
    assert "students: " in body and str(record.pk) in body
    assert not [name for name in a_names if name in body]
    # The other district is untouched.
    assert (fingerprint(b), table_counts(b)) == b_before
    # The page now lists the deletion.
    assert f"#{record.pk}" in client.get(url).content.decode()


def test_refused_while_an_import_is_queued_or_running(two_connected):
    a, _, admin, _ = two_connected
    ImportRun.objects.create(district=a, data_type="students", mode="import", status="validating")
    with pytest.raises(DeletionRefused, match="queued or running"):
        district_data_delete(district=a, requester=admin, typed_name=a.name)
    assert Student.objects.filter(district=a).exists()
    assert not DeletionRecord.objects.exists()


def test_only_users_with_the_import_permission_can_ask(client, two_connected):
    a, _, _, _ = two_connected
    teacher = UserFactory(district=a, role__name="Teacher", role__can_import_district_data=False)
    client.force_login(teacher)
    response = client.post(reverse("integrations:privacy_delete"), {"district_name": a.name})
    assert response.status_code == 403
    assert Student.objects.filter(district=a).exists()
