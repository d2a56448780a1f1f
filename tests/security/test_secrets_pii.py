"""S8 (secrets) and S9 (PII minimisation) over the real paths: the setup form, Celery messages,
a full import and failing imports against the simulator, the summary emails and the log.

The Clever token must appear nowhere but encrypted in its column (no district admin page shows any
of it: the application fetches it from Clever); students' names and emails from the dataset must appear in no email and no log line.
"""

from __future__ import annotations

import logging

import pytest
from celery.app.task import Task
from django.core import mail
from django.urls import reverse

from integrations.crypto import decrypt_token
from integrations.models import CleverConnection, ImportRun
from integrations.runs import run_start
from tests.support.clever import fast_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def celery_messages(monkeypatch):
    """Every Celery message the product sends (task name, args, kwargs), recorded, not sent."""
    sent: list[tuple[str, tuple, dict]] = []

    def apply_async(self, args=None, kwargs=None, **options):
        sent.append((self.name, tuple(args or ()), dict(kwargs or {})))

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return sent


def students_of(sim) -> list[dict]:
    district_id = sim.dataset.district_ids()[0]
    return [
        u
        for u in sim.dataset.records("users", district_id)
        if isinstance(u.get("roles"), dict) and "student" in u["roles"]
    ]


def pii_strings(sim) -> set[str]:
    """Students' full names (both orders) and emails: what must never leave the pages."""
    out: set[str] = set()
    for u in students_of(sim):
        name = u.get("name") or {}
        first, last = (name.get("first") or "").strip(), (name.get("last") or "").strip()
        if first and last:
            out |= {f"{first} {last}", f"{last}, {first}"}
        if u.get("email"):
            out.add(u["email"].strip())
            out.add(u["email"].strip().lower())
    return out


def everything_logged(caplog) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
    return "\n".join(parts)


def everything_mailed() -> str:
    return "\n".join(
        f"{m.subject}\n{m.body}\n{m.to}\n{getattr(m, 'alternatives', '')}" for m in mail.outbox
    )


def execute(run: ImportRun) -> ImportRun:
    from integrations.engine.service import run_execute

    return run_execute(run_id=run.pk, allow_retry=False, client_factory=fast_client()).run


@pytest.fixture
def clever_app(settings, clever_simulator):
    settings.CLEVER_API_URL = settings.CLEVER_OAUTH_URL = clever_simulator.url
    settings.CLEVER_CLIENT_ID, settings.CLEVER_CLIENT_SECRET = next(
        iter(clever_simulator.dataset.oauth_clients.items())
    )
    return clever_simulator


def test_token_is_ciphertext_and_no_page_shows_any_of_it(admin_client, district, clever_app):
    token = clever_app.token()
    district_id = clever_app.dataset.district_ids()[0]
    response = admin_client.post(
        reverse("integrations:setup_edit"),
        {"clever_district_id": district_id, "previous_integration": "none"},
    )
    assert response.status_code == 302, response.content[:500]
    conn = CleverConnection.objects.get(district=district)
    assert conn.token_encrypted and token not in conn.token_encrypted
    assert conn.token_encrypted != token and decrypt_token(conn.token_encrypted) == token
    assert conn.token_last4 == token[-4:]  # for support (Django admin) and the audit log
    pages = [
        reverse("integrations:setup"),
        reverse("integrations:setup_edit"),
        reverse("integrations:configure"),
        reverse("integrations:school_matches"),
    ]
    for url in pages:
        body = admin_client.get(url).content.decode()
        assert token not in body, url
        assert token[:-4] not in body and token[-4:] not in body, url


def test_a_failed_connection_does_not_echo_a_posted_token(admin_client, clever_app):
    token = clever_app.token()
    response = admin_client.post(
        reverse("integrations:setup_edit"),
        {
            "clever_district_id": "000000000000000000000000",  # no district shares this id
            "token": token,  # not a field of the form: ignored
            "previous_integration": "none",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert token not in response.content.decode()


def test_token_and_pii_stay_out_of_tasks_logs_and_emails(
    connected,
    admin_user,
    clever_simulator,
    celery_messages,
    caplog,
    django_capture_on_commit_callbacks,
):
    from integrations.emails import run_summary_send

    caplog.set_level(logging.DEBUG)
    token = clever_simulator.token()
    faults = clever_simulator.faults
    runs = []

    def one(mode="import", **fault_values):
        faults.update(fault_values)
        faults.reset_counters()
        with django_capture_on_commit_callbacks(execute=True):
            run = run_start(district=connected, data_type="students", mode=mode, user=admin_user)
        with django_capture_on_commit_callbacks(execute=True):
            finished = execute(run)
        runs.append(finished)
        for name, args, _ in list(celery_messages):
            if name.endswith("send_run_summary") and args and args[0] == finished.pk:
                run_summary_send(run_id=finished.pk)
                break
        return finished

    assert one("test").status == "succeeded"
    assert one("import").status == "succeeded"
    clever_simulator.dataset.update_user(
        students_of(clever_simulator)[0]["id"], {"name": {"last": "Renamed"}}
    )
    assert one("import", revoke_token_after=2).status == "failed"  # 401 mid-run
    assert one("import", revoke_token_after=None, error_burst=50).status == "failed"  # 5xx
    assert one("import", error_burst=0, html_every=1).status == "failed"  # HTML body
    assert one("import", html_every=0, truncate_every=1).status == "failed"  # truncated page

    assert celery_messages, "starting imports should send Celery messages"
    for name, args, kwargs in celery_messages:
        assert token not in repr((args, kwargs)), name
        assert all(isinstance(a, int) for a in args), (name, args)  # ids only
    logged = everything_logged(caplog)
    mailed = everything_mailed()
    assert mail.outbox, "summary emails should have gone out"
    assert token not in logged and token not in mailed
    for run in runs:
        assert token not in run.error_message
    leaked = {s for s in pii_strings(clever_simulator) if s in logged or s in mailed}
    assert not leaked, f"student PII in logs or emails: {sorted(leaked)[:5]}"
