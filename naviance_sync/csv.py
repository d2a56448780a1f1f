"""The one CSV writer for every download (run results of every data type, staff lists, ...).

Every cell of every row goes through :func:`csv_cell`, which neutralises spreadsheet formula
injection (OWASP "CSV Injection"): a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a
carriage return or a line feed (or a full-width ``=``, ``+``, ``-``, ``@``, which some spreadsheet
locales also read as a formula) gets a leading apostrophe, so Excel, LibreOffice and Google Sheets
show it as text instead of running it. Values come from Clever and from people (names, reasons,
titles), so no column is trusted. Never write a download with ``csv.writer`` directly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell that no spreadsheet runs as a formula (``None`` -> "")."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(*, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header and the rows as CSV text, one line at a time, every cell neutralised."""
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_cell(c) for c in header])
    for row in rows:
        yield writer.writerow([csv_cell(c) for c in row])


def csv_response(
    *, filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A streamed CSV download (rows are read lazily: 100,000 result rows never sit in memory)."""
    response = StreamingHttpResponse(
        csv_lines(header=header, rows=rows), content_type="text/csv; charset=utf-8"
    )
    safe_name = "".join(c for c in filename if c.isalnum() or c in "-_.") or "download.csv"
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    return response
