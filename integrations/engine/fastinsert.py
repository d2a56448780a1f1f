"""Multi-row INSERTs without building model instances: what makes a 100,000-row import seconds.

``bulk_create`` instantiates a model and runs every field's preparation per value; on a first
import that is most of the time. Here rows are plain dicts, defaults are filled once per column,
and on PostgreSQL each batch is one ``INSERT ... VALUES (...), (...) RETURNING id`` rendered by
psycopg2's ``mogrify`` and executed through Django's cursor (so query logging and
``CaptureQueriesContext`` still see it). Other databases take ``bulk_create``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import JSONField, Model

BATCH = 5000


def _columns(model: type[Model]) -> list[Any]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def fast_insert(
    model: type[Model],
    rows: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    returning: bool = False,
    batch_size: int = BATCH,
) -> list[int]:
    """Insert ``rows`` (attname -> value; missing columns take the field default)."""
    rows = list(rows)
    if not rows:
        return []
    fields = _columns(model)
    defaults: dict[str, Any] = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        else:
            defaults[f.attname] = f.get_default()  # "" for text, None for nullable, or the default
    if connection.vendor != "postgresql":
        objs = [model(**{**defaults, **row}) for row in rows]
        ids: list[int] = []
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            model.objects.bulk_create(batch)
            ids.extend(obj.pk for obj in batch)
        return ids if returning else []

    json_cols = {f.attname for f in fields if isinstance(f, JSONField)}
    names = [f.attname for f in fields]
    if not returning:
        _copy(model, fields, names, json_cols, defaults, rows)
        return []
    quoted = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    template = "(" + ", ".join(["%s"] * len(fields)) + ")"
    ids = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for start in range(0, len(rows), batch_size):
            parts = []
            for row in rows[start : start + batch_size]:
                values = []
                for name in names:
                    value = row[name] if name in row else defaults[name]
                    if name in json_cols:
                        value = json.dumps(value, ensure_ascii=False, default=str)
                    values.append(value)
                parts.append(raw.mogrify(template, values).decode())
            # Identifiers come from model metadata (quoted); every value went through mogrify.
            sql = f"INSERT INTO {table} ({quoted}) VALUES " + ", ".join(parts)  # noqa: S608  # nosec B608
            if returning:
                sql += f" RETURNING {pk}"
            cursor.execute(sql)
            if returning:
                ids.extend(r[0] for r in cursor.fetchall())
    return ids


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any, is_json: bool) -> str:
    if value is None:
        return "\\N"
    if is_json:
        value = json.dumps(value, ensure_ascii=False, default=str)
    elif value is True or value is False:
        return "t" if value else "f"
    elif isinstance(value, datetime | date):
        return value.isoformat()
    elif not isinstance(value, str):
        value = str(value)
    return value.replace("\x00", "").translate(_COPY_ESCAPES)


def _copy(
    model: type[Model],
    fields: list[Any],
    names: list[str],
    json_cols: set[str],
    defaults: dict[str, Any],
    rows: list[Mapping[str, Any]],
) -> None:
    """PostgreSQL COPY for rows whose ids nobody needs (results, update log): fastest path."""
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    flags = [name in json_cols for name in names]
    buffer = io.StringIO()
    write = buffer.write
    for row in rows:
        write(
            "\t".join(
                _copy_text(row[name] if name in row else defaults[name], is_json)
                for name, is_json in zip(names, flags, strict=True)
            )
        )
        write("\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({quoted}) FROM STDIN", buffer)
