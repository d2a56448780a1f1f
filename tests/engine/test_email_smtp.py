"""The run summary over real SMTP: an in-process SMTP sink on loopback, Django's smtp backend."""

from __future__ import annotations

import socketserver
import threading

import pytest
from django.core import mail

from integrations.emails import run_summary_send
from integrations.models import ImportRun
from tests.support.clever import fast_client, students_in_clever

pytestmark = pytest.mark.django_db(transaction=True)


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept messages: EHLO, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        envelope = {"from": "", "to": [], "data": ""}
        while True:
            line = self.rfile.readline().decode("utf-8", "replace")
            if not line:
                return
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                envelope["from"] = line.split(":", 1)[1].strip()
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["to"].append(line.split(":", 1)[1].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (chunk := self.rfile.readline().decode("utf-8", "replace")) not in (
                    ".\r\n",
                    "",
                ):
                    lines.append(chunk)
                envelope["data"] = "".join(lines)
                self.server.messages.append(dict(envelope))
                self.reply("250 OK queued")
            elif verb == "RSET" or verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


class SMTPSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.messages: list[dict] = []


@pytest.fixture
def smtp_sink(settings):
    server = SMTPSink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.server_address
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.PORTAL_URL = "https://portal.example.org"
    yield server
    server.shutdown()
    server.server_close()


def test_run_summary_goes_out_over_smtp_without_student_pii(
    connected, run_sync, clever_simulator, smtp_sink
):
    run = run_sync("import", client_factory=fast_client())  # on commit: the summary is sent
    assert run.status == ImportRun.Status.SUCCEEDED
    assert len(smtp_sink.messages) == 1
    message = smtp_sink.messages[0]
    assert message["to"] == ["<registrar@maple.example.org>"]
    body = message["data"].split("\r\n\r\n", 1)[1]
    assert f"Created: {run.created}" in body and "Errors: 0" in body
    assert f"https://portal.example.org/integrations/runs/{run.pk}/" in body
    for raw in students_in_clever(clever_simulator):
        name = f"{raw['name']['first'].strip()} {raw['name']['last'].strip()}"
        assert name not in body and raw["name"]["last"].strip() + "," not in body
        if raw.get("email"):
            assert raw["email"].strip() not in body
        assert raw["roles"]["student"]["sis_id"] not in body
    # At most once per run: a second send is a no-op.
    assert run_summary_send(run_id=run.pk) is False
    assert len(smtp_sink.messages) == 1


def test_guard_stop_and_failure_emails_say_what_happened(
    connected, run_sync, clever_simulator, smtp_sink
):
    run_sync("import", client_factory=fast_client())
    for raw in students_in_clever(clever_simulator)[:40]:
        clever_simulator.dataset.delete_user(raw["id"])
    stopped = run_sync("import", client_factory=fast_client())
    assert stopped.status == ImportRun.Status.NEEDS_REVIEW
    assert "stopped for review" in smtp_sink.messages[-1]["data"].split("\r\n\r\n")[0]
    assert "approve" in smtp_sink.messages[-1]["data"]
    clever_simulator.faults.update({"revoke_token_after": 0})
    failed = run_sync("import", client_factory=fast_client())
    assert failed.status == ImportRun.Status.FAILED
    assert "rejected the token" in smtp_sink.messages[-1]["data"].replace("\r\n", " ")
    assert mail.outbox == []
