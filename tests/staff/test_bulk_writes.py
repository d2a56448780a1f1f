"""The staff import's bulk writes around the engine give the same rows whichever way they go.

``staff_write_access`` reads a large import's accounts and access for the whole district, a small
one's by lists of ids (both branches run here); ``staff_after_import`` renames every account in
one statement. The title-keyword, text-normalisation and field-check shortcuts are checked
against the plain rules.
"""

from __future__ import annotations

import re
import unicodedata

import pytest

from staff.models import StaffSchoolAccess, User
from staff.services import sync_hooks
from staff.sync_mapping import field_problems, map_staff, normalize_email, normalize_text
from staff.sync_roles import KeywordRule, winning_rule
from tests.factories import DistrictFactory, SchoolFactory


def _access(district) -> set[tuple[str, str, str]]:
    return set(
        StaffSchoolAccess.objects.filter(user__district=district).values_list(
            "user__username", "school__name", "source"
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize("whole_district_above", [0, 1000])
def test_write_access_by_whole_district_or_by_ids_gives_the_same_rows(
    district, monkeypatch, whole_district_above
):
    monkeypatch.setattr(sync_hooks, "WHOLE_DISTRICT_READ", whole_district_above)
    s1, s2, s3 = (SchoolFactory(district=district, name=n) for n in ("One", "Two", "Three"))
    other_district = DistrictFactory(slug="other-district")
    a = User.objects.create(district=district, username="a", last_name="A")
    b = User.objects.create(district=district, username="b", last_name="B")
    untouched = User.objects.create(district=district, username="c", last_name="C")
    outsider = User.objects.create(district=other_district, username="x", last_name="X")
    StaffSchoolAccess.objects.create(user=a, school=s1, source="clever_school")
    StaffSchoolAccess.objects.create(user=a, school=s2, source="clever_section")  # Clever drops it
    StaffSchoolAccess.objects.create(user=a, school=s3, source="manual")  # now Clever's too
    StaffSchoolAccess.objects.create(user=b, school=s3, source="manual")  # by hand: stays
    StaffSchoolAccess.objects.create(user=untouched, school=s2, source="clever_school")

    def value(*schools):
        return frozenset((s.pk, s.name, source) for s, source in schools)

    sync_hooks.staff_write_access(
        district_id=district.pk,
        changes=[
            (a.pk, "school_access", value((s1, "clever_school"), (s3, "clever_school"))),
            (b.pk, "school_access", value((s2, "clever_section"))),
            (b.pk, "job_title", "ignored: not the access"),
            (outsider.pk, "school_access", value((s1, "clever_school"))),
        ],
    )

    assert _access(district) == {
        ("a", "One", "clever_school"),
        ("a", "Three", "clever_school"),
        ("b", "Two", "clever_section"),
        ("b", "Three", "manual"),
        ("c", "Two", "clever_school"),
    }
    assert not StaffSchoolAccess.objects.filter(user=outsider).exists()


@pytest.mark.django_db
def test_renames_many_accounts_at_once(district):
    users = [
        User.objects.create(
            district=district, username=f"clever-1-{n}", email=f"U{n}@X.org ", last_name="U"
        )
        for n in range(5)
    ]
    # Another account has the address in another case: the new one keeps its placeholder.
    User.objects.create(district=district, username="U3@x.ORG", last_name="Taken")
    sync_hooks.staff_after_import(
        district_id=district.pk, run_id=1, created_ids=[u.pk for u in users]
    )
    assert sorted(User.objects.filter(district=district).values_list("username", flat=True)) == [
        "U3@x.ORG",
        "clever-1-3",
        "u0@x.org",
        "u1@x.org",
        "u2@x.org",
        "u4@x.org",
    ]


_SPACES = re.compile(r"\s+")


def _plain_normalize_text(value: str) -> str:
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return _SPACES.sub(" ", text).strip()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "  Mary   ANN\t",
        "O'Neil\x1cSmith",  # a separator \s matches and str.split() splits on
        "a\x0bb\x0cc\rd\ne",
        "\x1f\x1d lead",
        "Stra\u00dfe",  # not ASCII: the Unicode rules
        "\uff2a\uff2f\uff39\u00a0Lee",
    ],
)
def test_text_and_email_normalisation_shortcut_matches_the_unicode_rules(value):
    expected = _plain_normalize_text(value)
    assert normalize_text(value) == expected
    assert normalize_email(value) == unicodedata.normalize("NFKC", _SPACES.sub("", expected))


def test_keyword_rules_decide_the_same_on_every_call():
    rules = (
        KeywordRule(keyword="Teacher", position=1, id=1),
        KeywordRule(keyword="Special  Education Teacher", position=1, id=2),
        KeywordRule(keyword="counselor", position=0, id=3),
    )
    for _ in range(3):  # the compiled patterns are kept between calls
        assert winning_rule("Special education   teacher", rules).id == 2
        assert winning_rule("Teacher and COUNSELOR", rules).id == 3
        assert winning_rule("Teaching assistant", rules) is None


@pytest.mark.parametrize(
    ("last", "problem"),
    [
        ("Lee", None),
        ("Lee\u202e", "last_name"),  # text-direction control
        ("Lee\x07", "last_name"),  # control character
        ("Lee\ud800", "last_name"),  # lone surrogate
        ("Lee<b>", "last_name"),  # symbol refused in names
        ("Lee\tJr", None),  # the tab is allowed
    ],
)
def test_character_checks_flag_the_same_characters(last, problem):
    values = map_staff(
        {"id": "t1", "name": {"first": "Ann", "last": last}, "roles": {"teacher": {}}}
    )
    assert (problem in field_problems(values)) if problem else not field_problems(values)


def test_field_checks_with_and_without_the_one_search_shortcut():
    def problems(**role):
        raw = {
            "id": "t1",
            "email": role.pop("email", "ann.lee@x.org"),
            "name": {"first": "Ann", "last": "Lee"},
            "roles": {"teacher": role},
        }
        return field_problems(map_staff(raw))

    assert problems(title="Teacher") == {}  # short and clean: the shortcut
    assert problems(title="T" * 200) == {}  # over the shortest limit: every field checked
    assert set(problems(title="T" * 201)) == {"job_title"}
    assert set(problems(teacher_number="7" * 101)) == {"employee_id"}
    assert set(problems(email="ann.lee.x.org")) == {"email"}  # the email form, in the shortcut


TRICKY_TEXTS = ["", "NULL", "null", 'a"b', "back\\slash", "x,y", "{braces}", " padded ", "é ü 😀"]


@pytest.mark.django_db
def test_array_parameters_carry_any_text_and_int_unchanged():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("array parameters are PostgreSQL's")
    ints = [0, 1, -7, 2**62]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::varchar[], %s::bigint[], %s::bigint[]",
            [sync_hooks.pg_array(TRICKY_TEXTS), sync_hooks.pg_array(ints), sync_hooks.pg_array([])],
        )
        assert cursor.fetchone() == (TRICKY_TEXTS, ints, [])


@pytest.mark.django_db
def test_renames_and_the_taken_check_hold_for_emails_no_username_may_have(district):
    """Quotes, commas, backslashes and braces are legal in an address and reach the import
    (Clever validates no email); no username may have them, so those accounts keep their
    placeholder, and the arrays carry the rest unchanged."""
    emails = ['o"neil@x.org', "back\\slash@x.org", "a,b@x.org", "{c}@x.org", "NULL@x.org"]
    emails += ["ó.r+s_t-u@x.org", "ÉMILE@x.org"]
    users = [
        User.objects.create(
            district=district, username=f"clever-1-{n}", email=email.upper(), last_name="U"
        )
        for n, email in enumerate(emails)
    ]
    User.objects.create(district=district, username="null@X.org", last_name="Taken")
    User.objects.create(district=district, username="Émile@X.org", last_name="Taken")
    sync_hooks.staff_after_import(
        district_id=district.pk, run_id=1, created_ids=[u.pk for u in users]
    )
    names = dict(User.objects.filter(last_name="U").values_list("email", "username"))
    assert names == {
        'O"NEIL@X.ORG': "clever-1-0",
        "BACK\\SLASH@X.ORG": "clever-1-1",
        "A,B@X.ORG": "clever-1-2",
        "{C}@X.ORG": "clever-1-3",
        "NULL@X.ORG": "clever-1-4",  # taken, in another case
        "Ó.R+S_T-U@X.ORG": "ó.r+s_t-u@x.org",
        "ÉMILE@X.ORG": "clever-1-6",  # taken, in another case (not ASCII)
    }


@pytest.mark.django_db
def test_a_name_taken_between_the_check_and_the_rename_still_sends_every_welcome(
    district, monkeypatch, caplog
):
    """A race: another account takes a name after the taken check (another district's import,
    support in Django admin). Before, the UPDATE's IntegrityError ended the hook, and none of the
    run's welcome emails was queued: the new staff had no way to set a password. Now the renames
    roll back together and every welcome email still goes."""
    from staff import tasks

    users = [
        User.objects.create(
            district=district, username=f"clever-1-{n}", email=f"u{n}@x.org", last_name="U"
        )
        for n in range(3)
    ]
    User.objects.create(district=district, username="u1@x.org", last_name="Racer")
    monkeypatch.setattr(sync_hooks, "usernames_taken", lambda names, **_: set())  # checked early
    queued: list[list[int]] = []
    monkeypatch.setattr(tasks.send_staff_welcome, "delay", lambda _d, ids: queued.append(ids))
    assert (
        sync_hooks.staff_after_import(
            district_id=district.pk, run_id=7, created_ids=[u.pk for u in users]
        )
        == 3
    )
    assert queued == [[u.pk for u in users]]
    assert sorted(User.objects.filter(last_name="U").values_list("username", flat=True)) == [
        "clever-1-0",
        "clever-1-1",
        "clever-1-2",
    ]
    assert "run 7: a username was taken during the rename" in caplog.text
