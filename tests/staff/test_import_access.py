"""Issue 16 item 6: an import never leaves a district without an account that can import.

Across the seam: an admin made by hand (not in Clever), a test import that says it is them and
that they are kept, a real import, then the admin still signs in and can import.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import ImportRun, RunResult, UpdateLog
from staff import services
from staff.models import Role, User
from staff.sync_roles import (
    KEPT_HAND_MADE,
    KEPT_LAST,
    LOSES_IMPORT,
    StaffConfig,
    import_access_review,
)
from tests.factories import PASSWORD
from tests.support.staff import clever_person, sync

pytestmark = pytest.mark.django_db(transaction=True)


# --- the rule, pure ---------------------------------------------------------------------------


def test_hand_made_importers_are_kept_and_the_last_importer_is_never_removed():
    staff = StaffConfig(import_role_ids=frozenset({1}), importer_ids=frozenset({10, 11}))
    # 10 hand-made, not in Clever: kept. 11 left Clever, but 10 still imports: 11 loses it.
    review = import_access_review(
        inactivations=[(10, ""), (11, "c11"), (12, "c12")], role_changes={}, staff=staff
    )
    assert review.keep == {10: KEPT_HAND_MADE}
    assert review.losing == {11: LOSES_IMPORT}
    # Both left Clever: removing them would leave nobody, so both are kept.
    review = import_access_review(
        inactivations=[(10, "c10"), (11, "c11")], role_changes={}, staff=staff
    )
    assert review.keep == {10: KEPT_LAST, 11: KEPT_LAST} and not review.losing
    # A role given back (restore) that cannot import, for the only importer: kept.
    only = StaffConfig(import_role_ids=frozenset({1}), importer_ids=frozenset({10}))
    review = import_access_review(inactivations=[], role_changes={10: 2}, staff=only)
    assert review.keep == {10: KEPT_LAST}
    # To a role that can import: nothing to say.
    review = import_access_review(inactivations=[], role_changes={10: 1}, staff=only)
    assert not review.keep and not review.losing


# --- across the seam ----------------------------------------------------------------------------


def _can_import(client: Client) -> bool:
    page = client.get(reverse("integrations:imports", kwargs={"data_type": "staff"}))
    return page.status_code == 200


def test_the_admin_made_by_hand_keeps_their_role_through_a_real_import(setup, sent):  # noqa: F811
    district, admin = setup["district"], setup["admin"]
    # The harshest settings: staff not in Clever get a role that cannot import.
    other = Role.objects.get(district=district, name=services.OTHER_DISTRICT_STAFF)
    settings = setup["settings"]
    settings.not_in_clever_role = other
    settings.save(update_fields=["not_in_clever_role"])
    role = admin.role
    assert role.can_import_district_data and not admin.clever_id

    client = Client()
    assert (
        client.post(
            reverse("login"), {"username": admin.username, "password": PASSWORD}
        ).status_code
        == 302
    )
    test = sync(district, "test")
    assert test.status == ImportRun.Status.SUCCEEDED, test.error_message
    kept = RunResult.objects.get(run=test, local_id=admin.pk)
    assert kept.action == RunResult.Action.KEEP and kept.reason == KEPT_HAND_MADE
    # The hand-made teacher not in Clever still gets the not-in-Clever role.
    gone = RunResult.objects.get(run=test, local_id=setup["existing"]["gone"].pk)
    assert gone.action == RunResult.Action.INACTIVATE
    page = client.get(reverse("integrations:run_detail", args=[test.pk]), {"action": "keep"})
    body = page.content.decode()
    assert "You (signed in)" in body and KEPT_HAND_MADE in body

    run = sync(district, "import")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    admin.refresh_from_db()
    assert admin.role == role and admin.role_source == User.Source.MANUAL
    assert admin.inactive_since is None and admin.is_active and admin.can_import_district_data
    assert not UpdateLog.objects.filter(run=run, record_id=admin.pk).exists()
    # The open session still works, a new sign-in works, and the admin can still import.
    assert _can_import(client)
    fresh = Client()
    assert (
        fresh.post(reverse("login"), {"username": admin.username, "password": PASSWORD}).status_code
        == 302
    )
    assert _can_import(fresh)
    start = fresh.post(
        reverse("integrations:run_start", kwargs={"data_type": "staff"}), {"mode": "test"}
    )
    assert start.status_code == 302
    started = ImportRun.objects.filter(district=district, started_by=admin).latest("id")
    assert ("run", started.pk) in sent  # recorded by tests/staff/conftest.py, never published


def test_the_last_importer_leaving_clever_is_kept_and_said_so(setup):  # noqa: F811
    """A district whose only account that can import is linked to Clever, and Clever drops it:
    a real import keeps the account (reported Kept), it does not deactivate it."""
    district, sim, admin = setup["district"], setup["sim"], setup["admin"]
    settings = setup["settings"]
    settings.not_in_clever_role = Role.objects.get(
        district=district, name=services.OTHER_DISTRICT_STAFF
    )
    settings.save(update_fields=["not_in_clever_role"])
    sync(district, "test")
    sync(district, "import")
    robinson = clever_person(sim, last="Robinson")  # the district admin in Clever
    account = User.objects.get(district=district, clever_id=robinson["id"])
    role = Role.objects.get(district=district, name=services.DISTRICT_SITE_MANAGER)
    services.staff_account_update(
        district=district, actor=admin, account=account, values={"role": role}
    )
    # The hand-made admin no longer imports: Robinson is the district's only importer.
    services.staff_account_update(
        district=district,
        actor=admin,
        account=admin,
        values={"role": Role.objects.get(district=district, name="Teacher")},
    )
    sim.dataset.delete_user(robinson["id"])
    sync(district, "test")
    run = sync(district, "import")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    kept = RunResult.objects.get(run=run, local_id=account.pk)
    assert kept.action == RunResult.Action.KEEP and kept.reason == KEPT_LAST
    account.refresh_from_db()
    assert account.is_active and account.inactive_since is None
    assert account.can_import_district_data
    assert User.objects.filter(
        district=district, is_active=True, role__can_import_district_data=True
    ).exists()
