"""A new staff account's username, across the seam from the import to the people who use it.

After a real import, each new account takes its email address as its username when Django's user
forms accept that address as a username and no account has it in any case; otherwise it keeps its
``clever-<district>-<id>`` placeholder. Before: the address went in as it came (``o'neil@...``,
``say"hi"@...``), and support could then not save that account in Django admin at all ("Enter a
valid username"), and an address another account held in another case ("Taken.Person@...") was
given to a second account. Clever validates no email (clever/FACTS.md), so these arrive.
"""

from __future__ import annotations

import unicodedata

import pytest
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from integrations.models import ImportRun
from staff.models import User
from staff.sync_mapping import USERNAME_MAX, email_username
from tests.factories import DistrictFactory, StaffAccountFactory, SupportStaffFactory
from tests.support.admin_forms import change_form_data
from tests.support.staff import clever_staff, sync

# Clever's email -> the username the new account ends with (None: its placeholder).
EMAILS = {
    "Robin.Ames@Oakwood.example": "robin.ames@oakwood.example",
    "kim.park@ｏａｋｗｏｏｄ.example": "kim.park@oakwood.example",  # full-width letters
    "józef.nowak@szkoła.example": "józef.nowak@szkoła.example",
    "o'neil@oakwood.example": None,  # a legal address, not a legal username
    'say"hi"@oakwood.example': None,
    "a,b@oakwood.example": None,
    "Taken.Person@oakwood.example": None,  # another district's account has it, in another case
}


def _new_in_clever(setup) -> list[dict]:
    """The generated district's Clever staff no account made by hand matches, by Clever id."""
    existing = {u.last_name.strip().lower() for u in setup["existing"].values()}
    people = [
        u for u in clever_staff(setup["sim"]) if u["name"]["last"].strip().lower() not in existing
    ]
    return sorted(people, key=lambda u: u["id"])


@pytest.mark.django_db(transaction=True)
def test_new_accounts_take_only_usernames_support_can_save_and_no_one_else_has(setup):
    district, sim = setup["district"], setup["sim"]
    elsewhere = StaffAccountFactory(
        district=DistrictFactory(name="Elsewhere"), username="TAKEN.person@Oakwood.example"
    )
    people = dict(zip(EMAILS, _new_in_clever(setup), strict=False))
    assert len(people) == len(EMAILS)
    for email, person in people.items():
        sim.dataset.update_user(person["id"], {"email": email})

    assert sync(district, "test").status == ImportRun.Status.SUCCEEDED
    assert sync(district, "import").status == ImportRun.Status.SUCCEEDED

    accounts = {u.clever_id: u for u in User.objects.filter(district=district)}
    got = {email: accounts[person["id"]].username for email, person in people.items()}
    assert got == {
        email: name or f"clever-{district.pk}-{people[email]['id']}"
        for email, name in EMAILS.items()
    }
    assert User.objects.get(pk=elsewhere.pk).username == "TAKEN.person@Oakwood.example"

    # Support saves each new account in Django admin unchanged: every username is one its form
    # accepts (before: "Enter a valid username" for the two with a quote).
    client = Client()
    client.force_login(SupportStaffFactory(username="support-sam"))
    for person in people.values():
        url = reverse("admin:staff_user_change", args=[accounts[person["id"]].pk])
        response = client.post(url, change_form_data(client, url), secure=True)
        assert response.status_code == 302, (
            person["email"],
            response.context["adminform"].form.errors,
        )


# Addresses as Clever may send them: any script, case, compatibility forms, stray characters.
_PART = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("aZ9._+-'\" ,"),
    min_size=0,
    max_size=40,
)
_ADDRESS = st.builds(lambda a, b: f"{a}@{b}", _PART, _PART)


@given(
    st.one_of(st.none(), st.integers(), st.text(), st.emails(), _ADDRESS, _ADDRESS.map(str.upper))
)
def test_an_email_username_is_empty_or_one_django_accepts_as_it_is(value):
    name = email_username(value)
    if not name:
        return
    UnicodeUsernameValidator()(name)  # raises on anything Django's forms would refuse
    # What sign-in and Django admin do to a typed username (NFKC) leaves it as it is.
    assert unicodedata.normalize("NFKC", name) == name
    assert len(name) <= USERNAME_MAX and name == name.lower() and name.count("@") == 1
    local, _, domain = name.partition("@")
    assert local and domain


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("  Ana.Lopez@MV.k12.us\t", "ana.lopez@mv.k12.us"),
        ("first+tag@x.org", "first+tag@x.org"),
        ("Ｘ@Ｙ.ORG", "x@y.org"),
        ("JÓZEF.Nowak@Szkoła.example", "józef.nowak@szkoła.example"),
        ("İpek@x.org", ""),  # lower() gives i + a combining dot, which no username may have
        ("ana lopez@x.org", ""),
        ("ana@x@y.org", ""),
        ("@x.org", ""),
        ("ana@", ""),
        ("no-at-sign.org", ""),
        ("a" * 140 + "@x.org", "a" * 140 + "@x.org"),
        ("a" * 145 + "@x.org", ""),  # over the username's 150 characters
        ("", ""),
        (None, ""),
    ],
)
def test_email_username_examples(email, name):
    assert email_username(email) == name
    if name:
        try:
            UnicodeUsernameValidator()(name)
        except ValidationError as exc:  # pragma: no cover - the assertion's message
            pytest.fail(f"{name!r}: {exc}")


@pytest.mark.django_db
def test_support_saves_an_account_as_it_came_and_what_support_types_is_checked(client):
    """An email Clever sent that Django's validator refuses, and a username from before they
    were checked, no longer block every other change in Django admin; a value support types
    there is still checked."""
    account = StaffAccountFactory(username='o"neil@x.org', email="józef@szkoła.example")
    client.force_login(SupportStaffFactory(username="support-sam"))
    url = reverse("admin:staff_user_change", args=[account.pk])
    data = change_form_data(client, url)
    data["job_title"] = "Counselor"
    response = client.post(url, data, secure=True)
    assert response.status_code == 302, response.context["adminform"].form.errors
    account.refresh_from_db()
    assert (account.job_title, account.username, account.email) == (
        "Counselor",
        'o"neil@x.org',
        "józef@szkoła.example",
    )
    for name, typed, error in (
        ("email", "józef @szkoła.example", "Enter a valid email address."),
        ("username", "two words", "Enter a valid username."),
    ):
        response = client.post(url, {**data, name: typed}, secure=True)
        assert response.status_code == 200
        assert error in " ".join(response.context["adminform"].form.errors[name])


@pytest.mark.django_db
def test_a_username_support_types_must_differ_from_every_other_by_more_than_case(client):
    """The import never gives one address to two accounts in two cases; nor may support, in
    either of Django admin's forms. An account's own username may change case."""
    StaffAccountFactory(username="ana@x.org")
    account = StaffAccountFactory(username="bob@x.org")
    client.force_login(SupportStaffFactory(username="support-sam"))
    url = reverse("admin:staff_user_change", args=[account.pk])
    data = change_form_data(client, url)
    refused = client.post(url, {**data, "username": "ANA@x.org"}, secure=True)
    assert refused.status_code == 200
    assert "in this or another case" in " ".join(
        refused.context["adminform"].form.errors["username"]
    )
    assert client.post(url, {**data, "username": "Bob@X.org"}, secure=True).status_code == 302
    assert User.objects.get(pk=account.pk).username == "Bob@X.org"

    add = client.post(
        reverse("admin:staff_user_add"),
        {"username": "Ana@X.org", "email": "ana@x.org", "first_name": "Ana", "last_name": "X"},
        secure=True,
    )
    assert add.status_code == 200
    assert "in this or another case" in " ".join(add.context["adminform"].form.errors["username"])
    assert not User.objects.filter(username="Ana@X.org").exists()


@pytest.mark.django_db
def test_a_stored_username_the_form_would_rewrite_is_checked_on_save(client):
    """``ａｎａ@x.org`` (full-width: stored by imports before usernames were checked) reads as
    ``ana@x.org`` through Django's username field, so saving the account unchanged would rename
    it: that is a change, checked like one; beside an ``ana@x.org`` it is a form error, not a
    database error."""
    StaffAccountFactory(username="ana@x.org")
    legacy = StaffAccountFactory(username="ａｎａ@x.org")
    client.force_login(SupportStaffFactory(username="support-sam"))
    url = reverse("admin:staff_user_change", args=[legacy.pk])
    response = client.post(url, change_form_data(client, url), secure=True)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["username"]
    assert User.objects.get(pk=legacy.pk).username == "ａｎａ@x.org"


@pytest.mark.django_db
def test_the_taken_check_reads_the_lower_case_index():
    """At a million accounts, reading the table for it took 0.4 s after every import that
    created an account; the index on lower(username) answers it."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from staff.services import usernames_taken

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plans and indexes")
    StaffAccountFactory(username="Ana@X.org")
    with CaptureQueriesContext(connection) as queries:
        assert usernames_taken(["ana@x.org", "bob@x.org"]) == {"ana@x.org"}
    (query,) = [q["sql"] for q in queries.captured_queries if "staff_user" in q["sql"]]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ANALYZE staff_user")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "user_username_lower" in plan, plan


@pytest.mark.django_db(transaction=True)
def test_support_saving_an_account_leaves_its_email_as_the_import_wrote_it(setup):
    """Import, support saves the account in Django admin changing nothing, import again.
    ``AbstractUser.clean`` lower-cased the email's domain on that save, so the next import
    reported the account updated (its email "back" to Clever's) for a change nobody made."""
    district, sim = setup["district"], setup["sim"]
    person = _new_in_clever(setup)[0]
    sim.dataset.update_user(person["id"], {"email": "Robin.Ames@Oakwood.EXAMPLE"})
    assert sync(district, "test").status == ImportRun.Status.SUCCEEDED
    assert sync(district, "import").status == ImportRun.Status.SUCCEEDED
    account = User.objects.get(district=district, clever_id=person["id"])

    client = Client()
    client.force_login(SupportStaffFactory(username="support-sam"))
    url = reverse("admin:staff_user_change", args=[account.pk])
    assert client.post(url, change_form_data(client, url), secure=True).status_code == 302
    account.refresh_from_db()
    assert account.email == "Robin.Ames@Oakwood.EXAMPLE"

    again = sync(district, "import")
    assert again.status == ImportRun.Status.SUCCEEDED
    assert again.updated == 0, list(again.results.values_list("action", "name", "changes"))
