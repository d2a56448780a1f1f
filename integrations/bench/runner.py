"""The benchmark: real code paths on PostgreSQL against the simulator over HTTP on loopback.

``bin/bench`` (or ``make bench``) runs it and prints ONE JSON object. For each scenario: wall
seconds, records per second, peak RSS of the sync process (``os.wait4``), SQL statements issued,
and the ratio to the *floor* measured in the same run (``floors.floor``: plain ``requests`` GETs
of the same pages, the standard ``json`` module, COPY of twelve text columns into a TEMP table):
absolute times drift on shared machines, the ratio does not.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, *, admin_url: str, db_name: str, keep_db: bool) -> None:
        import psycopg2

        self.psycopg2 = psycopg2
        self.admin_url = admin_url
        base = admin_url.rsplit("/", 1)[0]
        self.db_url = f"{base}/{db_name}"
        self.db_name = db_name
        self.keep_db = keep_db
        self.var_dir = tempfile.mkdtemp(prefix="naviance-bench-")
        self.env = {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "NAVIANCE_DEV": "1",
            "NAVIANCE_VAR_DIR": self.var_dir,
            "DJANGO_SETTINGS_MODULE": "naviance_sync.settings",
            "LOG_LEVEL": "WARNING",
            "EMAIL_URL": "consolemail://",
            "CONN_MAX_AGE": "0",
            "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        }
        for k in ("REDIS_URL", "CELERY_BROKER_URL"):
            self.env.pop(k, None)

    # --- database -----------------------------------------------------------------------------
    def recreate_db(self) -> None:
        conn = self.psycopg2.connect(self.admin_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{self.db_name}"')
        conn.close()
        self.manage("migrate", "--noinput", "-v", "0")

    def drop_db(self) -> None:
        if self.keep_db:
            return
        conn = self.psycopg2.connect(self.admin_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        conn.close()

    def manage(self, *args: str, env: dict | None = None) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    # --- measured child -------------------------------------------------------------------------
    def sync(
        self,
        district: str,
        *,
        data_type: str = "students",
        mode: str = "import",
        env: dict | None = None,
    ) -> dict[str, Any]:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "integrations.bench.child",
                "--district",
                district,
                "--data-type",
                data_type,
                "--mode",
                mode,
            ],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        stdout, stderr = proc.stdout.read(), proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        lines = stdout.decode().strip().splitlines()
        if not lines:
            raise RuntimeError(f"sync of {district} printed nothing:\n{stderr.decode()[-3000:]}")
        data = json.loads(lines[-1])
        data["wall_seconds"] = round(wall, 3)
        # The child's own high-water mark (VmHWM); ru_maxrss would include this runner's size,
        # which execve carries over on Linux. Kept as a fallback where /proc is missing.
        if data.get("peak_rss_mb") is None:
            data["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
        if data["result"].get("status") not in ("succeeded", "needs_review"):
            log(f"sync {district} {mode}: {data['result']} {stderr.decode()[-2000:]}")
        return data

    # --- floor ------------------------------------------------------------------------------------
    def floor(self, *, base_url: str, token: str, role: str = "student") -> dict[str, Any]:
        """The least any sync does, measured without the product's code (``floors.floor``), in
        a child process like every sync."""
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "integrations.bench.floors",
                "--db-url",
                self.db_url,
                "--base-url",
                base_url,
                "--token",
                token,
                "--role",
                role,
            ],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise RuntimeError(f"floor ({role}) failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def scenario(
    name: str,
    data: dict[str, Any],
    *,
    records: int,
    floor: dict | None = None,
    target_seconds: float | None = None,
) -> dict[str, Any]:
    wall = data["wall_seconds"]
    out = {
        "scenario": name,
        "records": records,
        "wall_seconds": wall,
        "records_per_second": round(records / wall) if wall else None,
        "peak_rss_mb": data["peak_rss_mb"],
        "queries": data["queries"],
        "live_table_writes": data["live_writes"],
        "status": data["result"].get("status"),
        "counts": {
            k: data["result"].get(k)
            for k in ("created", "updated", "matched", "unchanged", "inactive", "errors", "alerts")
        },
    }
    # The sync's own time inside the measured process (``child``: from the command's start to
    # its end). The wall time also holds the process's start (Python, Django setup, imports:
    # about half a second), which a worker pays once, not per run, and the floor not at all.
    inner = data.get("inner_seconds")
    out["in_process_seconds"] = inner
    if floor:
        out["floor_seconds"] = floor["wall_seconds"]
        out["ratio_to_floor"] = (
            round(wall / floor["wall_seconds"], 2) if floor["wall_seconds"] else None
        )
        out["in_process_ratio_to_floor"] = (
            round(inner / floor["wall_seconds"], 2) if floor["wall_seconds"] and inner else None
        )
    if target_seconds is not None:
        out["target_seconds"] = target_seconds
        # A refused or failed run meets nothing, however fast it was.
        out["meets_target"] = wall <= target_seconds and out["status"] == "succeeded"
    return out


def with_writes_floor(row: dict[str, Any], bench: Bench, slug: str) -> dict[str, Any]:
    """``row`` (a first import's) with the database's own share beside it
    (``floor_writes.writes_floor``: the rows it wrote, COPYed again into copies of the live tables
    with their indexes and foreign keys) and its time over the two floors together: what a first
    import costs beyond reading the pages and what the database needs to store them.

    Only for an import that finished; a measurement that fails is reported in the row
    (``writes_floor_error``), never the end of the benchmark."""
    from .floor_writes import writes_floor

    status = row["status"]
    if status not in ("succeeded", "completed_with_errors"):
        return {**row, "writes_floor_error": f"not measured: the import ended {status}"}
    try:
        wrote = writes_floor(db_url=bench.db_url, district_slug=slug)
    except Exception as exc:  # noqa: BLE001 - reported in the JSON, the other figures stand
        log(f"writes floor of {slug} failed: {exc!r}")
        return {**row, "writes_floor_error": repr(exc)[:500]}
    floor = row.get("floor_seconds")
    log(f"writes floor of {slug}: {wrote['wall_seconds']} s")
    return {
        **row,
        "writes_floor_seconds": wrote["wall_seconds"],
        "writes_floor": wrote,
        "ratio_to_floor_and_writes_floor": (
            round(row["wall_seconds"] / (floor + wrote["wall_seconds"]), 2) if floor else None
        ),
    }


def setup_district(bench: Bench, *, slug: str, name: str, dataset: dict, url: str) -> None:
    clever_id = dataset["districts"][0]["id"]
    bench.manage(
        "clever_setup",
        "--district",
        slug,
        "--name",
        name,
        "--clever-district",
        clever_id,
        "--token",
        dataset["tokens"][clever_id],
        "--api-url",
        url,
        "--accept-suggestions",
        "--create-missing-schools",
    )


PREPARE_STAFF = """
from naviance_sync import services as core
from naviance_sync.models import District
from staff import services
from staff.models import JobFunction, Role, TitleKeywordRule

district = core.district_enable_clever(
    district=District.objects.get(slug={slug!r}), integration="staff"
)
services.staff_settings_ensure(district=district)
for keyword, role_name, function_name in (
    ("Teacher", "Teacher", "Instruction"),
    ("Counselor", "Counselor", "Counseling"),
    ("Principal", "School Administrator", "Administration"),
):
    if TitleKeywordRule.objects.filter(district=district, keyword=keyword).exists():
        continue
    role, _ = Role.objects.get_or_create(district=district, name=role_name)
    function, _ = JobFunction.objects.get_or_create(district=district, name=function_name)
    services.keyword_rule_create(
        district=district, actor=None, keyword=keyword, role=role, job_function=function
    )
services.no_schools_zone_create(district=district, actor=None)
"""


def prepare_staff(bench: Bench, slug: str) -> None:
    """What an admin does before a staff import: enable the staff application, save the Staff
    Import Settings with title keyword rules and the No Schools Zone (the guide's order)."""
    bench.manage("shell", "-c", PREPARE_STAFF.format(slug=slug))


def run(args: argparse.Namespace) -> dict[str, Any]:
    from integrations.simulator import Dataset, SimulatorServer
    from integrations.simulator.generator import generate_district

    from .floor_staff import add_teacher_sections

    admin_url = args.database_admin_url
    bench = Bench(admin_url=admin_url, db_name=args.db_name, keep_db=args.keep_db)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "scenarios": [],
        "floors": {},
    }
    bench.recreate_db()
    n = args.students
    log(f"generating {n} students, {args.schools} schools, {args.staff} staff")
    t = time.perf_counter()
    data = generate_district(
        students=n,
        staff=args.staff,
        schools=args.schools,
        seed=args.seed,
        district_name="Bench Unified",
    )
    if args.staff:
        results["staff_sections_added"] = add_teacher_sections(data, seed=args.seed)
    results["generator_seconds"] = round(time.perf_counter() - t, 2)
    dataset = Dataset(data)
    clever_id = data["districts"][0]["id"]
    token = data["tokens"][clever_id]
    with SimulatorServer(dataset) as sim:
        env = {"CLEVER_API_URL": sim.url}
        setup_district(bench, slug="bench", name="Bench Unified", dataset=data, url=sim.url)
        floor = bench.floor(base_url=sim.url, token=token)
        results["floors"]["students"] = floor
        log(f"floor {floor}")
        results["scenarios"] += student_scenarios(
            bench, env, dataset, data, students=n, floor=floor, seed=args.seed
        )
        if args.staff:
            dataset.warm()  # the floor must not pay for the simulator's first serialisation
            results["floors"]["staff"] = {"samples": []}
            results["scenarios"] += staff_scenarios(
                bench,
                env,
                staff=args.staff,
                floor=functools.partial(
                    _staff_floor_sample,
                    results["floors"]["staff"],
                    db_url=bench.db_url,
                    base_url=sim.url,
                    token=token,
                ),
            )
        results["portal_pages"] = portal_pages(bench, "bench")

    results["memory_and_queries"] = scaling(bench, args)
    if args.concurrency_districts:
        results["concurrency"] = concurrency(bench, args)
    bench.drop_db()
    return results


def student_scenarios(
    bench: Bench,
    env: dict[str, str],
    dataset: Any,
    data: dict[str, Any],
    *,
    students: int,
    floor: dict[str, Any],
    seed: int,
) -> list[dict[str, Any]]:
    """The student imports, in order on one district: first, no-change, 1% changed and 0.5%
    removed, a test import, then 1,000 changes read from /events."""
    n = students
    rows = []
    first = bench.sync("bench", env=env)
    rows.append(
        with_writes_floor(
            scenario("first full student import", first, records=n, floor=floor, target_seconds=20),
            bench,
            "bench",
        )
    )
    log(f"first import {first['wall_seconds']} s")
    same = bench.sync("bench", env=env)
    rows.append(scenario("no-change resync", same, records=n, floor=floor, target_seconds=12))

    rng = random.Random(seed)
    ids = [u["id"] for u in data["users"] if "student" in (u.get("roles") or {})]
    changed = rng.sample(ids, k=max(1, n // 100))
    removed = rng.sample(sorted(set(ids) - set(changed)), k=max(1, n // 200))
    for uid in changed:
        dataset.update_user(uid, {"name": {"last": f"Changed{uid[-4:]}"}})
    for uid in removed:
        dataset.delete_user(uid)
    resync = bench.sync("bench", env=env)
    rows.append(
        scenario(
            "resync with 1% changed, 0.5% removed",
            resync,
            records=n,
            floor=floor,
            target_seconds=14,
        )
    )
    test = bench.sync("bench", mode="test", env=env)
    row = scenario("test import (plan only)", test, records=n, floor=floor, target_seconds=12)
    row["zero_live_writes"] = test["live_writes"] == 0
    rows.append(row)

    remaining = sorted(set(ids) - set(removed))
    for uid in rng.sample(remaining, k=min(1000, len(remaining))):
        dataset.update_user(uid, {"name": {"first": f"Evt{uid[-5:]}"}})
    try:
        events = bench.sync("bench", mode="events", env=env)
        rows.append(
            scenario("events: 1,000 changes via /events", events, records=1000, target_seconds=2)
        )
    except RuntimeError as exc:
        rows.append({"scenario": "events: 1,000 changes via /events", "error": str(exc)[-500:]})
    return rows


def _staff_floor_sample(out: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """One staff floor measurement (``floor_staff.staff_floor``), kept in ``out["samples"]``;
    ``out`` itself shows the median of the samples so far."""
    from .floor_staff import staff_floor

    sample = staff_floor(**kwargs)
    out["samples"].append(sample["wall_seconds"])
    out.update({k: v for k, v in sample.items() if k != "wall_seconds"})
    out["wall_seconds"] = statistics.median(out["samples"])
    log(f"staff floor {sample}")
    return sample


def staff_scenarios(
    bench: Bench, env: dict[str, str], *, staff: int, floor: Callable[[], dict[str, Any]]
) -> list[dict[str, Any]]:
    """The staff test import, the first real one (the guide's order: a staff real import needs a
    test import from the last 48 hours, ``StaffSpec.test_import_valid_hours``), then a no-change
    resync. Each is measured right after a staff floor (``floor_staff``: the same users and
    sections pages), its own: on a shared machine the load moves between scenarios."""
    rows = []
    try:
        prepare_staff(bench, "bench")
        before = floor()
        staff_test = bench.sync("bench", data_type="staff", mode="test", env=env)
        rows.append(
            scenario("staff test import (plan only)", staff_test, records=staff, floor=before)
        )
        before = floor()
        staff_first = bench.sync("bench", data_type="staff", env=env)
        rows.append(
            scenario(
                "first full staff import",
                staff_first,
                records=staff,
                floor=before,
                target_seconds=round(3 * before["wall_seconds"], 3),
            )
        )
        log(f"first staff import {staff_first['wall_seconds']} s")
        before = floor()
        staff_same = bench.sync("bench", data_type="staff", env=env)
        rows.append(scenario("no-change staff resync", staff_same, records=staff, floor=before))
        # The sync's own time inside the measured process: the wall time also holds the
        # process's start (Python, Django setup: about half a second), the floor none.
        for row, data in zip(rows, (staff_test, staff_first, staff_same), strict=True):
            row["in_process_seconds"] = data["inner_seconds"]
    except RuntimeError as exc:
        rows.append({"scenario": "first full staff import", "error": str(exc)[-500:]})
    return rows


def scaling(bench: Bench, args) -> list[dict[str, Any]]:
    """First-import time, peak RSS and query count at several sizes (each on its own district),
    each beside its own floor (``floors.floor`` on the same district, same run)."""
    from integrations.simulator import Dataset, SimulatorServer
    from integrations.simulator.generator import generate_district

    rows = []
    sizes = [*args.scaling_sizes, *([1_000_000] if args.million else [])]
    for size in sizes:
        started = time.perf_counter()
        data = generate_district(
            students=size,
            staff=0,
            schools=max(4, args.schools // 2),
            seed=args.seed + size,
            district_name=f"Scale {size}",
        )
        log(f"scaling {size}: generated in {time.perf_counter() - started:.0f} s")
        token = data["tokens"][data["districts"][0]["id"]]
        with SimulatorServer(Dataset(data)) as sim:
            slug = f"scale-{size}"
            setup_district(bench, slug=slug, name=f"Scale {size}", dataset=data, url=sim.url)
            floor = bench.floor(base_url=sim.url, token=token)
            res = bench.sync(slug, env={"CLEVER_API_URL": sim.url})
        del data
        seconds = floor["wall_seconds"]
        row = {
            "students": size,
            "wall_seconds": res["wall_seconds"],
            "floor_seconds": seconds,
            "ratio_to_floor": round(res["wall_seconds"] / seconds, 2) if seconds else None,
            "in_process_seconds": res.get("inner_seconds"),
            "in_process_ratio_to_floor": (
                round(res["inner_seconds"] / seconds, 2)
                if seconds and res.get("inner_seconds")
                else None
            ),
            "peak_rss_mb": res["peak_rss_mb"],
            "queries": res["queries"],
            "status": res["result"].get("status"),
        }
        rows.append(with_writes_floor(row, bench, slug))
        log(f"scaling {size}: {rows[-1]}")
    return rows


def concurrency(bench: Bench, args) -> dict[str, Any]:
    """N districts of M students: serial time, then two at a time (two worker processes)."""
    from integrations.simulator import Dataset, SimulatorServer
    from integrations.simulator.generator import generate_district

    n, size = args.concurrency_districts, args.concurrency_students
    merged: dict[str, Any] = {
        "districts": [],
        "schools": [],
        "users": [],
        "sections": [],
        "terms": [],
        "tokens": {},
    }
    parts = []
    for i in range(2 * n):
        d = generate_district(
            students=size,
            staff=0,
            schools=4,
            seed=args.seed * 1000 + i,
            district_name=f"Concurrent {i}",
        )
        for key in ("districts", "schools", "users", "sections", "terms"):
            merged[key].extend(d.get(key, []))
        merged["tokens"].update(d["tokens"])
        parts.append(d)
    with SimulatorServer(Dataset(merged)) as sim:
        env = {"CLEVER_API_URL": sim.url}
        for i, d in enumerate(parts):
            setup_district(bench, slug=f"conc-{i}", name=f"Concurrent {i}", dataset=d, url=sim.url)
        t = time.perf_counter()
        serial = [bench.sync(f"conc-{i}", env=env) for i in range(n)]
        serial_seconds = time.perf_counter() - t
        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:
            parallel = list(pool.map(lambda i: bench.sync(f"conc-{i}", env=env), range(n, 2 * n)))
        parallel_seconds = time.perf_counter() - t
    failed = [r["result"] for r in serial + parallel if r["result"].get("status") != "succeeded"]
    return {
        "districts": n,
        "students_each": size,
        "workers": 2,
        "serial_seconds": round(serial_seconds, 2),
        "two_workers_seconds": round(parallel_seconds, 2),
        "target_seconds": round(2 * serial_seconds / 2, 2),
        "meets_target": parallel_seconds <= serial_seconds and not failed,
        "failed_runs": failed[:5],
    }


def portal_pages(bench: Bench, slug: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "integrations.bench.pages", "--district", slug],
        cwd=ROOT,
        env=bench.env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return {"error": out.stderr[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--schools", type=int, default=40)
    parser.add_argument("--staff", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--scaling-sizes", type=int, nargs="*", default=[10_000, 100_000, 300_000])
    parser.add_argument(
        "--million",
        action="store_true",
        help="also a first import of 1,000,000 students beside its floor (slow: see README)",
    )
    parser.add_argument("--concurrency-districts", type=int, default=20)
    parser.add_argument("--concurrency-students", type=int, default=10_000)
    parser.add_argument(
        "--database-admin-url",
        default=os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--db-name", default="naviance_bench")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naviance_sync.settings")
    os.environ.setdefault("NAVIANCE_DEV", "1")
    started = time.perf_counter()
    results = run(args)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(results, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
