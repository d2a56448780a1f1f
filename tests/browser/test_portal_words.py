"""Issue 16, misleading words (items 9 to 13), in headless Chromium with screenshots.

Each test drives the page a district admin (or a teacher) sees and checks the words and the
behaviour the guides describe.
"""

from __future__ import annotations

import pytest

from integrations import config
from integrations.crypto import encrypt_token, token_last4
from integrations.models import CleverConnection, NotificationRecipient
from integrations.schools import school_matches_accept_suggestions
from tests.factories import DistrictAdminFactory, SchoolFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def submit(page, name):
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


@pytest.fixture
def connected_admin(district, clever_simulator):
    """A district admin whose district is connected to the simulator with its schools matched."""
    dataset = clever_simulator.dataset
    district_id = dataset.district_ids()[0]
    for s in dataset.records("schools", district_id):
        SchoolFactory(district=district, name=s["name"], nces_id=s.get("nces_id") or "")
    admin = DistrictAdminFactory(district=district, username="dana", first_name="Dana")
    config.connection_connect(
        district=district,
        actor=admin,
        clever_district_id=district_id,
        token=clever_simulator.token(district_id),
        api_url=clever_simulator.url,
    )
    school_matches_accept_suggestions(district=district)
    return admin


def test_setup_words_reset_first_and_a_rejected_token(
    page, sign_in, screenshot, district, connected_admin, clever_simulator
):
    """Item 9: the help text puts Reset Configuration before continuing; a token Clever rejects
    says nothing was saved and what to do, not "reconnect in Clever Data Integration Setup"."""
    CleverConnection.objects.filter(district=district).update(
        token_encrypted=encrypt_token("revoked-token-0000"), token_last4=token_last4("0000")
    )
    sign_in(connected_admin)
    page.goto("/integrations/students/setup/edit/")
    help_text = page.locator("#reset-first").inner_text()
    assert "Reset Configuration before continuing with the setup" in help_text
    assert "after saving" not in page.content()
    submit(page, "Save")
    alert = page.get_by_role("alert").inner_text()
    assert "Clever rejected the token" in alert
    assert "Nothing was saved. In your Clever dashboard" in alert
    assert "Clever Data Integration Setup" not in alert
    screenshot(page, "words-09-setup-rejected-token")


def test_add_email_recipients_adds_and_remove_removes_one(
    page, sign_in, screenshot, district, connected_admin
):
    """Item 10: "Add Email Recipients" adds to the list (the guide's words), each listed address
    has its own Remove, and an invalid address is named with what was typed kept."""
    NotificationRecipient.objects.create(
        district=district, data_type="students", email="registrar@example.org"
    )
    sign_in(connected_admin)
    page.goto("/integrations/notifications/students/")
    current = page.get_by_role("region", name="Receiving students import emails")
    assert "registrar@example.org" in current.inner_text()
    field = page.get_by_label("Add Email Recipients")
    assert field.input_value() == ""
    field.fill("counselor@example.org, not-an-address, 名前@例え.jp")
    submit(page, "Save")
    assert "“not-an-address” is not a valid email address." in (
        page.get_by_role("alert").inner_text()
    )
    assert page.get_by_label("Add Email Recipients").input_value() == (
        "counselor@example.org, not-an-address, 名前@例え.jp"
    )
    screenshot(page, "words-10-recipients-error")
    assert NotificationRecipient.objects.filter(district=district).count() == 1
    page.get_by_label("Add Email Recipients").fill("counselor@example.org, REGISTRAR@example.org")
    submit(page, "Save")
    emails = set(
        NotificationRecipient.objects.filter(district=district).values_list("email", flat=True)
    )
    assert emails == {"registrar@example.org", "counselor@example.org"}
    assert "Added counselor@example.org" in page.content()
    assert "Already receiving students import emails: REGISTRAR@example.org" in page.content()
    screenshot(page, "words-10-recipients-added")
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Remove registrar@example.org").click()
    assert "/integrations/notifications/students/" in page.url
    emails = set(
        NotificationRecipient.objects.filter(district=district).values_list("email", flat=True)
    )
    assert emails == {"counselor@example.org"}
    screenshot(page, "words-10-recipients-removed")


def test_students_page_grades_in_school_order_names_ignore_case(
    page, sign_in, screenshot, district
):
    """Item 12: the grade filter lists grades in school order, names sort without regard to
    case (Chavez before CHEN), and the search box is wide enough to read what was typed."""
    from tests.factories import StudentFactory

    admin = DistrictAdminFactory(district=district, username="dana")
    rows = [
        ("CHEN", "Li", "10"),
        ("Chavez", "Ana", "2"),
        ("chan", "Bo", "Kindergarten"),
        ("Zhou", "Mei", "12"),
        ("Nguyen", "Tam", "1"),
        ("O'Brien", "Sean", "PreKindergarten"),
        ("García-Fernández de la Torre", "María José", "11"),
        ("Okafor", "Chidi", "Ungraded"),
    ]
    for last, first, grade in rows:
        StudentFactory(district=district, last_name=last, first_name=first, grade=grade)
    sign_in(admin)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/students/")
    options = page.locator("#f-grade option").all_inner_texts()
    assert options == [
        "All",
        "PreKindergarten",
        "Kindergarten",
        "1",
        "2",
        "10",
        "11",
        "12",
        "Ungraded",
    ]
    names = page.locator("tbody tr td:first-child").all_inner_texts()
    assert names.index("chan, Bo") < names.index("Chavez, Ana") < names.index("CHEN, Li")
    box = page.get_by_label("Name or ID").bounding_box()
    assert box["width"] >= 280
    page.get_by_label("Name or ID").fill("García-Fernández de la Torre")
    screenshot(page, "words-12-students")


@pytest.fixture
def clever_world(settings):
    from integrations.simulator.dataset import Dataset
    from integrations.simulator.faults import Faults
    from integrations.simulator.pytest_plugin import small_district
    from integrations.simulator.server import SimulatorServer
    from tests.support.sso import build_world

    server = SimulatorServer(Dataset(small_district()), Faults())
    with server:
        settings.CLEVER_OAUTH_URL = server.url
        settings.CLEVER_API_URL = server.url
        yield build_world(server)


def test_teacher_signed_in_with_clever_sees_their_account(page, screenshot, clever_world):
    """Item 13: a teacher's home shows their account (district, school, role) and what the
    product does for them, not two "Not available" integration cards."""
    teacher = clever_world.teacher
    teacher.job_title = "Science Teacher"
    teacher.on_teacher_list = True
    teacher.save(update_fields=["job_title", "on_teacher_list"])
    school = teacher.schools.get()
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Log in with Clever").click()
    page.wait_for_url("**/oauth/authorize?**")
    page.get_by_role("link", name=f"{teacher.first_name} {teacher.last_name}", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Oakwood ISD").is_visible()
    assert "Not available" not in page.content()
    account = page.get_by_role("region", name="Your account").inner_text()
    for expected in ("Oakwood ISD", school.name, "Teacher", "Science Teacher", "Teacher list"):
        assert expected in account
    for_you = page.get_by_role("region", name="What Naviance Sync does for you").inner_text()
    assert "kept in step with it" in for_you and "Sign in with Clever" in for_you
    screenshot(page, "words-13-teacher-home")


def test_audit_log_in_words(page, sign_in, screenshot, district):
    """Item 11: the Audit Log says what happened in words, not codes or
    "StaffImportSettings object (1)" (rows recorded before the fix included)."""
    from naviance_sync.audit import audit_record
    from naviance_sync.models import AuditEvent
    from staff.models import StaffImportSettings

    admin = DistrictAdminFactory(district=district, username="dana")
    settings_row = StaffImportSettings.objects.create(district=district)
    AuditEvent.objects.create(
        district=district,
        actor_label="dana",
        action="staff_settings.update",
        object_type="StaffImportSettings",
        object_id=str(settings_row.pk),
        object_repr=f"StaffImportSettings object ({settings_row.pk})",
        field="school_default_role",
        old_value="",
        new_value="Teacher",
    )
    audit_record(
        district=district,
        actor=admin,
        action="clever.students.codes.saved",
        obj=district,
        field="codes",
        old="",
        new="grade 9 -> 9",
    )
    audit_record(
        district=district,
        actor=admin,
        action="clever.students.recipients.added",
        obj=district,
        field="recipients",
        old="",
        new="a@example.org",
    )
    audit_record(district=district, actor=admin, action="launch.extended", obj=district)
    audit_record(
        district=district,
        actor=admin,
        action="support.district.changed",
        obj=district,
        field="name",
    )
    sign_in(admin)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/audit/")
    table = page.locator("table").inner_text()
    for words in (
        "Staff import settings changed",
        "School default role",
        "Student integration: codes saved",
        "Student integration: email recipients added",
        "Launch date extended",
        "Support changed district",
        f"District: {district.name}",
    ):
        assert words in table, words
    for code in ("StaffImportSettings", "object (", "staff_settings.update", "clever.students"):
        assert code not in table, code
    options = page.locator("#f-action option").all_inner_texts()
    assert "Student integration: codes saved" in options
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    screenshot(page, "words-11-audit-log")
