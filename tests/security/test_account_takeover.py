"""Issue 20 item 4: a Clever record cannot take over an existing admin account.

The staff import links a Clever record to an unlinked account with the same last name and email
(or employee ID), and Clever sign-in then trusts that link. An account that can import district
data, a district staff account or a support account is never linked by an import alone: the
run raises an alert (the Clever record and the account) that the district admin confirms, and
until then Clever sign-in does not reach the account. Seam: import -> alert -> sign-in refused
-> Match + Process All Updates -> sign-in reaches it. Production settings (DEBUG off).
"""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.alerts import alert_choose, alerts_process
from integrations.engine.service import run_execute
from integrations.models import Alert
from integrations.runs import run_start
from naviance_sync.models import District
from staff import services
from staff.models import User
from tests.support.clever import fast_client
from tests.support.districts import connect_district
from tests.support.settings import PRODUCTION
from tests.support.sso import clever_sign_in

pytestmark = pytest.mark.django_db(transaction=True)
ADMIN_EMAIL = "pat.alpha@maplevalley.example"
MALLORY_ID = "66aa00000000000000000bad"


@pytest.fixture(autouse=True)
def production(settings):
    """Production settings (DEBUG off, HTTPS on) through the ``settings`` fixture: mixing it
    with ``override_settings`` would leave them on for later tests."""
    settings.DEBUG = False
    for name, value in PRODUCTION.items():
        # The Clever sign-in helpers (tests/sso) speak plain HTTP to the test server.
        if name != "SECURE_SSL_REDIRECT":
            setattr(settings, name, value)


def sync(district, mode: str):
    run = run_start(district=district, data_type="staff", mode=mode, enqueue=False)
    return run_execute(run_id=run.pk, allow_retry=False, client_factory=fast_client()).run


def signed_in_pk(client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.fixture
def world(district, admin_user, clever_simulator, settings):
    settings.CLEVER_API_URL = settings.CLEVER_OAUTH_URL = clever_simulator.url
    District.objects.filter(pk=district.pk).update(
        launch_date=timezone.localdate() - dt.timedelta(days=3)
    )
    connect_district(district, clever_simulator)
    services.staff_settings_ensure(district=district)
    services.no_schools_zone_create(district=district, actor=admin_user)
    # The hand-made district admin (can import district data), never linked to Clever.
    User.objects.filter(pk=admin_user.pk).update(
        first_name="Pat", last_name="Alpha", email=ADMIN_EMAIL, clever_id=None
    )
    admin_user.refresh_from_db()
    assert admin_user.can_import_district_data
    # Mallory: a Clever teacher with the admin's last name and email.
    data = clever_simulator.dataset
    cid = data.district_ids()[0]
    template = next(u for u in data.records("users", cid) if "teacher" in (u.get("roles") or {}))
    mallory = copy.deepcopy(template)
    mallory.update(id=MALLORY_ID, email=ADMIN_EMAIL, name={"first": "Mallory", "last": "Alpha"})
    mallory["roles"] = {"teacher": {**template["roles"]["teacher"], "sis_id": "T-MAL-1"}}
    mallory["roles"]["teacher"].pop("teacher_number", None)
    data.create_user(mallory, district=cid)
    return district, admin_user


def test_a_clever_record_with_an_admins_email_and_last_name_cannot_take_the_account_over(
    world, client
):
    district, admin = world
    assert sync(district, "test").status == "succeeded"
    run = sync(district, "import")
    assert run.status in ("succeeded", "needs_review"), run.error_message

    admin.refresh_from_db()
    assert admin.clever_id is None  # not linked by the import alone
    alert = Alert.objects.get(district=district, data_type="staff", clever_id=MALLORY_ID)
    assert [int(c) for c in alert.candidate_ids] == [admin.pk]
    assert "never links such an account on its own" in alert.reason

    # The alert page shows the Clever record and the account it would take.
    client.force_login(admin)
    response = client.get(reverse("integrations:alerts", args=["staff"]), secure=True)
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    page = response.content.decode()
    assert "Mallory" in page and "Pat" in page and ADMIN_EMAIL in page, page[-3000:]
    client.logout()

    # Clever sign-in as Mallory does not reach the admin account.
    clever_sign_in(client, MALLORY_ID)
    assert signed_in_pk(client) != str(admin.pk)
    client.logout()

    # The admin confirms: Match, then Process All Updates. Now the link exists, and sign-in
    # as that Clever record reaches the account (the admin's own decision).
    alert_choose(
        district=district, alert_id=alert.pk, choice="match", local_id=admin.pk, user=admin
    )
    processed = alerts_process(district=district, data_type="staff", user=admin)
    assert processed.status == "succeeded", processed.error_message
    admin.refresh_from_db()
    assert admin.clever_id == MALLORY_ID
    clever_sign_in(client, MALLORY_ID)
    assert signed_in_pk(client) == str(admin.pk)


def test_an_ordinary_teacher_account_is_still_linked_by_last_name_and_email(world):
    district, admin = world
    User.objects.filter(pk=admin.pk).update(email="pat.alpha.other@maplevalley.example")
    teacher = User.objects.create(
        district=district,
        username="malpha",
        first_name="Mallory",
        last_name="Alpha",
        email=ADMIN_EMAIL,
    )
    assert sync(district, "test").status == "succeeded"
    assert sync(district, "import").status in ("succeeded", "needs_review")
    teacher.refresh_from_db()
    assert teacher.clever_id == MALLORY_ID
    assert not Alert.objects.filter(district=district, clever_id=MALLORY_ID).exists()
