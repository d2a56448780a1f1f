"""P5 (RELIABILITY 6): every POST form of the portal, driven through its real view with bad values.

For each form the test opens the page once, reads the form's fields (so a field added tomorrow is
fuzzed tomorrow), and builds a Hypothesis strategy per field that mixes valid choices with hostile
values: control characters, NUL, RTL overrides, emoji, 100,000-character strings, numbers out of
range, another district's ids, several values for one field, or the field left out. Then, for every
example, it posts and checks:

- never a 500 (the test client re-raises a view's exception, so Hypothesis shrinks it);
- a re-rendered page (200/400) carries a clear message (field errors or an error message) and the
  district's data is exactly as before: every row of every district-owned table, the district row
  and the audit log (nothing half-saved);
- an error message on a redirect also means nothing changed;
- the re-rendered form keeps what was typed (text back in its input, valid choices still
  selected), except the Clever token, which never travels back to the browser, and the stored
  token appears on no page at all.

``hypothesis.extra.django.from_form`` only generates *valid* data and cannot see fields that are
added in ``__init__`` (school, mapping and code lists are), so the strategies are built from the
bound form's own fields instead. Each example runs in a savepoint that is rolled back, so every
example starts from the same district. 50 examples per form in CI; ``FORM_FUZZ_EXAMPLES`` for more.
A second test sends hostile query strings to every portal page (GET filters and cursors).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django import forms
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.crypto import decrypt_token
from integrations.models import (
    Alert,
    CleverConnection,
    ImportRun,
    NotificationRecipient,
)
from naviance_sync.models import District, School
from staff import services as staff_services
from staff.models import JobFunction, TitleKeywordRule, Zone
from tests.factories import (
    DistrictAdminFactory,
    DistrictFactory,
    RoleFactory,
    StudentFactory,
    UserFactory,
)
from tests.security.state import changed_tables, db_state, foreign_references
from tests.support.districts import connect_district
from tests.support.urls import ROLE_MATRIX_SKIPPED, portal_patterns, url_patterns
from tests.tenancy import ID_MAKERS, PLAIN_KWARGS

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("FORM_FUZZ_EXAMPLES", "50"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
TOKEN_MARK = "tok-SECRET-"  # every token the fuzzer types starts with this (then never echoed)

# --- hostile values ------------------------------------------------------------------------------

NASTY = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",
    "\ufeff",
    "😀👩‍👩‍👧",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE students_student; --",
    "x" * 100_000,
    "Ж" * 5_000,
    "-1",
    "0",
    "00",
    "1e309",
    "NaN",
    "Infinity",
    "-Infinity",
    "9" * 5_000,
    "²",
    "١٢",
    "0x10",
    "1_000",
    "\r\n",
    "\t",
    "null",
    "[]",
    "{}",
    "true",
    "%00",
    "../../etc/passwd",
    "a@b",
    "a@@b.org, , ,",
    "@",
)
CONTROL = st.characters(categories=["Cc", "Cf", "Co", "Zl", "Zp", "Zs"])


def hostile(foreign_ids: list[int]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(max_size=40),
        st.text(alphabet=CONTROL, min_size=1, max_size=12),
        st.from_regex(r"\A-?[0-9]{1,40}(\.[0-9]{0,40})?\Z"),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(foreign_ids).map(str),
    )


def _choice_values(f: forms.Field) -> list[str]:
    out = []
    for value, label in getattr(f, "choices", ()):
        if isinstance(label, (list, tuple)):  # option groups
            out.extend(str(v) for v, _ in label)
        else:
            out.append(str(getattr(value, "value", value)))
    return out


def field_strategy(f: forms.Field, bad: st.SearchStrategy[str]) -> st.SearchStrategy:
    """Valid values for the field, hostile ones, several values at once, or the field left out."""
    choices = [c for c in _choice_values(f) if c != ""]
    if isinstance(f, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
        one = st.sampled_from(choices) if choices else st.just("")
        return st.one_of(
            st.none(),
            st.lists(one, unique=True, max_size=len(choices)),
            st.lists(st.one_of(one, bad), min_size=1, max_size=3),
        )
    if isinstance(f, forms.ChoiceField | forms.ModelChoiceField):
        valid = st.sampled_from(choices) if choices else st.just("")
    elif isinstance(f, forms.BooleanField):
        valid = st.sampled_from(["on", "true", "1", "yes", "false", "0", ""])
    elif isinstance(f, forms.DecimalField | forms.IntegerField | forms.FloatField):
        valid = st.decimals(min_value=-1000, max_value=1000, places=2).map(str)
    elif isinstance(f, forms.URLField):
        valid = st.sampled_from(["http://127.0.0.1:9/"])  # a closed port, never the internet
    else:
        valid = st.text(max_size=60)
    return st.one_of(
        st.none(),  # left out
        valid,
        bad,
        st.lists(st.one_of(valid, bad), min_size=2, max_size=3),  # one field, several values
    )


# --- the district's whole state ----------------------------------------------------------------


# --- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    district: District
    other: District
    admin: object
    token: str
    sim_url: str
    ids: dict[str, int] = field(default_factory=dict)
    foreign_ids: list[int] = field(default_factory=list)


@pytest.fixture
def world(district, clever_simulator, settings):
    """A district set up the way an admin who accepted every suggestion has it, with one of every
    object a form can name; a second district whose ids the fuzzer throws at the forms."""
    settings.CLEVER_API_URL = clever_simulator.url  # a blank API address never leaves the machine
    settings.CLEVER_OAUTH_URL = clever_simulator.url  # nor does the district token lookup
    settings.CLEVER_CLIENT_ID, settings.CLEVER_CLIENT_SECRET = next(
        iter(clever_simulator.dataset.oauth_clients.items())
    )
    connect_district(district, clever_simulator)
    district.clever_staff_enabled = True
    district.save(update_fields=["clever_staff_enabled"])
    admin = DistrictAdminFactory(district=district, username="fuzz-admin")
    staff_services.staff_settings_ensure(district=district)
    rule = TitleKeywordRule.objects.create(district=district, keyword="Counselor", position=0)
    TitleKeywordRule.objects.create(district=district, keyword="Teacher", position=1)
    JobFunction.objects.get_or_create(district=district, name="Counseling")
    Zone.objects.get_or_create(district=district, name="North")
    teacher = UserFactory(district=district, username="fuzz-teacher", role__name="Teacher")
    students = [StudentFactory(district=district) for _ in range(2)]
    alert = Alert.objects.create(
        district=district,
        data_type="students",
        clever_id="c-alert",
        display_name="Alert Person",
        candidate_ids=[s.pk for s in students],
    )
    review = ImportRun.objects.create(
        district=district,
        data_type="students",
        mode="import",
        status=ImportRun.Status.NEEDS_REVIEW,
        finished_at=timezone.now(),
    )
    ImportRun.objects.create(
        district=district,
        data_type="staff",
        mode="test",
        status=ImportRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
    )
    recipient = NotificationRecipient.objects.filter(district=district).first()

    other = DistrictFactory(name="Bravo Marker County", slug="bravo-fuzz")
    foreign = [
        RoleFactory(district=other, name="Bravo Role").pk,
        Zone.objects.create(district=other, name="Bravo Zone").pk,
        JobFunction.objects.create(district=other, name="Bravo Function").pk,
        School.objects.create(district=other, name="Bravo High").pk,
        StudentFactory(district=other).pk,
        TitleKeywordRule.objects.create(district=other, keyword="Bravo").pk,
    ]
    conn = CleverConnection.objects.get(district=district)
    return World(
        district=district,
        other=other,
        admin=admin,
        token=decrypt_token(conn.token_encrypted),
        sim_url=clever_simulator.url,
        ids={
            "rule_id": rule.pk,
            "staff_id": teacher.pk,
            "alert_id": alert.pk,
            "run_id": review.pk,
            "recipient_id": recipient.pk,
            "student_id": students[0].pk,
            "role_id": ID_MAKERS["role_id"](district),
            "function_id": ID_MAKERS["function_id"](district),
            "range_id": ID_MAKERS["range_id"](district),
        },
        foreign_ids=foreign,
    )


# --- the forms ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormCase:
    """One POST target: where it is, which form its page renders (context key), extra keys."""

    name: str
    url: Callable[[World], str]
    form_key: str | None = "form"
    page: Callable[[World], str] | None = None  # where the form is shown, if not at ``url``
    extra_fields: Callable[[World, st.SearchStrategy], dict] = lambda w, bad: {}
    secrets: tuple[str, ...] = ()


def _u(name: str, **kwargs) -> Callable[[World], str]:
    def url(w: World) -> str:
        return reverse(name, kwargs={k: (w.ids.get(v, v)) for k, v in kwargs.items()})

    return url


def _pick(*values: str) -> Callable[[World, st.SearchStrategy], st.SearchStrategy]:
    return lambda w, bad: st.one_of(st.none(), st.sampled_from(values), bad)


def _action(w, bad):
    return {"action": _pick("save", "close", "next")(w, bad)}


def _setup_extra(w: World, bad) -> dict:
    # The admin's form has no token or API address (the token is fetched from Clever): posted
    # ones must be ignored, never used or echoed. A token is the simulator's, or one the fuzzer
    # made up (marked, so echoes are caught).
    token = st.one_of(
        st.none(),
        st.just(w.token),
        st.text(max_size=30).map(lambda s: TOKEN_MARK + s),
        st.just(TOKEN_MARK + "x" * 600),
    )
    # Never a real host: only the simulator, a closed loopback port, or text that is no URL.
    return {
        "token": token,
        "api_url": st.one_of(
            st.none(),
            st.sampled_from([w.sim_url, "", "http://127.0.0.1:9/"]),
            bad.filter(_not_a_url),
        ),
    }


def _not_a_url(text: str) -> bool:
    try:
        forms.URLField(assume_scheme="https").clean(text)
    except forms.ValidationError:
        return True
    return False


CASES = (
    FormCase(
        "setup_edit", _u("integrations:setup_edit"), extra_fields=_setup_extra, secrets=("token",)
    ),
    FormCase("setup_reset", _u("integrations:setup_reset")),
    FormCase("school_matches", _u("integrations:school_matches"), extra_fields=_action),
    FormCase("fields", _u("integrations:fields", data_type="students"), extra_fields=_action),
    FormCase("codes", _u("integrations:codes", data_type="students"), extra_fields=_action),
    FormCase(
        "sync_settings",
        _u("integrations:sync_settings", data_type="students"),
        extra_fields=_action,
    ),
    FormCase(
        "notifications_edit",
        _u("integrations:notifications_edit", data_type="students"),
        extra_fields=_action,
    ),
    FormCase(
        "notifications_edit_staff",
        _u("integrations:notifications_edit", data_type="staff"),
        extra_fields=_action,
    ),
    FormCase(
        "recipient_delete", _u("integrations:recipient_delete", recipient_id="recipient_id"), None
    ),
    FormCase(
        "run_start",
        _u("integrations:run_start", data_type="students"),
        None,
        extra_fields=lambda w, bad: {"mode": _pick("test", "import", "events")(w, bad)},
    ),
    FormCase("run_approve", _u("integrations:run_approve", run_id="run_id"), None),
    FormCase("run_undo", _u("integrations:run_undo", run_id="run_id"), None),
    FormCase("calendar", _u("integrations:calendar")),
    FormCase("calendar_delete", _u("integrations:calendar_delete", range_id="range_id"), None),
    FormCase("schedule_resume", _u("integrations:schedule_resume", data_type="students"), None),
    FormCase(
        "alert_choose",
        _u("integrations:alert_choose", alert_id="alert_id"),
        None,
        extra_fields=lambda w, bad: {
            "choice": _pick("match", "create", "ignore", "")(w, bad),
            "local_id": st.one_of(
                st.none(),
                st.sampled_from(
                    [str(pk) for pk in Alert.objects.get(pk=w.ids["alert_id"]).candidate_ids]
                ),
                bad,
            ),
        },
    ),
    FormCase("alerts_process", _u("integrations:alerts_process", data_type="students"), None),
    FormCase("privacy_delete", _u("integrations:privacy_delete")),
    FormCase(
        "staff_settings",
        _u("staff:settings"),
        extra_fields=lambda w, bad: {"begin_test": st.one_of(st.none(), st.just("1"))},
    ),
    FormCase("staff_rule_add", _u("staff:rule_add"), "rule_form", page=_u("staff:settings")),
    FormCase("staff_rule_edit", _u("staff:rule_edit", rule_id="rule_id")),
    FormCase("staff_rule_delete", _u("staff:rule_delete", rule_id="rule_id"), None),
    FormCase(
        "staff_rule_move",
        _u("staff:rule_move", rule_id="rule_id"),
        None,
        extra_fields=lambda w, bad: {"direction": _pick("up", "down")(w, bad)},
    ),
    FormCase("staff_no_schools_zone", _u("staff:no_schools_zone"), None),
    FormCase(
        "staff_import_confirm",
        _u("integrations:import_confirm", data_type="staff"),
        None,
        extra_fields=lambda w, bad: {"confirm": _pick("yes", "no", "on")(w, bad)},
    ),
    FormCase("staff_detail", _u("staff:detail", staff_id="staff_id")),
    # Roles and functions: the add forms carry the prefix "new".
    FormCase("staff_roles", _u("staff:roles")),
    FormCase("staff_role_edit", _u("staff:role_edit", role_id="role_id")),
    FormCase("staff_role_delete", _u("staff:role_delete", role_id="role_id"), None),
    FormCase("staff_functions", _u("staff:functions")),
    FormCase("staff_function_edit", _u("staff:function_edit", function_id="function_id")),
    FormCase("staff_function_delete", _u("staff:function_delete", function_id="function_id"), None),
    FormCase("scan_refresh", _u("integrations:scan_refresh", data_type="students"), None),
    FormCase("field_rules", _u("integrations:field_rules", data_type="students")),
    FormCase("field_rules_staff", _u("integrations:field_rules", data_type="staff")),
    FormCase("student_detail", _u("students:detail", student_id="student_id")),
    FormCase(
        "sso_choose_school",
        _u("sso:choose_school"),
        None,
        extra_fields=lambda w, bad: {"school": bad, "next": bad},
    ),
)


def _form_of(client, case: FormCase, w: World) -> forms.BaseForm | None:
    if case.form_key is None:
        return None
    response = client.get((case.page or case.url)(w))
    assert response.status_code == 200, f"{case.name}: the form page answers {response.status_code}"
    form = response.context[case.form_key]
    assert not form.is_bound
    return form


def _post_data(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}


def _typed(value) -> str:
    return value[-1] if isinstance(value, list) else value  # what QueryDict.get returns


def _messages(response) -> list:
    return list(get_messages(response.wsgi_request))


def check_echo(case: FormCase, form: forms.BaseForm, posted: dict, html: str) -> None:
    """The re-rendered form shows what was typed: text in its input, valid choices selected."""
    for name, f in form.fields.items():
        html_name = form.add_prefix(name)
        if html_name not in posted or f.disabled or name in case.secrets:
            continue
        value = posted[html_name]
        if isinstance(f.widget, forms.CheckboxInput):
            continue
        if isinstance(f, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
            chosen = value if isinstance(value, list) else [value]
            valid = set(_choice_values(f))
            for v in chosen:
                if v in valid:
                    assert re.search(
                        rf'name="{re.escape(html_name)}" value="{re.escape(escape(v))}"[^>]*checked',
                        html,
                    ), f"{case.name}: {html_name}={v!r} is no longer ticked"
            continue
        typed = _typed(value)
        if isinstance(f, forms.ChoiceField | forms.ModelChoiceField):
            if typed in _choice_values(f) and typed != "":
                pattern = (
                    rf'name="{re.escape(html_name)}" value="{re.escape(escape(typed))}"[^>]*checked'
                    if isinstance(f.widget, forms.RadioSelect)
                    else rf'<option value="{re.escape(escape(typed))}"[^>]*selected'
                )
                assert re.search(pattern, html), (
                    f"{case.name}: {html_name}={typed!r} is no longer selected"
                )
            continue
        assert escape(typed) in html, (
            f"{case.name}: {html_name} lost what was typed ({typed!r:.80})"
        )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_form_survives_bad_input(client, world, case):
    w = world
    client.force_login(w.admin)
    bad = hostile(w.foreign_ids)
    form = _form_of(client, case, w)
    strategies: dict[str, st.SearchStrategy] = {}
    if form is not None:
        for name, f in form.fields.items():
            strategies[form.add_prefix(name)] = field_strategy(f, bad)
    strategies.update(case.extra_fields(w, bad))
    # Keys no form expects are ignored, never an error.
    strategies["unexpected-" + case.name] = st.one_of(st.none(), bad)
    url = case.url(w)
    stats = {"examples": 0, "rerendered": 0, "redirected": 0, "other": 0}

    @FUZZ
    @given(st.fixed_dictionaries(strategies))
    def one(data):
        posted = _post_data(data)
        client.cookies.pop("messages", None)  # no message left over from the last example
        with transaction.atomic():
            before = db_state(w.district)
            response = client.post(url, posted)
            after = db_state(w.district)
            changed = changed_tables(before, after)
            # A save must never point at another district's object (a foreign id accepted).
            leaked = foreign_references(w.district, w.other) if changed else []
            html = "" if response.streaming else response.content.decode("utf-8", "replace")
            msgs = _messages(response)
            transaction.set_rollback(True)
        stats["examples"] += 1
        status = response.status_code
        assert status < 500, f"{case.name}: {status}"
        assert w.token not in html, f"{case.name}: the stored Clever token is on the page"
        for key in case.secrets:
            typed = _typed(posted.get(key) or "")
            if typed.startswith(TOKEN_MARK):
                assert TOKEN_MARK not in html, f"{case.name}: a typed token was sent back"
        errors = [m for m in msgs if m.level >= message_levels.WARNING]
        assert not leaked, f"{case.name}: saved a reference to district B: {leaked}"
        if status == 400 and response.context is None:
            # The NUL guard (naviance_sync.middleware) refused it before any view ran.
            stats["nul_refused"] = stats.get("nul_refused", 0) + 1
            assert "NUL character" in html, f"{case.name}: a bare 400"
            assert not changed, f"{case.name}: refused but changed {changed}"
        elif status in (200, 400):
            stats["rerendered"] += 1
            bound = response.context.get(case.form_key) if case.form_key else None
            has_errors = bool(bound is not None and bound.is_bound and bound.errors)
            said = has_errors or errors or response.context.get("error")
            said = said or response.context.get("errors")
            assert said, f"{case.name}: re-rendered without saying what is wrong"
            assert not changed, f"{case.name}: invalid post changed {changed}"
            if bound is not None and bound.is_bound:
                check_echo(case, bound, posted, html)
        elif status == 302:
            stats["redirected"] += 1
            if errors and not any(m.level == message_levels.SUCCESS for m in msgs):
                assert not changed, f"{case.name}: refused ({errors[0]}) but changed {changed}"
        else:
            stats["other"] += 1
            assert status in (403, 404, 405), f"{case.name}: {status}"
            assert not changed, f"{case.name}: {status} but changed {changed}"

    one()
    assert stats["examples"] >= min(EXAMPLES, 10), stats
    FIGURES[case.name] = stats
    print(f"P5 {case.name}: {stats}")


FIGURES: dict[str, dict] = {}


def test_the_fuzzed_forms_are_every_post_target_of_the_portal():
    """A new POST view must be added to CASES (or to the list of views that take no input)."""
    fuzzed = {c.name for c in CASES}
    targets = {name for name, _kws in url_patterns(named_only=True, skipped=ROLE_MATRIX_SKIPPED)}
    covered = {
        "integrations:setup_edit",
        "integrations:setup_reset",
        "integrations:school_matches",
        "integrations:fields",
        "integrations:codes",
        "integrations:sync_settings",
        "integrations:notifications_edit",
        "integrations:recipient_delete",
        "integrations:run_start",
        "integrations:run_approve",
        "integrations:run_undo",
        "integrations:calendar",
        "integrations:calendar_delete",
        "integrations:schedule_resume",
        "integrations:alert_choose",
        "integrations:alerts_process",
        "integrations:privacy_delete",
        "staff:settings",
        "staff:rule_add",
        "staff:rule_edit",
        "staff:rule_delete",
        "staff:rule_move",
        "staff:no_schools_zone",
        "integrations:import_confirm",
        "staff:detail",
        "sso:choose_school",
        "staff:roles",
        "staff:role_edit",
        "staff:role_delete",
        "staff:functions",
        "staff:function_edit",
        "staff:function_delete",
        "integrations:scan_refresh",
        "integrations:field_rules",
        "students:detail",
    }
    # Pages that accept no POST (405), or whose POST takes no input (sign-out everywhere).
    read_only = {
        "home",
        "audit_log",
        "students:list",
        "sso:sign_out_everywhere",
        "integrations:configure",
        "integrations:setup",
        "integrations:data_settings",
        "integrations:summary",
        "integrations:notifications",
        "integrations:run_log",
        "integrations:run_detail",
        "integrations:run_results_csv",
        "integrations:update_log",
        "integrations:alerts",
        "integrations:missing",
        "integrations:student_history",
        "integrations:imports",
        "staff_moved:home",
        "staff_moved:setup",
        "staff_moved:import",
        "staff_moved:import_confirm",
        "staff_moved:run",
        "staff_moved:run_csv",
        "staff:list",
        "staff:account_setup",
        "account_setup",
        "integrations:scan_status",
    }
    assert len(fuzzed) == len(CASES)
    assert targets - covered - read_only == set(), "fuzz these new POST targets"
    assert covered <= targets, f"these URLs no longer exist: {covered - targets}"


# --- GET: hostile query strings on every page --------------------------------------------------

QUERY_KEYS = (
    "after",
    "before",
    "page",
    "q",
    "data_type",
    "mode",
    "status",
    "action",
    "run",
    "student",
    "field",
    "show",
    "school",
    "role",
    "function",
    "list",
    "account_type",
    "grade",
    "class_year",
    "refresh",
    "next",
)

SWEEP = ("²", "١٢", "9" * 5000, "-1", "1e309", "NaN", "a\x00b", "0x10", " 7 ", "<b>x</b>")


@pytest.fixture
def without_nul_guard(settings):
    """The views themselves must survive NUL bytes too: the middleware is the second line."""
    guard = "naviance_sync.middleware.NulByteGuardMiddleware"
    assert guard in settings.MIDDLEWARE
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != guard]


def test_every_page_survives_hostile_query_strings(client, world, without_nul_guard):
    w = world
    client.force_login(w.admin)
    bad = hostile(w.foreign_ids)
    pages = []
    for name, kws in portal_patterns():
        kwargs = {k: w.ids[k] if k in w.ids else PLAIN_KWARGS.get(k) for k in kws}
        if any(k in ID_MAKERS and k not in w.ids for k in kws):
            kwargs.update(
                {k: ID_MAKERS[k](w.district) for k in kws if k not in w.ids and k in ID_MAKERS}
            )
        pages.append(reverse(name, kwargs=kwargs))
    tried = {"n": 0}
    # First a sweep: every page with every query key set to each value that parses badly, then
    # each key alone with a NUL byte (together, one invalid key can empty the query before the
    # NUL reaches the database, hiding it).
    for url in pages:
        sweep = [dict.fromkeys(QUERY_KEYS, value) for value in SWEEP]
        if client.get(url).status_code == 200:
            sweep += [{key: "a\x00b"} for key in QUERY_KEYS]
        for query in sweep:
            with transaction.atomic():
                response = client.get(url, query)
                transaction.set_rollback(True)
            tried["n"] += 1
            assert response.status_code in (200, 302, 403, 404, 405), (url, query, response)

    @settings(FUZZ, max_examples=max(EXAMPLES * 2, 50))
    @given(
        st.sampled_from(pages),
        st.dictionaries(st.sampled_from(QUERY_KEYS), st.one_of(bad, st.lists(bad, max_size=3))),
    )
    def one(url, query):
        # The 100,000-character strings stay in POST bodies; a URL that long is refused upstream.
        query = {
            k: (v[:2000] if isinstance(v, str) else [x[:2000] for x in v]) for k, v in query.items()
        }
        with transaction.atomic():
            response = client.get(url, query)
            transaction.set_rollback(True)
        tried["n"] += 1
        assert response.status_code in (200, 302, 403, 404, 405), (url, response.status_code)
        if not response.streaming:
            assert w.token not in response.content.decode("utf-8", "replace")

    one()
    assert tried["n"] >= 50


# --- what the fuzzer found (each was a 500 or a silent re-render), pinned ---------------------


def test_found_an_empty_post_is_answered_with_an_error_not_a_blank_form(client, world):
    client.force_login(world.admin)
    before = db_state(world.district)
    for url, text in (
        (reverse("integrations:privacy_delete"), "Type the district name"),
        (
            reverse("staff:rule_edit", kwargs={"rule_id": world.ids["rule_id"]}),
            "This field is required",
        ),
    ):
        response = client.post(url, {})
        assert response.status_code == 400 and text in response.content.decode(), url
    assert db_state(world.district) == before


def test_found_a_token_that_cannot_travel_in_a_header(client, world):
    """Found when the admin's form took a token. It takes none now: a posted token (even one
    that could not travel in a header) is ignored, never stored or echoed; the district's
    token is the one Clever lists."""
    client.force_login(world.admin)
    conn = CleverConnection.objects.get(district=world.district)
    for token in ("tok-SECRET-Ā", "tok-SECRET-\u202e", "tok SECRET", "tok-SECRET\r\nX-Evil: 1"):
        response = client.post(
            reverse("integrations:setup_edit"),
            {
                "clever_district_id": conn.clever_district_id,
                "token": token,
                "previous_integration": "none",
            },
        )
        assert response.status_code == 302
        assert "SECRET" not in client.get(reverse("integrations:setup")).content.decode()
        stored = CleverConnection.objects.get(district=world.district)
        assert decrypt_token(stored.token_encrypted) == world.token


def test_found_query_values_that_reached_the_database(client, world, without_nul_guard):
    client.force_login(world.admin)
    for url, query in (
        (reverse("integrations:update_log"), {"field": "a\x00b"}),
        (reverse("staff:list"), {"school": "²", "role": "9" * 5000, "q": "a\x00b"}),
        (
            reverse("integrations:run_detail", kwargs={"run_id": world.ids["run_id"]}),
            {"action": "\x00", "after": "a\x00b"},
        ),
        (reverse("students:list"), {"grade": "\x00"}),
        (reverse("students:list"), {"after": "a\x00b"}),
    ):
        assert client.get(url, query).status_code in (200, 404), url
