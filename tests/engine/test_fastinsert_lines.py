"""Rows as tuples (``fast_insert(..., names=...)``, issue 18): the COPY lines a function compiled
for the columns renders are exactly the lines the generic dict renderer gives for the same rows,
for every kind of value Clever or a spec may put in a row; the stored rows are the same on both
backends; a spec's ``create_values`` must give the same columns for every new record."""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.engine import fastinsert
from integrations.engine.fastinsert import _copy_lines, _Layout, _tuple_lines, fast_insert
from integrations.models import ImportRun, RunResult
from naviance_sync.sync_contract import KEEP
from students.models import Student
from students.sync import StudentSpec
from tests.support.clever import fast_client, students_in_clever

ALL = ("plain", "text_a", "json_a", "number", "other", "text_b", "json_b")
NAMES = ("text_b", "number", "json_a", "other", "text_a")  # another order; plain, json_b left out
TEXT, JSON = frozenset({"plain", "text_a", "text_b"}), frozenset({"json_a", "json_b"})
DEFAULTS = {
    "plain": "",
    "text_a": "",
    "json_a": {},
    "number": None,
    "other": None,
    "text_b": "fallback",
    "json_b": {"k": "v"},
}

# What a row may hold: text with every character COPY escapes or drops (tab, newline, carriage
# return, backslash, NUL), other control characters, non-Latin and long text, a literal "\N",
# a str subclass (a TextChoices member), None, bools, ints, dates, datetimes, decimals, JSON.
texts = st.one_of(
    st.text(),
    st.text(alphabet="\\\t\n\r\x00\x1f\u2028 aé中Жλ", max_size=12),
    st.sampled_from(["\\N", "", "Ünïcödé", "中文名", "Ж" * 300, "a" * 2000, Student.Status.ACTIVE]),
)
values = st.one_of(
    texts,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.dictionaries(st.text(max_size=5), st.one_of(texts, st.integers(), st.none()), max_size=3),
    st.lists(st.integers(), max_size=3),
    st.just(KEEP),
)


def rendered(rows, *, with_ids):
    layout = _Layout(ALL, NAMES, JSON, TEXT)
    render = _tuple_lines(layout, DEFAULTS, KEEP, with_ids=with_ids)
    ids = list(range(1, len(rows) + 1))
    compiled = list(render(zip(rows, ids, strict=True) if with_ids else rows))
    as_dicts = [{k: v for k, v in zip(NAMES, row, strict=True) if v is not KEEP} for row in rows]
    generic = list(_copy_lines(list(ALL), set(JSON), DEFAULTS, as_dicts, ids if with_ids else None))
    return compiled, generic


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(*[values] * len(NAMES)), min_size=1, max_size=5), ids=st.booleans())
def test_compiled_lines_are_the_generic_lines_for_any_values(rows, ids):
    compiled, generic = rendered(rows, with_ids=ids)
    assert compiled == generic


def test_text_that_needs_escaping_is_escaped_and_absent_takes_the_default():
    rows = [
        ("tab\there", 7, {"a": "b\\c"}, date(2010, 3, 4), "line\nbreak"),
        ("back\\slash", True, None, Decimal("3.500"), "nul\x00gone"),
        (KEEP, KEEP, KEEP, KEEP, Student.Status.ACTIVE),
    ]
    compiled, generic = rendered(rows, with_ids=True)
    assert compiled == generic
    assert compiled[0].split("\t")[1:3] == ["", "line\\nbreak"]  # plain (left out), text_a
    assert compiled[1].split("\t")[2] == "nulgone"
    assert compiled[2] == '3\t\tactive\t{}\t\\N\t\\N\tfallback\t{"k":"v"}\n'


@pytest.mark.django_db
def test_tuple_rows_store_what_dict_rows_store(district):
    """Both backends: the same rows as tuples and as dicts are stored alike (KEEP: default)."""
    run = ImportRun.objects.create(district=district, data_type="students", mode="import")
    names = ("run_id", "action", "clever_id", "local_id", "name", "changes", "reason")
    tuples = [
        (run.pk, "create", "c1", 5, "Núñez, José", {"grade": "9"}, "tab\there"),
        (run.pk, "error", "c2", None, "中文\\名", {}, KEEP),
    ]
    dicts = [{k: v for k, v in zip(names, row, strict=True) if v is not KEEP} for row in tuples]
    now = timezone.now()
    a = fast_insert(RunResult, tuples, now=now, returning=True, count=2, names=names, absent=KEEP)
    b = fast_insert(RunResult, dicts, now=now, returning=True, count=2)
    fields = ("action", "clever_id", "local_id", "name", "changes", "reason")

    def stored(pks):
        return [RunResult.objects.values(*fields).get(pk=pk) for pk in pks]

    assert stored(a) == stored(b)
    assert stored(a)[1]["reason"] == "" and stored(a)[0]["reason"] == "tab\there"
    with pytest.raises(ValueError, match="not distinct columns"):
        fast_insert(RunResult, tuples, now=now, names=(*names[:-1], "no_such_column"))
    with pytest.raises(ValueError, match="not distinct columns"):
        fast_insert(RunResult, tuples, now=now, names=(*names[:-1], "run_id"))


@pytest.mark.django_db
def test_an_error_of_the_rows_mid_copy_is_that_error_not_a_lost_connection(district, monkeypatch):
    """psycopg2 swallows what the rows raise once it reads them itself (after the first chunk)
    and the server cancels the COPY: that must surface as the rows' error, never as the
    OperationalError the engine retries as a lost connection."""
    monkeypatch.setattr(fastinsert, "READ_SIZE", 64)  # the COPY starts after 64 characters
    run = ImportRun.objects.create(district=district, data_type="students", mode="import")

    def rows():
        for n in range(50):
            if n == 40:
                raise LookupError("row 40 is bad")
            yield (run.pk, "create", f"c{n}", None, "Name", {}, "")

    names = ("run_id", "action", "clever_id", "local_id", "name", "changes", "reason")
    with pytest.raises(LookupError, match="row 40 is bad"):
        fast_insert(RunResult, rows(), now=timezone.now(), names=names)


@pytest.mark.django_db
def test_create_values_in_another_order_are_written_and_other_columns_refused(
    connected, run_sync, clever_simulator, monkeypatch, caplog
):
    """The columns of the first new record's ``create_values`` hold for all: the same columns
    in another order are reordered; a record with other columns fails the run (its own error,
    not a lost connection, even once psycopg2 reads the rows: READ_SIZE small), nothing
    written; the first record's values are asked for once."""
    monkeypatch.setattr(fastinsert, "READ_SIZE", 64)
    calls = []

    def shuffled(self, mapped, config):
        calls.append(mapped.clever_id)
        if len(calls) % 2:
            return {"status": "active", "graduation_year": 2031}
        return {"graduation_year": 2031, "status": "active"}

    monkeypatch.setattr(StudentSpec, "create_values", shuffled)
    run = run_sync("import", client_factory=fast_client())
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    total = len(students_in_clever(clever_simulator))
    assert Student.objects.filter(district=connected, graduation_year=2031).count() == total
    assert len(calls) == len(set(calls)) == total  # once per record, the first one too

    Student.objects.filter(district=connected).delete()
    calls.clear()

    def other_columns(self, mapped, config):
        calls.append(mapped.clever_id)
        return {"status": "active"} if len(calls) < 5 else {"status": "active", "grade": "9"}

    monkeypatch.setattr(StudentSpec, "create_values", other_columns)
    failed = run_sync("import", client_factory=fast_client())
    assert failed.status == ImportRun.Status.FAILED
    assert "(ValueError). Nothing was changed" in failed.error_message  # the details: support's
    assert "it must give the same columns" in caplog.text
    assert not Student.objects.filter(district=connected).exists()
