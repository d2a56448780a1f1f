"""Staff end to end against the Clever simulator (real HTTP on loopback), through the one engine.

The generated district (seed 42) has 16 teachers, 7 school staff and 1 district admin at 3
schools. Each test starts from a district an admin has set up the way the staff guide says:
schools matched, Staff Import Settings saved with title keyword rules, the No Schools Zone, and
a few accounts that already exist in the product (the hard matching cases).
"""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import (
    Alert,
    CleverConnection,
    ImportRun,
    RunResult,
    SchoolMatch,
    SyncSettings,
    UpdateLog,
)
from integrations.runs import RunRefused, run_start
from staff import services
from staff.models import StaffImportSettings, StaffSchoolAccess, User
from tests.factories import PASSWORD
from tests.support.clever import fast_client
from tests.support.districts import connect_district
from tests.support.staff import clever_person, clever_staff, email_of, local_school, sync

pytestmark = pytest.mark.django_db(transaction=True)

WELCOME = "set your password"


# --- the generated district ---------------------------------------------------------------------


def welcome_emails() -> list:
    return [m for m in mail.outbox if WELCOME in m.subject]


def add_section(sim, *, teacher_id: str, school_id: str) -> dict:
    return sim.dataset.create(
        "sections",
        {
            "school": school_id,
            "name": "Orchestra - Period 7",
            "teacher": teacher_id,
            "teachers": [teacher_id],
            "students": [],
            "subject": "arts and music",
        },
    )


# --- test import --------------------------------------------------------------------------------


def test_test_import_reports_inactive_created_matched_with_reasons(setup):
    district, sim, existing = setup["district"], setup["sim"], setup["existing"]
    before = list(User.objects.filter(district=district).order_by("pk").values_list())
    run = sync(district, "test")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    total = len(clever_staff(sim))
    assert run.records_seen == total
    # Gray and Hall match; Stewart and Lee are alerts; everyone else is new.
    assert run.matched == 2 and run.alerts == 2 and run.errors == 0
    assert run.created == total - 4
    # Not in Clever: the never-linked "gone" account. The admin who set the district up (made
    # by hand, can import district data) is kept as they are (issue 16 item 6).
    assert run.inactive == 1
    results = {(r.action, r.local_id): r for r in RunResult.objects.filter(run=run)}
    gone = results[("inactivate", existing["gone"].pk)]
    assert "not in Clever" in gone.reason and "role for staff not in Clever" in gone.reason
    assert ("keep", setup["admin"].pk) in results
    gray = next(r for r in results.values() if r.local_id == existing["gray"].pk)
    assert gray.action in ("update", "match")
    assert gray.reason == "In both: matched by last name and email."
    hall = next(r for r in results.values() if r.local_id == existing["hall"].pk)
    assert hall.reason == "In both: matched by employee ID."
    created = RunResult.objects.filter(run=run, action="create")
    chavez = created.get(name__startswith="Chavez")
    assert "title keyword \u201cPrincipal\u201d" in chavez.reason
    cruz = created.get(name__startswith="Cruz")  # "Data Manager": no keyword
    assert "No title keyword matches" in cruz.reason
    robinson = created.get(name__startswith="Robinson")
    assert robinson.reason.startswith("New district account")
    alerts = RunResult.objects.filter(run=run, action="alert")
    stewart_alert = alerts.get(name__startswith="Stewart")
    assert "2 local records have this last name and email, or employee ID" in stewart_alert.reason
    assert set(stewart_alert.changes["candidates"]) == {
        existing["stewart_id"].pk,
        existing["stewart_email"].pk,
    }
    lee_alert = alerts.get(name__startswith="Lee")
    assert "Looks like an existing staff account" in lee_alert.reason
    # A test import writes nothing to accounts.
    assert list(User.objects.filter(district=district).order_by("pk").values_list()) == before
    assert not welcome_emails()
    # The shared results page lists every group, with the reasons and the roles' names.
    client = _client_for(setup)
    for action, text in (
        ("inactivate", "Nobody, Zed"),
        ("create", "Chavez, Charlotte"),
        ("alert", "Stewart, Robert"),
    ):
        page = client.get(reverse("integrations:run_detail", args=[run.pk]), {"action": action})
        assert page.status_code == 200
        assert text in page.content.decode(), action
    page = client.get(reverse("integrations:run_detail", args=[run.pk]), {"action": "create"})
    created = page.content.decode()
    assert "School Administrator" in created  # the role's name, not its id
    assert run.results.get(name__startswith="Chavez").reason in created
    csv = b"".join(
        client.get(reverse("integrations:run_results_csv", args=[run.pk])).streaming_content
    ).decode()
    for text in ("Nobody, Zed", "Chavez, Charlotte", "Gray, Emma", "Stewart, Robert"):
        assert text in csv
    assert "School Administrator" in csv


def _client_for(setup):
    from django.test import Client

    client = Client()
    client.force_login(setup["admin"])
    return client


# --- real import --------------------------------------------------------------------------------


def test_real_import_creates_accounts_at_the_right_schools_with_keyword_roles(setup):
    district, sim, existing, roles = (
        setup["district"],
        setup["sim"],
        setup["existing"],
        setup["roles"],
    )
    # A teacher whose Clever schools are one school also teaches a section at another.
    teacher = next(
        u
        for u in clever_staff(sim)
        if "teacher" in u["roles"] and len(u["roles"]["teacher"]["schools"]) == 1
    )
    home = teacher["roles"]["teacher"]["schools"][0]
    schools = [s["id"] for s in sim.dataset.records("schools", sim.dataset.district_ids()[0])]
    elsewhere = next(s for s in schools if s != home)
    add_section(sim, teacher_id=teacher["id"], school_id=elsewhere)

    assert sync(district, "test").status == ImportRun.Status.SUCCEEDED
    run = sync(district, "import")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    total = len(clever_staff(sim))
    assert run.created == total - 4 and run.matched == 2 and run.alerts == 2
    # "Zed Nobody"; the hand-made admin who can import district data is kept (issue 16 item 6).
    assert run.inactive == 1

    # Multi-school teacher: their Clever school and the section's school, each with its source.
    account = User.objects.get(district=district, clever_id=teacher["id"])
    access = dict(StaffSchoolAccess.objects.filter(user=account).values_list("school_id", "source"))
    assert access == {
        local_school(district, home).pk: "clever_school",
        local_school(district, elsewhere).pk: "clever_section",
    }
    # Teachers at two Clever schools get both.
    for user in clever_staff(sim):
        role = user["roles"].get("teacher") or user["roles"].get("staff")
        if role is None or user["id"] == teacher["id"]:
            continue
        local = User.objects.filter(district=district, clever_id=user["id"]).first()
        if local is None:
            continue  # an alert
        got = set(StaffSchoolAccess.objects.filter(user=local).values_list("school_id", flat=True))
        assert got == {local_school(district, s).pk for s in role["schools"]}, user["name"]

    # New staff: title keywords decide role, function and lists; the rest get the defaults.
    settings = setup["settings"]
    chavez = User.objects.get(district=district, last_name="Chavez")
    assert chavez.role == roles["School Administrator"]
    assert chavez.job_function.name == "Administration"
    assert (chavez.role_source, chavez.function_source) == ("keyword", "keyword")
    assert chavez.account_type == "school" and chavez.zone is None
    washington = User.objects.get(district=district, last_name="Washington")  # Classroom Teacher
    assert washington.role == roles["Teacher"] and washington.on_teacher_list
    assert not washington.on_counselor_list
    cruz = User.objects.get(district=district, last_name="Cruz")  # "Data Manager"
    assert cruz.role == settings.school_default_role and cruz.role.name == "Other School Staff"
    assert (cruz.role_source, cruz.function_source) == ("default", "default")
    untitled = User.objects.get(district=district, last_name="De La Cruz", first_name="Ariana")
    assert untitled.job_title == "" and untitled.role.name == "Other School Staff"
    # District admins: district accounts in the default zone (No Schools Zone), no school access.
    robinson = User.objects.get(district=district, last_name="Robinson")
    assert robinson.account_type == "district"
    assert robinson.zone == setup["zone"] and robinson.role.name == "Other District Staff"
    assert not StaffSchoolAccess.objects.filter(user=robinson).exists()
    # New accounts: the email as username, no usable password until the welcome link is used.
    assert robinson.username == email_of(clever_person(sim, last="Robinson")).lower()
    assert not robinson.has_usable_password()

    # Existing accounts keep their role; Clever fills in the synced fields and the link.
    gray = User.objects.get(pk=existing["gray"].pk)
    gray_clever = clever_person(sim, last="Gray")
    assert gray.clever_id == gray_clever["id"]
    assert gray.role == roles["Existing Role"] and gray.role_source == "manual"
    assert gray.email == email_of(gray_clever) and gray.last_name == "Gray"
    assert gray.employee_id == gray_clever["roles"]["staff"]["staff_id"]
    hall = User.objects.get(pk=existing["hall"].pk)
    assert hall.clever_id == clever_person(sim, last="Hall", first="Liam")["id"]
    assert hall.employee_id == "E10000" and hall.role is None
    assert UpdateLog.objects.filter(run=run, record_id=hall.pk, field="email").exists()

    # Ambiguous: never merged, nobody linked, an alert for a person to decide.
    for key in ("stewart_id", "stewart_email", "lee"):
        account = User.objects.get(pk=existing[key].pk)
        assert account.clever_id is None and account.inactive_since is None, key
    assert Alert.objects.filter(district=district, data_type="staff").count() == 2
    assert not User.objects.filter(
        district=district, clever_id=clever_person(sim, last="Stewart")["id"]
    ).exists()

    # Not in Clever: kept, inactive, with the not-in-Clever role (District Site Manager).
    gone = User.objects.get(pk=existing["gone"].pk)
    assert gone.inactive_since is not None
    assert gone.role == settings.not_in_clever_role
    assert gone.role.name == "District Site Manager" and gone.role_source == "not_in_clever"
    result = RunResult.objects.get(run=run, action="inactivate", local_id=gone.pk)
    assert "not in Clever" in result.reason

    # Welcome emails: one per new account with an email, none for matched accounts.
    welcomes = welcome_emails()
    new_with_email = User.objects.filter(
        district=district, clever_id__isnull=False, date_joined__gte=run.started_at
    ).exclude(email="")
    assert len(welcomes) == new_with_email.count() == run.created
    recipients = sorted(m.to[0] for m in welcomes)
    assert recipients == sorted(new_with_email.values_list("email", flat=True))
    assert gray.email not in recipients and hall.email not in recipients

    # The school matches are locked; the schedule is on, every 6 hours.
    assert not SchoolMatch.objects.filter(district=district, locked_at__isnull=True).exists()
    schedule = SyncSettings.objects.get(district=district, data_type="staff")
    assert schedule.frequency == "6h" and schedule.enabled and schedule.next_run_at

    # Matched staff are listed on the results of a resync, every one of them.
    again = sync(district, "test")
    assert again.matched == run.created + 2
    assert (
        RunResult.objects.filter(run=again, action__in=("match", "update")).count() == again.matched
    )


def test_resync_without_changes_writes_nothing(setup):
    district = setup["district"]
    sync(district, "test")
    first = sync(district, "import")
    assert first.status == ImportRun.Status.SUCCEEDED
    mail.outbox.clear()
    tables = {
        User._meta.db_table,
        StaffSchoolAccess._meta.db_table,
        UpdateLog._meta.db_table,
    }
    sync(district, "test")
    with CaptureQueriesContext(connection) as ctx:
        second = sync(district, "import")
    assert second.status == ImportRun.Status.SUCCEEDED, second.error_message
    assert second.created == second.updated == second.inactive == 0
    assert second.matched == first.created + first.matched
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "COPY"))
        and any(f'"{t}"' in q["sql"] for t in tables)
    ]
    assert writes == []
    assert not welcome_emails()
    assert UpdateLog.objects.filter(run=second).count() == 0


def test_changes_later_new_staff_keep_roles_and_sso_sends_no_email(setup):
    district, sim, roles = setup["district"], setup["sim"], setup["roles"]
    sync(district, "test")
    sync(district, "import")
    # An admin changes a new account's role by hand; Clever changes the title afterwards.
    chavez = User.objects.get(district=district, last_name="Chavez")
    services.staff_account_update(
        district=district, actor=setup["admin"], account=chavez, values={"role": roles["Teacher"]}
    )
    sim.dataset.set_title(chavez.clever_id, "Counselor")
    # The district turns on Clever single sign-on; a new counselor arrives in Clever.
    StaffImportSettings.objects.filter(district=district).update(sso_enabled=True)
    template = clever_person(sim, last="Gray")
    newcomer = sim.dataset.create_user(
        {
            "email": "nora.newcomb@oakwoodschools.org",
            "name": {"first": "Nora", "middle": "", "last": "Newcomb"},
            "roles": {
                "staff": {
                    "staff_id": "E19999",
                    "title": "School Counselor",
                    "schools": template["roles"]["staff"]["schools"],
                }
            },
        }
    )
    mail.outbox.clear()
    sync(district, "test")
    run = sync(district, "import")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert run.created == 1 and run.updated == 1
    nora = User.objects.get(district=district, clever_id=newcomer["id"])
    assert nora.role == roles["Counselor"] and nora.on_counselor_list
    chavez.refresh_from_db()
    assert chavez.job_title == "Counselor"
    assert chavez.role == roles["Teacher"] and chavez.role_source == "manual"
    assert not chavez.on_counselor_list
    assert welcome_emails() == []  # SSO: no password to set


def _password_sign_in(username: str) -> tuple[Client, object]:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    return client, response


def _clever_sign_in_refusal(district, clever_user_id: str):
    from integrations.sso.rules import CleverIdentity
    from integrations.sso.selectors import clever_login_decision

    conn = CleverConnection.objects.get(district=district)
    identity = CleverIdentity(clever_user_id, conn.clever_district_id, "")
    return clever_login_decision(identity=identity, now=timezone.now()).refusal


def test_staff_who_leave_clever_are_deactivated_keep_their_role_and_come_back(setup):
    """Issue 13 item 1: a teacher Clever created who leaves Clever cannot sign in (password or
    Clever), their sessions end, they keep their role (no import rights), and the same account
    with the same role comes back when they return."""
    district, sim = setup["district"], setup["sim"]
    district.launch_date = timezone.localdate() - dt.timedelta(days=1)
    district.save(update_fields=["launch_date"])
    sync(district, "test")
    sync(district, "import")
    leaver = clever_person(sim, last="Washington")
    account = User.objects.get(district=district, clever_id=leaver["id"])
    role = account.role
    assert role == setup["roles"]["Teacher"] and not role.can_import_district_data
    account.set_password(PASSWORD)  # the welcome link was used
    account.save(update_fields=["password"])
    signed_in, response = _password_sign_in(account.username)
    assert response.status_code == 302
    assert signed_in.get(reverse("home")).status_code == 200
    assert _clever_sign_in_refusal(district, leaver["id"]) is None

    sim.dataset.delete_user(leaver["id"])
    sync(district, "test")
    run = sync(district, "import")
    assert run.inactive == 1
    account.refresh_from_db()
    assert account.inactive_since is not None and not account.is_active
    assert account.role == role and account.role_source == "keyword"
    assert not account.can_import_district_data
    assert RunResult.objects.get(run=run, action="inactivate").reason.startswith(
        "No longer in Clever: the account is deactivated"
    )
    assert not UpdateLog.objects.filter(run=run, record_id=account.pk, field="role_id").exists()
    # Every way in is closed: the open session ends, the password and Clever are refused.
    assert signed_in.get(reverse("home")).status_code == 302
    _client, refused = _password_sign_in(account.username)
    assert refused.status_code == 200
    assert "This account is inactive" in refused.content.decode()
    assert _clever_sign_in_refusal(district, leaver["id"]) == "inactive"

    sim.dataset.create_user(leaver)
    sync(district, "test")
    back = sync(district, "import")
    assert back.updated == 1 and back.inactive == 0 and back.restored == 1
    account.refresh_from_db()
    assert account.inactive_since is None and account.is_active
    assert account.role == role and account.role_source == "keyword"
    assert UpdateLog.objects.filter(run=back, record_id=account.pk, new_value="active").exists()
    assert _password_sign_in(account.username)[1].status_code == 302
    assert _clever_sign_in_refusal(district, leaver["id"]) is None


def test_not_in_clever_role_change_is_logged_and_undone_when_the_person_is_in_clever(setup):
    """Issue 13 item 2: the role an import gives a hand-made account not in Clever is in the
    update log (old -> new) and is given back, logged, when the person appears in Clever."""
    district, sim, roles = setup["district"], setup["sim"], setup["roles"]
    gone = setup["existing"]["gone"]
    site_manager = setup["settings"].not_in_clever_role
    sync(district, "test")
    run = sync(district, "import")
    gone.refresh_from_db()
    assert gone.role == site_manager and gone.role_source == "not_in_clever"
    assert gone.is_active  # never in Clever: the guide's role applies, the account works
    logged = {
        row.field: (row.old_value, row.new_value)
        for row in UpdateLog.objects.filter(run=run, record_id=gone.pk)
    }
    assert logged["role_id"] == (str(roles["Teacher"].pk), str(site_manager.pk))
    assert logged["role_source"] == ("manual", "not_in_clever")
    result = RunResult.objects.get(run=run, action="inactivate", local_id=gone.pk)
    assert result.changes["role_id"] == [str(roles["Teacher"].pk), str(site_manager.pk)]

    template = clever_person(sim, last="Gray")
    sim.dataset.create_user(
        {
            "email": gone.email,
            "name": {"first": "Zed", "middle": "", "last": "Nobody"},
            "roles": {
                "staff": {
                    "staff_id": "E77777",
                    "title": "Registrar",
                    "schools": template["roles"]["staff"]["schools"],
                }
            },
        }
    )
    sync(district, "test")
    back = sync(district, "import")
    assert back.status == ImportRun.Status.SUCCEEDED, back.error_message
    gone.refresh_from_db()
    assert gone.clever_id and gone.inactive_since is None
    assert gone.role == roles["Teacher"] and gone.role_source == "manual"
    logged = {
        row.field: (row.old_value, row.new_value)
        for row in UpdateLog.objects.filter(run=back, record_id=gone.pk)
    }
    assert logged["role_id"] == (str(site_manager.pk), str(roles["Teacher"].pk))
    assert logged["role_source"] == ("not_in_clever", "manual")
    assert logged["inactive_since"] == ("inactive", "active")


def test_a_clever_record_that_is_an_error_protects_the_account_it_would_match(setup):
    """Issue 13 item 3: staff in Clever whose record is an error (here: no school matched) are
    not "not in Clever": the account their employee ID (or Clever id) points to stays as it is."""
    district, sim = setup["district"], setup["sim"]
    roles = setup["roles"]
    unmatched = sim.dataset.create("schools", {"name": "Annex Campus", "sis_id": "999"})
    by_key = User.objects.create(
        district=district,
        username="kfox",
        first_name="Kim",
        last_name="Fox",
        email="kim.fox@home.example",
        employee_id="E55555",
        role=roles["Counselor"],
    )
    sim.dataset.create_user(
        {
            "email": "kim.fox@oakwoodschools.org",
            "name": {"first": "Kim", "middle": "", "last": "Fox"},
            "roles": {
                "staff": {"staff_id": "E55555", "title": "Counselor", "schools": [unmatched["id"]]}
            },
        }
    )
    sync(district, "test")
    run = sync(district, "import")
    error = RunResult.objects.get(run=run, action="error", name="Fox, Kim")
    assert error.code == "unknown_school"
    by_key.refresh_from_db()
    assert by_key.inactive_since is None and by_key.is_active
    assert by_key.role == roles["Counselor"] and by_key.role_source == "manual"
    assert not RunResult.objects.filter(run=run, local_id=by_key.pk).exists()

    # A linked account whose Clever record becomes an error keeps its Clever id's protection.
    chavez = clever_person(sim, last="Chavez")
    sim.dataset.update_user(chavez["id"], {"roles": {"staff": {"schools": [unmatched["id"]]}}})
    sync(district, "test")
    again = sync(district, "import")
    assert again.inactive == 0
    linked = User.objects.get(district=district, clever_id=chavez["id"])
    assert linked.inactive_since is None and linked.is_active


def test_invalid_email_and_long_title_are_warnings_and_the_person_is_imported(setup):
    """Issue 13 item 4: Clever does not validate emails (its demo district has a teacher whose
    email is ``first_last.example.org``). The person is imported (matched by employee ID when the
    email cannot match), the email is left blank, no welcome email goes out, the run warns."""
    district, sim, roles = setup["district"], setup["sim"], setup["roles"]
    template = clever_person(sim, last="Gray")["roles"]["staff"]["schools"]
    newcomer = sim.dataset.create_user(
        {
            "email": "first_last.example.org",
            "name": {"first": "First", "middle": "", "last": "Last"},
            "roles": {
                "teacher": {"teacher_number": "T90001", "title": "Teacher", "schools": template}
            },
        }
    )
    existing = User.objects.create(
        district=district,
        username="pmoss",
        first_name="Pat",
        last_name="Moss",
        email="pat.moss@oakwoodschools.org",
        employee_id="E90002",
        job_title="Counselor",
        role=roles["Counselor"],
    )
    returning = sim.dataset.create_user(
        {
            "email": "pat.moss.oakwoodschools.org",
            "name": {"first": "Pat", "middle": "", "last": "Moss"},
            "roles": {"staff": {"staff_id": "E90002", "title": "C" * 300, "schools": template}},
        }
    )
    sync(district, "test")
    mail.outbox.clear()
    run = sync(district, "import")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert not RunResult.objects.filter(run=run, action="error").exists()
    created = User.objects.get(district=district, clever_id=newcomer["id"])
    assert created.email == "" and created.employee_id == "T90001" and created.is_active
    assert created.username.startswith("clever-")
    existing.refresh_from_db()
    assert existing.clever_id == returning["id"] and existing.inactive_since is None
    assert existing.email == "pat.moss@oakwoodschools.org" and existing.job_title == "Counselor"
    warnings = {r.local_id: r for r in RunResult.objects.filter(run=run, action="warning")}
    assert run.warnings == 2 and set(warnings) == {created.pk, existing.pk}
    assert warnings[created.pk].code == "invalid_email"
    assert "Email is not a valid email address" in warnings[created.pk].reason
    assert "Job title is 300 characters long" in warnings[existing.pk].reason
    welcomed = {m.to[0] for m in welcome_emails()}
    assert welcomed and "" not in welcomed and "first_last.example.org" not in welcomed
    assert len(welcome_emails()) == run.created - 1  # everyone new but the one without an address


def test_a_linked_account_keeps_updating_when_a_new_clever_record_claims_its_employee_id(setup):
    """Issue 13 item 6 for staff: a Clever record linked by Clever id keeps updating when another
    Clever record arrives with the same employee ID; only the unlinked newcomer is an error."""
    district, sim = setup["district"], setup["sim"]
    sync(district, "test")
    sync(district, "import")
    linked = clever_person(sim, last="Chavez")
    account = User.objects.get(district=district, clever_id=linked["id"])
    staff_id = linked["roles"]["staff"]["staff_id"]
    newcomer = sim.dataset.create_user(
        {
            "email": "new.person@oakwoodschools.org",
            "name": {"first": "New", "middle": "", "last": "Person"},
            "roles": {
                "staff": {
                    "staff_id": staff_id,
                    "title": "Clerk",
                    "schools": linked["roles"]["staff"]["schools"],
                }
            },
        }
    )
    sim.dataset.set_title(linked["id"], "Assistant Principal")
    sync(district, "test")
    run = sync(district, "import")
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    (error,) = RunResult.objects.filter(run=run, action="error")
    assert error.clever_id == newcomer["id"] and error.code == "duplicate_link_id"
    account.refresh_from_db()
    assert account.job_title == "Assistant Principal" and account.inactive_since is None
    assert not User.objects.filter(district=district, clever_id=newcomer["id"]).exists()


def test_a_staff_import_locks_every_school_its_staff_were_imported_at(
    district, clever_simulator, admin_user
):
    """Issue 13 item 7: staff have several schools; each one whose staff were imported is
    locked, not only each person's lowest-id school."""
    connect_district(district, clever_simulator)
    services.staff_settings_ensure(district=district)
    sim = clever_simulator
    staff = clever_staff(sim)
    teacher = next(
        u for u in staff if "teacher" in u["roles"] and len(u["roles"]["teacher"]["schools"]) == 2
    )
    for user in staff:
        if user["id"] != teacher["id"]:
            sim.dataset.delete_user(user["id"])
    for section in sim.dataset.records("sections", sim.dataset.district_ids()[0]):
        sim.dataset.delete("sections", section["id"])
    sync(district, "test")
    run = sync(district, "import")
    assert run.status == ImportRun.Status.SUCCEEDED and run.created == 1
    account = User.objects.get(district=district, clever_id=teacher["id"])
    schools = {local_school(district, s).pk for s in teacher["roles"]["teacher"]["schools"]}
    assert set(account.schools.values_list("pk", flat=True)) == schools
    locked = set(
        SchoolMatch.objects.filter(district=district, locked_at__isnull=False).values_list(
            "school_id", flat=True
        )
    )
    assert locked == schools


# --- the 48-hour rule ---------------------------------------------------------------------------


def test_real_import_needs_a_recent_test_import(setup):
    district = setup["district"]
    with pytest.raises(RunRefused, match="Run a test staff import first"):
        run_start(district=district, data_type="staff", mode="import", enqueue=False)
    test = sync(district, "test")
    ImportRun.objects.filter(pk=test.pk).update(finished_at=timezone.now() - dt.timedelta(hours=49))
    with pytest.raises(RunRefused) as refused:
        run_start(district=district, data_type="staff", mode="import", enqueue=False)
    assert "49 hours ago" in refused.value.message
    assert "test import from the last 48 hours" in refused.value.message
    # The page says the same and starts nothing.
    client = _client_for(setup)
    response = client.get(
        reverse("integrations:import_confirm", kwargs={"data_type": "staff"}), follow=True
    )
    assert "49 hours ago" in response.content.decode()
    assert not ImportRun.objects.filter(district=district, mode="import").exists()
    # Scheduled syncs after the first import are not held back by it.
    scheduled = run_start(
        district=district,
        data_type="staff",
        mode="import",
        trigger=ImportRun.Trigger.SCHEDULED,
        enqueue=False,
    )
    assert scheduled.pk
    # A fresh test import lets the admin import.
    ImportRun.objects.filter(pk=scheduled.pk).update(status=ImportRun.Status.FAILED)
    sync(district, "test")
    assert sync(district, "import").status == ImportRun.Status.SUCCEEDED


def test_school_matches_lock_after_the_import(setup):
    from integrations.schools import SchoolMatchError, school_matches_save

    district = setup["district"]
    sync(district, "test")
    assert not SchoolMatch.objects.filter(district=district, locked_at__isnull=False).exists()
    sync(district, "import")
    match = SchoolMatch.objects.filter(district=district).first()
    assert match.locked_at is not None
    with pytest.raises(SchoolMatchError):
        school_matches_save(district=district, actor=setup["admin"], choices={match.school_id: ""})


def test_engine_creates_staff_sync_settings_every_six_hours(setup):
    district = setup["district"]
    SyncSettings.objects.filter(district=district, data_type="staff").delete()
    sync(district, "test")
    sync(district, "import")
    assert SyncSettings.objects.get(district=district, data_type="staff").frequency == "6h"
    assert SyncSettings.objects.get(district=district, data_type="students").frequency == "daily"


# --- the command line ---------------------------------------------------------------------------


def _cli(district, mode: str) -> tuple[int, dict]:
    out = StringIO()
    code = 0
    try:
        call_command(
            "clever_sync",
            district=district.slug,
            data_type="staff",
            mode=mode,
            json=True,
            stdout=out,
        )
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue())


def test_cli_test_then_import(setup, monkeypatch):
    from integrations.engine import service

    monkeypatch.setattr(service, "default_client", fast_client())
    district = setup["district"]
    code, refused = _cli(district, "import")
    assert code == 2 and refused["status"] == "refused"
    assert "test staff import" in refused["error"]
    code, test = _cli(district, "test")
    assert code == 0 and test["status"] == "succeeded"
    assert test["created"] == len(clever_staff(setup["sim"])) - 4 and test["alerts"] == 2
    code, real = _cli(district, "import")
    assert code == 0 and real["status"] == "succeeded"
    assert real["created"] == test["created"] and real["inactive"] == 1  # the admin is kept
    assert User.objects.filter(district=district, clever_id__isnull=False).count() == (
        real["created"] + real["matched"]
    )
