"""LOG_FORMAT=json: one JSON object per line, with district_id and run_id on every line a run
writes (issue 19); the default format stays human-readable."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.crypto import encrypt_token
from integrations.engine.service import run_execute
from integrations.models import CleverConnection
from integrations.runs import run_start
from naviance_sync.logs import JsonFormatter, RunContextFilter, current_run, run_context
from tests.support.clever import fast_client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """The console handler as LOG_FORMAT=json configures it, on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RunContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.mark.django_db(transaction=True)
def test_every_line_a_run_writes_names_its_district_and_run(
    connected, clever_simulator, json_lines
):
    """A run whose token Clever refuses writes lines from several modules (the Clever client,
    the token refresh, the engine): each one carries the run's ids."""
    CleverConnection.objects.filter(district=connected).update(
        token_encrypted=encrypt_token("revoked-token-0000")
    )
    run = run_start(district=connected, data_type="students", mode="import", enqueue=False)
    logging.getLogger("tests.ops").info("before the run")
    run = run_execute(run_id=run.pk, allow_retry=False, client_factory=fast_client()).run
    logging.getLogger("tests.ops").info("after the run")
    assert run.status == "failed"
    lines = json_lines()
    messages = [r["message"] for r in lines]
    start, end = messages.index("before the run"), messages.index("after the run")
    during = lines[start + 1 : end]
    # The engine's failure line and the summary email's line (sent inline in tests).
    assert {r["logger"] for r in during} >= {"integrations.engine", "integrations.emails"}
    for record in during:
        assert (record["district_id"], record["run_id"]) == (connected.pk, run.pk), record
    outside = lines[: start + 1] + lines[end:]  # "run N queued" by the starter, the markers
    assert len(outside) >= 3
    assert {(r["district_id"], r["run_id"]) for r in outside} == {(None, None)}
    assert current_run() == (None, None)


def test_the_binding_ends_with_the_run_even_when_it_raises():
    with pytest.raises(RuntimeError):
        with run_context(run_id=7, district_id=3):
            assert current_run() == (3, 7)
            raise RuntimeError("boom")
    assert current_run() == (None, None)


def test_json_lines_are_one_object_each_even_with_a_traceback_and_newlines():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "two\nlines é 名前", None, None)
    try:
        raise ValueError("bad")
    except ValueError:
        record.exc_info = sys.exc_info()
    RunContextFilter().filter(record)
    text = JsonFormatter().format(record)
    assert "\n" not in text
    parsed = json.loads(text)
    assert parsed["message"] == "two\nlines é 名前"
    assert "ValueError: bad" in parsed["exc_info"]
    assert (parsed["district_id"], parsed["run_id"]) == (None, None)


def _settings_logging(log_format: str | None) -> subprocess.CompletedProcess:
    """Configure logging from the settings in a fresh interpreter and log one line in a run."""
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    if log_format is not None:
        env["LOG_FORMAT"] = log_format
    env["DJANGO_SETTINGS_MODULE"] = "naviance_sync.settings_test"
    code = (
        "import django, logging; django.setup()\n"
        "from django.conf import settings\n"
        "from naviance_sync.logs import run_context\n"
        "print('HIJACK', settings.CELERY_WORKER_HIJACK_ROOT_LOGGER, flush=True)\n"
        "with run_context(run_id=12, district_id=34):\n"
        "    logging.getLogger('integrations.engine.service').warning('run 12 failed')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_log_format_json_from_the_settings():
    out = _settings_logging("json")
    assert out.returncode == 0, out.stderr
    assert "HIJACK False" in out.stdout  # Celery workers keep the JSON handler
    line = [ln for ln in out.stderr.splitlines() if "run 12 failed" in ln][-1]
    parsed = json.loads(line)
    assert (parsed["district_id"], parsed["run_id"], parsed["level"]) == (34, 12, "WARNING")
    assert all(json.loads(ln) for ln in out.stderr.splitlines() if ln.strip())


def test_default_format_stays_human_readable():
    out = _settings_logging(None)
    assert out.returncode == 0, out.stderr
    assert "HIJACK True" in out.stdout
    line = [ln for ln in out.stderr.splitlines() if "run 12 failed" in ln][-1]
    assert line.endswith("WARNING integrations.engine.service run 12 failed")
    assert not line.startswith("{")


def test_an_unknown_log_format_is_refused_with_its_name():
    out = _settings_logging("xml")
    assert out.returncode != 0
    assert 'LOG_FORMAT must be "plain" or "json", not "xml"' in out.stderr


@pytest.mark.django_db
def test_the_tasks_bind_the_run_for_their_own_lines(district, json_lines, monkeypatch):
    """The mail worker's summary task and the import task's own failure path (outside
    run_execute) write lines with the run's ids too."""
    from integrations import tasks
    from tests.ops.scenario import make_run

    run = make_run(district, status="failed")

    def summary(*, run_id):
        logging.getLogger("integrations.emails").info("summary of %s", run_id)

    monkeypatch.setattr(tasks, "run_summary_send", summary)
    tasks.send_run_summary.run(run.pk)
    (line,) = json_lines()
    assert (line["district_id"], line["run_id"]) == (district.pk, run.pk)
