"""Formula injection (OWASP "CSV Injection") over every column of every CSV download.

Values in downloads come from Clever and from people (names, ids, reasons, titles): a cell that
starts with = + - @, a tab, a carriage return or a line feed (or their full-width forms) runs as
a formula in a spreadsheet. Issue 13 item 9: the staff CSV escaped less than the student one (a
leading tab or CR was not neutralised). One writer (``naviance_sync.csv``) serves every download.
On production settings (DEBUG off, HTTPS), like the other security tests.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from integrations.models import ImportRun, RunResult
from naviance_sync.csv import FORMULA_STARTS, csv_cell
from tests.support.settings import use_production

pytestmark = pytest.mark.django_db

PAYLOADS = (
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\uff1d1+1",
    "\uff0b1",
    "\uff0d1",
    "\uff20SUM(1)",
)
# Result kinds whose rows every download lists (the staff download groups them by result).
ACTIONS = ("error", "create", "update", "inactivate", "warning", "alert", "skip", "match")


@pytest.fixture(autouse=True)
def production(settings):
    use_production(settings)


def csv_routes() -> set[str]:
    """The names of every URL that serves a .csv, from the resolver (new downloads join here)."""
    names: set[str] = set()

    def walk(patterns, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and ".csv" in str(p.pattern):
                names.add(f"{namespace}{p.name}")

    walk(get_resolver().url_patterns, "")
    return names


@pytest.fixture
def poisoned_runs(district):
    runs = {}
    for data_type in ("students", "staff"):
        run = ImportRun.objects.create(
            district=district, data_type=data_type, mode="test", status="succeeded"
        )
        RunResult.objects.bulk_create(
            RunResult(
                run=run,
                action=ACTIONS[i % len(ACTIONS)],
                clever_id=payload[:64],
                local_id=i + 1,
                name=payload,
                code=payload[:40],
                reason=payload,
                changes={payload: [payload, payload]},
            )
            for i, payload in enumerate(PAYLOADS * 2)
        )
        runs[data_type] = run
    return runs


# (URL name, the run's data type): every download, for every data type it serves.
DOWNLOADS = (
    ("integrations:run_results_csv", "students"),
    ("integrations:run_results_csv", "staff"),
    # The former staff download (a bookmark): redirects to the shared one, checked through it.
    ("staff_moved:run_csv", "staff"),
)


def test_every_csv_download_is_covered_here():
    assert csv_routes() == {name for name, _data_type in DOWNLOADS}


@pytest.mark.parametrize(("name", "data_type"), DOWNLOADS)
def test_no_cell_of_any_csv_download_starts_a_formula(admin_client, poisoned_runs, name, data_type):
    url = reverse(name, kwargs={"run_id": poisoned_runs[data_type].pk})
    assert admin_client.get(url).status_code == 301  # production: plain HTTP goes to HTTPS
    response = admin_client.get(url, follow=True, secure=True)
    assert response.status_code == 200, name
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == len(PAYLOADS) * 2, name
    for row in rows:
        assert len(row) == len(header), (name, row)
        for column, cell in zip(header, row, strict=True):
            assert cell[:1] not in FORMULA_STARTS, (name, column, cell)
    # Neutralised, not dropped: every payload is still there, as text.
    cells = {cell for row in body for cell in row}
    for payload in PAYLOADS:
        assert "'" + payload in cells or any(c.startswith("'" + payload) for c in cells), (
            name,
            payload,
        )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_cell_neutralises_every_formula_start(payload):
    assert csv_cell(payload) == "'" + payload
    assert csv_cell("Smith, =Ann") == "Smith, =Ann"
    assert csv_cell(None) == "" and csv_cell(42) == "42"
