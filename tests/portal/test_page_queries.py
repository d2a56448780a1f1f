"""Issue 18 (load): the portal's pages got cheaper without changing what they show.

The Students and Staff searches order their matches by a value no index hands over (so
PostgreSQL probes the search indexes instead of walking every name in order); these tests pin
that a search still finds the same rows, in the same order and with the same count, and on
PostgreSQL that the plans use the indexes the migrations add. A finished run's result counts are
counted once; a running one's each time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations import selectors as run_selectors
from integrations.models import ImportRun, RunResult
from staff import selectors as staff_selectors
from staff.models import User
from students import selectors
from students.models import Student
from tests.factories import StaffAccountFactory, StudentFactory

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's plans and indexes"
)

# Mixed case, accents, and other scripts: what a district's names hold.
NAMES = ["CHEN", "Chavez", "chan", "Ábrego", "ábrego", "de la Cruz", "DIAZ", "Zhou", "o'brien"]
NAMES += ["Øst", "Иванов", "иванова", "Ωmega", "李", "Nguyen", "nguyen"]


def _walk(**filters) -> list[int]:
    """Every student the Students page lists for ``filters``, page by page (2 a page)."""
    seen, cursor = [], None
    while True:
        page = selectors.student_list(cursor=cursor, size=2, **filters)
        seen += [s.pk for s in page.rows]
        if not page.has_next:
            return seen
        cursor = page.next_cursor


def test_student_search_lists_matches_in_the_pages_own_order(district):
    for last in NAMES:
        StudentFactory(district=district, last_name=last, first_name="Sam")
        StudentFactory(district=district, last_name=last, first_name="sally")
    StudentFactory(district=district, last_name="Other", first_name="Kim")
    everyone = _walk(district=district)
    sams = _walk(district=district, q="SA")  # every first name but Kim's
    kim = {s.pk for s in selectors.student_list(district=district, q="kim").rows}
    assert sams == [pk for pk in everyone if pk not in kim]  # same rows, same order
    first = selectors.student_list(district=district, q="sa")
    assert [s.pk for s in first.rows] == sams[:50]
    lasts = [s.last_name for s in first.rows]
    assert lasts.index("chan") < lasts.index("Chavez") < lasts.index("CHEN")
    assert lasts.index("Иванов") < lasts.index("иванова")


def test_student_search_matches_each_id_field_exactly_and_names_by_prefix(district):
    ids = {
        "student_id": "SID-501",
        "clever_id": "clv501",
        "state_id": "ST501",
        "student_number": "N501",
    }
    match = StudentFactory(district=district, last_name="Okafor", first_name="Ada", **ids)
    StudentFactory(district=district, last_name="Okonkwo", first_name="Ben")
    for field, value in ids.items():
        rows = selectors.student_list(district=district, q=value).rows
        assert [s.pk for s in rows] == [match.pk], field
        assert not selectors.student_list(district=district, q=value[:-1]).rows, field
    assert [s.last_name for s in selectors.student_list(district=district, q="oK").rows] == [
        "Okafor",
        "Okonkwo",
    ]
    both = selectors.student_list(district=district, q="okafor ADA").rows  # either order
    assert [s.pk for s in both] == [match.pk]
    assert [s.pk for s in selectors.student_list(district=district, q="ada okafor").rows] == [
        match.pk
    ]


def test_staff_search_lists_the_same_rows_in_name_order_with_their_count(district):
    made = [
        StaffAccountFactory(district=district, last_name=last, first_name=first, job_title=title)
        for last, first, title in [
            ("CHEN", "Li", "Math Teacher"),
            ("Chavez", "Ana", "Counselor"),
            ("chan", "Bo", "teacher, science"),
            ("Ábrego", "Eva", "Principal"),
            ("Иванов", "Ivan", "Teacher"),
            ("Chavez", "Aaron", "Teacher"),
        ]
    ]
    StaffAccountFactory(district=district, last_name="Zed", employee_id="E-77")
    filters = staff_selectors.StaffFilters(q="teach")
    page = staff_selectors.staff_list(district=district, filters=filters, per_page=2)
    expected = list(
        User.objects.filter(pk__in=[u.pk for u in made if "teach" in u.job_title.lower()])
        .order_by("last_name", "first_name", "id")
        .values_list("pk", flat=True)
    )
    assert page.paginator.count == len(expected) == 4
    listed = []
    for number in page.paginator.page_range:
        listed += [u.pk for u in page.paginator.page(number).object_list]
    assert listed == expected
    by_id = staff_selectors.StaffFilters(q="e-77")  # the employee id: whole, any case
    assert [
        u.last_name for u in staff_selectors.staff_queryset(district=district, filters=by_id)
    ] == ["Zed"]
    part = staff_selectors.StaffFilters(q="E-7")
    assert not staff_selectors.staff_queryset(district=district, filters=part).exists()


def _plan(sql: str, params: tuple = (), *, index_scans: bool = True, sorts: bool = True) -> str:
    """PostgreSQL's plan for ``sql`` with sequential scans priced out (and index scans or sorts,
    if asked), as on a large district: a test's few rows are cheapest to read whole. With sorts
    priced out, an order any index can hand over is taken from it."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ANALYZE students_student")
        cursor.execute("ANALYZE staff_user")
        # What autovacuum does to a GIN index's pending list: the trigram indexes priced as built.
        cursor.execute(
            "SELECT gin_clean_pending_list(indexrelid::regclass) FROM pg_index "
            "JOIN pg_class c ON c.oid = indexrelid WHERE c.relname LIKE 'user_%_trgm'"
        )
        cursor.execute("SET LOCAL enable_seqscan = off")
        if not index_scans:
            cursor.execute("SET LOCAL enable_indexscan = off")
        if not sorts:
            cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params or None)
        return "\n".join(row[0] for row in cursor.fetchall())


def _students_sql(district, **filters) -> str:
    with CaptureQueriesContext(connection) as queries:
        selectors.student_list(district=district, **filters)
    return next(q["sql"] for q in queries if 'FROM "students_student"' in q["sql"])


def _many_students(district, count: int = 3000) -> None:
    """Enough students that PostgreSQL plans as for a real district (a few rows it reads whole)."""
    Student.objects.bulk_create(
        Student(
            district=district,
            last_name=f"Last{i:05d}",
            first_name=f"First{i:05d}",
            student_id=f"S{i}",
            state_id=f"ST{i}",
        )
        for i in range(count)
    )


@postgres_only
def test_student_list_plans_use_the_sort_and_search_indexes(district):
    _many_students(district)
    listing = _plan(_students_sql(district))
    assert "student_district_sort" in listing and "Sort" not in listing.split("Index")[0]
    after = selectors.student_list(district=district).next_cursor
    assert "student_district_sort" in _plan(_students_sql(district, cursor=after))
    for q, index in [
        ("Last0012", "student_district_last_prefix"),
        ("first0012", "student_district_first_prefix"),
        ("First0012 Last0012", "_prefix"),
    ]:
        assert index in _plan(_students_sql(district, q=q)), q  # the name search's probe
        # Its matches are sorted, never read in order off the sort index (a walk through every
        # name), even where sorting costs the most.
        plan = _plan(_students_sql(district, q=q), sorts=False)
        assert "Index Scan using student_district_sort" not in plan, (q, plan)
        assert "Presorted Key" not in plan, (q, plan)
    for q, index in [("ST12", "student_district_state_id"), ("S12", "student_district_sid")]:
        assert index in _plan(_students_sql(district, q=q)), q


@postgres_only
def test_staff_search_plans_probe_the_trigram_indexes(district):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            pytest.skip("pg_trgm is not installed here: the search reads the table")
    User.objects.bulk_create(
        User(district=district, username=f"u{i}", last_name=f"Name{i:05d}", job_title="Teacher")
        for i in range(3000)
    )
    filters = staff_selectors.StaffFilters(q="name0012")
    qs = staff_selectors.staff_queryset(district=district, filters=filters)
    rows = _plan(*qs.query.sql_with_params(), sorts=False)
    # Never a walk in name order, even where sorting the matches costs the most.
    assert "user_district_name" not in rows and "Presorted Key" not in rows, rows
    for query in (qs.query, qs.order_by().values("pk").query):
        plan = _plan(*query.sql_with_params(), index_scans=False)
        assert "user_last_name_trgm" in plan and "user_job_title_trgm" in plan, plan


def _finished_run(district, *, results: int) -> ImportRun:
    run = ImportRun.objects.create(
        district=district,
        data_type="students",
        mode="import",
        status="succeeded",
        finished_at=timezone.now(),
    )
    RunResult.objects.bulk_create(RunResult(run=run, action="create") for _ in range(results))
    return run


def test_a_finished_runs_result_counts_are_counted_once(district, django_assert_num_queries):
    run = _finished_run(district, results=3)
    RunResult.objects.create(run=run, action="error")
    with django_assert_num_queries(1):
        assert run_selectors.run_result_counts(run=run) == {"create": 3, "error": 1}
    with django_assert_num_queries(0):
        assert run_selectors.run_result_counts(run=run) == {"create": 3, "error": 1}


def test_a_running_runs_result_counts_are_counted_each_time(district):
    run = ImportRun.objects.create(
        district=district, data_type="students", mode="import", status="applying"
    )
    RunResult.objects.create(run=run, action="create")
    assert run_selectors.run_result_counts(run=run) == {"create": 1}
    RunResult.objects.create(run=run, action="create")
    assert run_selectors.run_result_counts(run=run) == {"create": 2}


def test_a_run_that_ended_at_another_time_is_counted_afresh(district):
    """A run id used again (SQLite may, after a delete) never reads another run's counts."""
    run = _finished_run(district, results=2)
    assert run_selectors.run_result_counts(run=run) == {"create": 2}
    RunResult.objects.create(run=run, action="update")
    run.finished_at += dt.timedelta(seconds=1)
    assert run_selectors.run_result_counts(run=run) == {"create": 2, "update": 1}


def _results_sql(**kwargs) -> str:
    with CaptureQueriesContext(connection) as queries:
        run_selectors.run_results(**kwargs)
    return next(q["sql"] for q in queries if 'FROM "integrations_runresult"' in q["sql"])


@postgres_only
def test_a_runs_results_are_read_off_the_runs_own_index_entries_in_id_order(district):
    """The run page lists a run's results in id order. With only the primary key handing that
    order over, PostgreSQL walked it from the table's first row and filtered by run: 137,600
    rows read for the 51 of a past run in the load benchmark's district, more the more other
    runs wrote before it. ``result_run`` (run, id) hands over the run's own rows; a list of one
    action still reads ``result_run_action``."""
    _finished_run(district, results=3000)  # an earlier, larger run: rows ahead of the next's
    later = _finished_run(district, results=60)
    RunResult.objects.create(run=later, action="error")
    page = run_selectors.run_results(run=later)
    assert len(page.rows) == 50 and {r.run_id for r in page.rows} == {later.pk} and page.has_next
    assert [r.pk for r in page.rows] == sorted(r.pk for r in page.rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE integrations_runresult")
    every = _plan(_results_sql(run=later), sorts=False)
    assert "result_run " in every and "Index Cond: (run_id = " in every, every
    assert "Filter" not in every, every  # never the primary key filtered by run
    after = page.next_cursor
    assert "Filter" not in _plan(_results_sql(run=later, cursor=after), sorts=False)
    one_action = _plan(_results_sql(run=later, action="error"), sorts=False)
    assert "result_run_action" in one_action and "Filter" not in one_action, one_action


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_run_index_migration_rebuilds_an_invalid_left_over_and_keeps_the_timeouts():
    """What a deploy after a failed concurrent build finds: ``result_run`` invalid (a failed
    CREATE INDEX CONCURRENTLY leaves it so, still written by every insert). The migration drops
    and builds it again, lifting the connection's timeouts for the build only."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("integrations.migrations.0025_result_run_id_order")

    def setting(name: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"SHOW {name}")
            return cursor.fetchone()[0]

    def valid() -> bool | None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('result_run')"
            )
            row = cursor.fetchone()
        return row[0] if row else None

    with connection.cursor() as cursor:  # whatever the connection had before is kept
        cursor.execute("SET statement_timeout = '123s'")
        cursor.execute("SET lock_timeout = '45s'")
    before = setting("statement_timeout"), setting("lock_timeout")
    assert before == ("123s", "45s")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE pg_index SET indisvalid = false "
                "WHERE indexrelid = to_regclass('result_run')"
            )
    except Exception:  # noqa: BLE001 - only a superuser may mark an index invalid
        pytest.skip("this database user cannot mark an index invalid")
    assert valid() is False
    with connection.schema_editor(atomic=False) as editor:
        migration.forwards(apps, editor)
    assert valid() is True
    assert (setting("statement_timeout"), setting("lock_timeout")) == before
    with connection.cursor() as cursor:
        cursor.execute("RESET statement_timeout")
        cursor.execute("RESET lock_timeout")
