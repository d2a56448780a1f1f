"""Bulk INSERTs without building model instances: what makes a 100,000-row import seconds.

``bulk_create`` instantiates a model and runs every field's preparation per value; on a first
import that is most of the time. Here rows are plain dicts, or tuples of named columns (``names``),
defaults are rendered once per column, and on PostgreSQL every table is written with one streamed
``COPY ... FROM STDIN`` per call:

- rows are rendered lazily into COPY text and handed to psycopg2 a megabyte at a time, so neither
  the rows nor the text are ever all in memory (``rows`` may be a generator);
- when the caller needs the new ids (``returning=True``), they are taken from the table's
  sequence first (one ``SELECT nextval(...) FROM generate_series(1, n)``) and written with the
  rows, which is what ``INSERT ... RETURNING`` would have given, without rendering 100,000
  ``VALUES`` tuples through ``mogrify`` or making the server parse them;
- the COPY goes through Django's execute wrappers and query log (``_execute_with_wrappers``), so
  ``CaptureQueriesContext``, the benchmark's statement counter and its live-table write check see
  it like any INSERT.

Other databases take ``bulk_create``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from django.db import DatabaseError, connection
from django.db.models import JSONField, Model

from naviance_sync.text import NUL, storable

BATCH = 5000
READ_SIZE = 1 << 20  # characters of COPY text per psycopg2 read
_NOTHING = object()  # ``absent`` when no value stands for the column default
# Columns whose values are text: a ``str`` value is written as it is unless it needs escaping.
_TEXT_TYPES = frozenset({"CharField", "TextField", "EmailField", "SlugField", "URLField"})


def _columns(model: type[Model]) -> list[Any]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def fast_insert(
    model: type[Model],
    rows: Iterable[Any],
    *,
    now: datetime,
    returning: bool = False,
    batch_size: int = BATCH,
    count: int | None = None,
    names: Sequence[str] | None = None,
    absent: object = _NOTHING,
) -> Sequence[int]:
    """Insert ``rows`` (attname -> value; missing columns take the field default).

    With ``returning=True`` the new primary keys come back in row order; ``count`` (the number of
    rows) lets a generator be streamed instead of listed first.

    With ``names``, each row is a tuple of those columns' values in that order, not a dict: no
    dict per row, and on PostgreSQL each line is rendered by a function compiled once for these
    columns (``_tuple_lines``). A value that ``is absent`` takes the column default, as a key
    left out of a dict row does.
    """
    fields = _columns(model)
    defaults: dict[str, Any] = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        else:
            defaults[f.attname] = f.get_default()  # "" for text, None for nullable, or the default
    if names is not None and (len(set(names)) != len(names) or not set(names) <= set(defaults)):
        raise ValueError(f"fast_insert: {list(names)} are not distinct columns of {model.__name__}")
    if connection.vendor != "postgresql":
        if names is not None:
            rows = (
                {k: v for k, v in zip(names, row, strict=True) if v is not absent} for row in rows
            )
        # The COPY path drops NUL from text and JSON; this path must store the same values.
        objs = [model(**{**defaults, **storable(dict(row))}) for row in rows]
        created: list[int] = []
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            model._default_manager.bulk_create(batch)
            created.extend(obj.pk for obj in batch)
        return created if returning else []

    json_cols = {f.attname for f in fields if isinstance(f, JSONField)}
    text_cols = {f.attname for f in fields if f.get_internal_type() in _TEXT_TYPES}
    all_names = [f.attname for f in fields]
    columns = [f.column for f in fields]

    def lines(rows: Iterable[Any], ids: Sequence[int] | None) -> Iterator[str]:
        if names is None:
            return _copy_lines(all_names, json_cols, defaults, rows, ids)
        render = _tuple_lines(
            _Layout(tuple(all_names), tuple(names), frozenset(json_cols), frozenset(text_cols)),
            defaults,
            absent,
            with_ids=ids is not None,
        )
        # rows first: an extra row is pulled (and refused by ``_at_most``) before ids run out;
        # fewer rows than ids are counted by ``_copy`` and refused below.
        return render(rows) if ids is None else render(zip(rows, ids, strict=False))

    if not returning:
        _copy(model, columns, lines(rows, None))
        return []
    if count is None:
        rows = list(rows)
        count = len(rows)
    if not count:
        return []
    ids = _reserve_ids(model, count)
    pk_column = model._meta.pk.column
    assert pk_column is not None, "a concrete model's primary key has a column"
    written = _copy(model, [pk_column, *columns], lines(_at_most(rows, count), ids))
    if written != count:
        raise ValueError(f"fast_insert: {count} rows announced, {written} given")
    return ids


def _reserve_ids(model: type[Model], count: int) -> Sequence[int]:
    """``count`` fresh primary keys from the table's own sequence (ascending, like RETURNING).

    The server answers with the lowest and highest value taken: when they span exactly ``count``
    values (no other session took one in between: almost always) the ids are that ``range``, and
    a million of them are not fetched as rows (~90 MB at a 1,000,000-student first import, at
    the moment the whole plan is in memory).
    """
    sequence = [connection.ops.quote_name(model._meta.db_table), model._meta.pk.column]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id), max(id) FROM (SELECT nextval(pg_get_serial_sequence(%s, %s)) AS id "
            "FROM generate_series(1, %s)) AS taken",
            [*sequence, count],
        )
        low, high = cursor.fetchone()
        if high - low + 1 == count:
            return range(low, high + 1)
        # Interleaved with another session's: those values stay unused (a gap in the ids, as a
        # rolled-back insert leaves) and the ids are taken again, one row each.
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [*sequence, count],
        )
        return sorted(r[0] for r in cursor.fetchall())


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", NUL: None})
# Whether a text needs ``_COPY_ESCAPES`` at all: ``str.translate`` with a table walks every
# character in Python-level lookups (microseconds a value, most of a first import's rendering),
# one regex search does not; almost no value holds one of these characters.
_NEEDS_ESCAPE = re.compile("[\\\\\t\n\r\x00]").search
# Datetimes and dataclasses go to ``default=str`` as ``json.dumps`` sends them (a datetime with
# a space, not orjson's "T").
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _escaped(text: str) -> str:
    return text.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE(text) else text


def _json_text(value: Any) -> str:
    """A JSON column's value as text: ``orjson`` (one C call), unless the value holds what it
    refuses (a lone surrogate, a non-text key, a 65-bit integer) or a NUL, which PostgreSQL's
    jsonb refuses: those take ``storable`` and the standard module, as every value used to."""
    try:
        data = orjson.dumps(value, default=str, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        data = b"\\u0000"
    if b"\\u0000" in data:
        return json.dumps(storable(value), ensure_ascii=False, default=str)
    return data.decode()


def _copy_text(value: Any, is_json: bool) -> str:
    if value is None:
        return "\\N"
    if is_json:
        value = _json_text(value)
    elif type(value) is str:
        return _escaped(value)
    elif value is True or value is False:
        return "t" if value else "f"
    elif type(value) is int:
        return str(value)
    elif isinstance(value, datetime | date):
        return value.isoformat()
    text = value if isinstance(value, str) else str(value)
    return _escaped(text)


def _copy_lines(
    names: list[str],
    json_cols: set[str],
    defaults: dict[str, Any],
    rows: Iterable[Mapping[str, Any]],
    ids: Iterable[int] | None = None,
) -> Iterator[str]:
    """One COPY text line per row (``ids``, when given, are the first column).

    The hot loop of a 100,000-row import (2.5 million values): text and None are rendered
    inline, everything else through ``_copy_text``; a column the row leaves out is rendered once.
    """
    columns = [
        (name, name in json_cols, _copy_text(defaults.get(name), name in json_cols))
        for name in names
    ]
    text = _copy_text
    escapes = _COPY_ESCAPES
    needs_escape = _NEEDS_ESCAPE
    missing = _MISSING
    id_iter = iter(ids) if ids is not None else None
    for row in rows:
        parts: list[str] = [] if id_iter is None else [str(next(id_iter))]
        append = parts.append
        get = row.get
        for name, is_json, default in columns:
            value = get(name, missing)
            if value is missing:
                append(default)
            elif value.__class__ is str and not is_json:
                append(value.translate(escapes) if needs_escape(value) else value)
            elif value is None:
                append("\\N")
            else:
                append(text(value, is_json))
        yield "\t".join(parts) + "\n"


_MISSING = object()


@dataclass(frozen=True)
class _Layout:
    """The COPY's columns (``all_names``, in order) and the columns each row tuple holds."""

    all_names: tuple[str, ...]
    names: tuple[str, ...]
    json_cols: frozenset[str]
    text_cols: frozenset[str]


def _tuple_lines(
    layout: _Layout, defaults: Mapping[str, Any], absent: object, *, with_ids: bool
) -> Callable[[Iterable[Any]], Iterator[str]]:
    """A generator function compiled for ``layout``: row tuples (``(row, pk)`` pairs when
    ``with_ids``) in, COPY lines out, each exactly what ``_copy_lines`` renders for the same row
    as a dict (tests/engine/test_fastinsert_lines.py holds them to it).

    One f-string per row instead of a loop over the columns: a text column's ``str`` value is
    written inline when it is printable and has no backslash (nothing to escape); ``int`` values
    of other columns inline too; everything else, and ``absent``, goes through that column's
    ``_copy_text`` (``slow_N``).
    """
    position = {name: i for i, name in enumerate(layout.names)}
    env: dict[str, Any] = {"BS": "\\"}
    parts = ["{pk}"] if with_ids else []
    for k, name in enumerate(layout.all_names):
        is_json = name in layout.json_cols
        default = _copy_text(defaults.get(name), is_json)
        if name not in position:
            env[f"default_{k}"] = default
            parts.append(f"{{default_{k}}}")
            continue
        env[f"slow_{k}"] = _slow_text(default, is_json, absent)
        v = f"v{position[name]}"
        if is_json:
            parts.append(f"{{slow_{k}({v})}}")
        elif name in layout.text_cols:
            ok = f"{v}.__class__ is str and {v}.isprintable() and BS not in {v}"
            parts.append(f"{{({v} if {ok} else slow_{k}({v}))}}")
        else:
            parts.append(f"{{({v} if {v}.__class__ is int else slow_{k}({v}))}}")
    unpack = ", ".join(f"v{i}" for i in range(len(layout.names))) + ","
    head = f"for ({unpack}), pk in rows:" if with_ids else f"for {unpack} in rows:"
    source = "def render(rows):\n    " + head + '\n        yield f"' + "\\t".join(parts) + '\\n"\n'
    name = f"<COPY lines of {len(layout.all_names)} columns>"
    # Only generated names (v0, slow_3, default_2) and ints go into the source; values, defaults
    # and field names stay in ``env``.
    exec(compile(source, name, "exec"), env)  # noqa: S102  # nosec B102 - see the line above
    return env["render"]  # type: ignore[no-any-return]


def _slow_text(default: str, is_json: bool, absent: object) -> Callable[[Any], str]:
    def slow(value: Any) -> str:
        if value is absent:
            return default
        text = _copy_text(value, is_json)
        # A str subclass (a TextChoices member) as its plain text, as "\t".join writes it.
        return text if text.__class__ is str else str.__str__(text)

    return slow


def _at_most(rows: Iterable[Any], count: int) -> Iterator[Any]:
    """The rows, refusing an extra one (there are only ``count`` reserved ids)."""
    for n, row in enumerate(rows, 1):
        if n > count:
            raise ValueError(f"fast_insert: more than the {count} rows announced")
        yield row


class _LineStream:
    """A read-only file over generated lines, for ``copy_expert``: memory stays one chunk."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.rows = 0
        # What the rows raised while psycopg2 was reading them: psycopg2 swallows it, ends the
        # COPY with an error and the server answers QueryCanceled (an OperationalError, which
        # the engine would take for a lost connection and retry); ``_copy`` raises this instead.
        self.error: Exception | None = None

    def read(self, size: int = -1) -> str:
        chunk: list[str] = []
        length = 0
        try:
            for line in self._lines:
                chunk.append(line)
                length += len(line)
                if 0 < size <= length:
                    break
        except Exception as exc:
            self.error = exc
            raise
        self.rows += len(chunk)
        return "".join(chunk)

    def readline(self, size: int = -1) -> str:  # pragma: no cover - psycopg2 uses read()
        return next(self._lines, "")


def _copy(model: type[Model], columns: list[str], lines: Iterator[str]) -> int:
    """PostgreSQL COPY of the rendered ``lines`` in one statement, streamed; returns the number
    of rows."""
    stream = _LineStream(lines)
    first = stream.read(READ_SIZE)
    if not first:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = f"COPY {table} ({quoted}) FROM STDIN"
    source = _Prefixed(first, stream)
    with connection.cursor() as cursor:
        raw = cursor.cursor

        def executor(sql: str, params: Any, many: bool, context: Any) -> None:
            # As Django's own execute does: psycopg2 errors become django.db errors, so a dropped
            # connection is an OperationalError the engine retries, not an unknown exception.
            try:
                with connection.wrap_database_errors:
                    raw.copy_expert(sql, source, size=READ_SIZE)
            except DatabaseError as exc:
                if stream.error is not None:  # the rows' own error, not the database's
                    raise stream.error from exc
                raise

        debug = getattr(cursor, "debug_sql", None)
        if debug is not None:  # CursorDebugWrapper (DEBUG or CaptureQueriesContext): log it
            with debug(sql):
                cursor._execute_with_wrappers(sql, None, False, executor)
        else:
            cursor._execute_with_wrappers(sql, None, False, executor)
    return stream.rows


class _Prefixed:
    """``first`` (already read, to skip empty COPYs) followed by the rest of ``stream``."""

    def __init__(self, first: str, stream: _LineStream) -> None:
        self._first: str | None = first
        self._stream = stream

    def read(self, size: int = -1) -> str:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return self._stream.read(size)

    def readline(self, size: int = -1) -> str:  # pragma: no cover - psycopg2 uses read()
        return self._stream.readline(size)
