"""The portal under real load (``bin/load``, ``make load``): gunicorn as ``docker-compose.yml``
runs it, on PostgreSQL, with district admins driven by locust while a real import runs.

1. A scratch database (``--db-name``, dropped afterwards unless ``--keep-db``) and one district
   served by the Clever simulator over HTTP, filled by the real import path of the benchmark
   (``runner.Bench``): the first students import, a staff test import and import, a daily resync;
   then ``load_seed`` gives it its history (past runs, update log, alerts) and its admins.
2. gunicorn with docker-compose's command line (``gunicorn_conf.py``, 3 workers, timeout 60) on a
   free loopback port, with production settings: DEBUG off, a real SECRET_KEY, WhiteNoise's
   manifest storage after ``collectstatic``, persistent connections; plain HTTP (SECURE_SSL=false,
   as docker-compose sets). The cache is Redis when ``--redis-url`` / REDIS_URL is given.
3. The import alone: a full students import (1% of the students changed in Clever) through the
   benchmark's child process (``integrations.bench.child``).
4. locust, headless: ``--users`` admins, each signed in once, open the pages with 1-3 s between
   them; once all are signed in, the same import runs again (another 1%) and the load goes on
   for at least ``--seconds``.
5. The import alone again; the ratio compares the import under load with the mean of the two.

Prints ONE JSON object (progress on stderr): per page p50/p95/p99 ms, requests and errors, over
the steady load (after the last sign-in) and during the import, each beside its target (p95 ≤
300 ms, no errors); the import's seconds alone and under load beside its target (≤ 1.3x); the setup.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

from integrations.bench import runner
from integrations.bench.fleet import _signal_group, _term_with_parent

ROOT = runner.ROOT
TARGET_P95_MS = 300
TARGET_IMPORT_RATIO = 1.3
WORKERS = 3  # docker-compose.yml's web: --workers 3 --timeout 60
SLUG = "load"
PORTAL_APP, IMPORT_APP = "load-portal", "load-import"  # PostgreSQL application_name of each


def log(msg: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_group(proc: subprocess.Popen, *, wait: float) -> None:
    """SIGTERM to the process group of ``proc`` (started with its own session), SIGKILL after
    ``wait`` seconds."""
    if proc.poll() is not None:
        return
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait(5)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of ``values`` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 1)


def window_stats(rows: list[list[Any]], name: str, start: float, end: float) -> dict[str, Any]:
    """Requests, errors and p50/p95/p99 of page ``name`` over requests ending in [start, end]."""
    mine = [r for r in rows if r[1] == name and start <= r[0] <= end]
    times = [r[2] for r in mine]
    errors = [r[4] for r in mine if not r[3]]
    return {
        "requests": len(times),
        "errors": len(errors),
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "p99_ms": percentile(times, 99),
        "error_kinds": dict(Counter(errors).most_common(3)),
    }


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) the live processes ``pids`` have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of the machine since boot, every core (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


def process_tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(int(c) for c in children)]


def cpu_snapshot(load: Load, locust: subprocess.Popen) -> dict[str, Any]:
    busy, every = machine_cpu_seconds()
    portal = load.gunicorn.pid if load.gunicorn else 0
    return {
        "at": time.time(),
        "machine_busy": busy,
        "machine_all": every,
        "portal": cpu_seconds(process_tree(portal)),
        "locust": cpu_seconds([locust.pid]),
        # This process: the Clever simulator the import reads from is a thread of it.
        "driver": cpu_seconds([os.getpid()]),
    }


def cpu_report(first: dict[str, Any], last: dict[str, Any], sampled: dict[str, float]) -> dict:
    """Cores used on average between two snapshots: the whole machine, gunicorn, locust, this
    driver (with the Clever simulator the import reads from, a thread of it; in production Clever
    is elsewhere), and what ``CpuSampler`` saw (PostgreSQL for the pages, for the import; the
    import's process). What is left is everything else on the machine."""
    seconds = last["at"] - first["at"]
    if seconds <= 0:
        return {}
    share = (last["machine_busy"] - first["machine_busy"]) / (
        last["machine_all"] - first["machine_all"] or 1
    )
    used = {
        "gunicorn": (last["portal"] - first["portal"]) / seconds,
        "locust": (last["locust"] - first["locust"]) / seconds,
        "clever_simulator_and_driver": (last["driver"] - first["driver"]) / seconds,
        **{kind: cpu / seconds for kind, cpu in sampled.items()},
    }
    busy = share * (os.cpu_count() or 1)
    return {
        "seconds": round(seconds, 1),
        "machine_busy_cores": round(busy, 2),
        **{f"{kind}_cores": round(cores, 2) for kind, cores in used.items()},
        "everything_else_cores": round(busy - sum(used.values()), 2),
    }


class CpuSampler(threading.Thread):
    """Each second, the CPU seconds of the scratch database's PostgreSQL backends (by
    ``application_name``: the portal's, the import's) and of the import's process: connections
    come and go (CONN_MAX_AGE), so one look at the start and one at the end would miss them."""

    KINDS = {PORTAL_APP: "postgres_for_the_pages", IMPORT_APP: "postgres_for_the_import"}

    def __init__(self, load: Load, skip: set[int]) -> None:
        super().__init__(daemon=True)
        self.load, self.skip = load, skip
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.looks = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        conn = self.load.bench.psycopg2.connect(self.load.bench.admin_url)
        conn.autocommit = True
        try:
            while not self.stopping.is_set():
                self.sample(conn)
                self.stopping.wait(1)
            self.sample(conn)
        finally:
            conn.close()

    def sample(self, conn: Any) -> None:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s",
                [self.load.args.db_name],
            )
            procs = {int(pid): self.KINDS.get(name, "") for pid, name in cur.fetchall()}
        procs.update((pid, "import_process") for pid in process_tree(os.getpid())[1:])
        for pid, kind in procs.items():
            if not kind or pid in self.skip:
                continue
            # Never less than seen before: a process that just ended reads as 0.
            cpu = max(cpu_seconds([pid]), self.last.get(pid, ("", 0.0))[1])
            # A process there at the first look counts from then; a later one from its start.
            self.first.setdefault(pid, cpu if self.looks == 0 else 0.0)
            self.last[pid] = (kind, cpu)
        self.looks += 1

    def totals(self) -> dict[str, float]:
        self.stopping.set()
        self.join(10)
        out = dict.fromkeys([*self.KINDS.values(), "import_process"], 0.0)
        for pid, (kind, cpu) in self.last.items():
            out[kind] += cpu - self.first[pid]
        return out


class Load:
    """The scratch database, the simulator's district, gunicorn and locust, and their cleanup."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.bench = runner.Bench(
            admin_url=args.database_admin_url, db_name=args.db_name, keep_db=args.keep_db
        )
        self.tmp = Path(tempfile.mkdtemp(prefix="naviance-load-"))
        # One key for every process: the Clever token clever_setup encrypts is read by the sync.
        self.bench.env["SECRET_KEY"] = secrets.token_urlsafe(50)
        self.bench.env["CELERY_BROKER_URL"] = "filesystem://localhost/"  # mail stays in var/
        self.bench.env["DB_APPLICATION_NAME"] = IMPORT_APP  # its PostgreSQL backend, by name
        if args.redis_url:
            self.bench.env["REDIS_URL"] = args.redis_url
        self.password = secrets.token_urlsafe(16)
        self.gunicorn: subprocess.Popen | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    # --- the portal -----------------------------------------------------------------------------
    def portal_env(self) -> dict[str, str]:
        """docker-compose's web environment: production settings, plain HTTP on loopback."""
        env = dict(self.bench.env)
        for key in ("NAVIANCE_DEV", "CONN_MAX_AGE", "STATICFILES_BACKEND", "DEBUG"):
            env.pop(key, None)
        env["DB_APPLICATION_NAME"] = PORTAL_APP
        env.update(ALLOWED_HOSTS="localhost,127.0.0.1", SECURE_SSL="false", LOG_LEVEL="WARNING")
        return env

    def start_portal(self) -> None:
        # Not Bench.manage: its environment would bring the benchmark's plain storage back.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=self.portal_env(),
            check=True,
            capture_output=True,
        )
        command = [
            sys.executable, "-m", "gunicorn", "naviance_sync.wsgi",
            "-c", "naviance_sync/gunicorn_conf.py",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(WORKERS), "--timeout", "60",
            "--access-logfile", str(self.tmp / "access.log"),
        ]  # fmt: skip
        self.gunicorn = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.portal_env(),
            stdout=(self.tmp / "gunicorn.log").open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_term_with_parent,  # noqa: PLW1509 - no threads hold locks yet
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/accounts/login/", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"gunicorn did not answer: {(self.tmp / 'gunicorn.log').read_text()}")

    def stop(self) -> None:
        if self.gunicorn is not None:
            stop_group(self.gunicorn, wait=20)
        self.bench.drop_db()
        if self.args.keep_db:
            log(f"kept: database {self.args.db_name}; gunicorn and locust logs in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.bench.var_dir, ignore_errors=True)


def seed(load: Load, sim_url: str, data: dict[str, Any]) -> None:
    """The district through the real import path, then its history and admins (``load_seed``)."""
    args, bench = load.args, load.bench
    env = {"CLEVER_API_URL": sim_url}
    runner.setup_district(bench, slug=SLUG, name="Load Unified", dataset=data, url=sim_url)
    first = bench.sync(SLUG, env=env)
    log(f"first students import {first['wall_seconds']} s: {first['result'].get('status')}")
    if args.staff:
        runner.prepare_staff(bench, SLUG)
        bench.sync(SLUG, data_type="staff", mode="test", env=env)
        staff = bench.sync(SLUG, data_type="staff", env=env)
        log(f"staff import {staff['wall_seconds']} s: {staff['result'].get('status')}")


def change_students(dataset: Any, ids: list[str], count: int, tag: str) -> None:
    """What a night in the SIS does: ``count`` students get a new last name in Clever (taken
    off the front of ``ids``, so each import changes other students)."""
    for uid in ids[:count]:
        dataset.update_user(uid, {"name": {"last": f"{tag}{uid[-4:]}"}})
    del ids[:count]


def import_once(load: Load, sim_url: str, label: str) -> dict[str, Any]:
    result = load.bench.sync(SLUG, env={"CLEVER_API_URL": sim_url})
    log(f"import {label}: {result['wall_seconds']} s, {result['result'].get('status')}")
    return result


def seed_history(load: Load) -> dict[str, Any]:
    args = load.args
    command = [
        sys.executable, "-m", "integrations.bench.load_seed", "--district", SLUG,
        "--runs", str(args.runs), "--rows", str(args.rows or args.students),
        "--admins", str(args.users), "--password", load.password, "--seed", str(args.seed),
    ]  # fmt: skip
    out = subprocess.run(command, cwd=ROOT, env=load.bench.env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"load_seed failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def read_log(path: Path) -> list[list[Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def drive(load: Load, seeded: dict[str, Any], run_import: Any) -> dict[str, Any]:
    """locust's admins on the portal; once all are signed in, ``run_import()`` runs, and the load
    goes on until ``--seconds`` of steady load have passed. Returns the request log and times."""
    args = load.args
    log_path = load.tmp / "requests.jsonl"
    config = {
        "usernames": seeded["usernames"],
        "password": load.password,
        "pages": seeded["pages"],
        "think": [args.think_min, args.think_max],
        "log": str(log_path),
    }
    (load.tmp / "locust.json").write_text(json.dumps(config))
    # locust stops by itself after this bound even if this driver is gone.
    bound = int(args.seconds + args.users / args.spawn_rate + 900)
    command = [
        sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")),
        "--headless", "-u", str(args.users), "-r", str(args.spawn_rate),
        "--run-time", f"{bound}s", "--stop-timeout", "5", "--host", load.url,
        "--only-summary", "--exit-code-on-error", "0", "--loglevel", "WARNING",
    ]  # fmt: skip
    load_before = os.getloadavg()
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "LOAD_CONFIG": str(load.tmp / "locust.json")},
        stdout=(load.tmp / "locust.log").open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_term_with_parent,  # noqa: PLW1509 - no threads hold locks yet
    )
    try:
        steady = wait_signed_in(
            proc, log_path, args.users, timeout=args.users / args.spawn_rate + 120
        )
        log(f"{args.users} admins signed in; the import starts in {args.settle} s")
        cpu_first = cpu_snapshot(load, proc)
        sampler = CpuSampler(load, skip={proc.pid, load.gunicorn.pid if load.gunicorn else 0})
        sampler.start()
        time.sleep(args.settle)
        import_start = time.time()
        result = run_import()
        import_end = time.time()
        while time.time() < steady + args.seconds and proc.poll() is None:
            time.sleep(0.5)
        load_during = os.getloadavg()
        cpu = cpu_report(cpu_first, cpu_snapshot(load, proc), sampler.totals())
    finally:
        end = time.time()
        stop_group(proc, wait=30)  # locust writes its summary to locust.log on SIGTERM
    return {
        "rows": read_log(log_path),
        "steady": steady,
        "end": end,
        "import": (import_start, import_end, result),
        "load_average": {"before": load_before, "at_end": load_during},
        "cpu": cpu,
    }


def wait_signed_in(proc: subprocess.Popen, log_path: Path, users: int, *, timeout: float) -> float:
    """When the last of ``users`` sign-ins ended (each admin signs in once, at its start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        signed = [r for r in read_log(log_path) if r[1] == "sign in"]
        if len(signed) >= users:
            return max(r[0] for r in signed)
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    text = (log_path.parent / "locust.log").read_text()[-3000:]
    raise RuntimeError(f"the admins did not all sign in ({len(signed)} of {users}):\n{text}")


def page_report(drove: dict[str, Any], pages: dict[str, list[str]]) -> dict[str, Any]:
    """Per page: the steady load's figures and the import's, beside the target."""
    rows, steady, end = drove["rows"], drove["steady"], drove["end"]
    start, stop, _ = drove["import"]
    out: dict[str, Any] = {}
    for name, urls in pages.items():
        if not urls:
            continue
        during = window_stats(rows, name, start, stop)
        every = window_stats(rows, name, 0, math.inf)  # every error counts, the ramp's too
        whole = window_stats(rows, name, steady, end)
        whole.update(errors=every["errors"], error_kinds=every["error_kinds"])
        p95s = [p for p in (whole["p95_ms"], during["p95_ms"]) if p is not None]
        out[name] = {
            "example_url": urls[0],
            **whole,
            "target_p95_ms": TARGET_P95_MS,
            "target_errors": 0,
            "met": bool(whole["requests"])
            and whole["errors"] == during["errors"] == 0
            and max(p95s) <= TARGET_P95_MS,
            "during_import": during,
        }
    return out


def import_report(alone: list[dict[str, Any]], under: dict[str, Any], records: int) -> dict:
    seconds = [a["wall_seconds"] for a in alone]
    mean = sum(seconds) / len(seconds)
    ratio = round(under["wall_seconds"] / mean, 2) if mean else None
    statuses = [r["result"].get("status") for r in (*alone, under)]
    return {
        "what": "full students import through integrations.bench.child (clever_sync), "
        "1% of the students changed in Clever before each",
        "records": records,
        "alone_seconds": seconds,
        "alone_mean_seconds": round(mean, 3),
        "under_load_seconds": under["wall_seconds"],
        "ratio": ratio,
        "target_ratio": TARGET_IMPORT_RATIO,
        "statuses": statuses,
        "met": ratio is not None
        and ratio <= TARGET_IMPORT_RATIO
        and all(s == "succeeded" for s in statuses),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import random

    from integrations.simulator import Dataset, SimulatorServer
    from integrations.simulator.generator import generate_district

    load = Load(args)
    started, load_at_start = time.perf_counter(), os.getloadavg()
    try:
        load.bench.recreate_db()
        log(f"generating {args.students} students, {args.staff} staff, {args.schools} schools")
        data = generate_district(
            students=args.students, staff=args.staff, schools=args.schools, seed=args.seed,
            district_name="Load Unified",
        )  # fmt: skip
        dataset = Dataset(data)
        ids = [u["id"] for u in data["users"] if "student" in (u.get("roles") or {})]
        random.Random(args.seed).shuffle(ids)
        per_import = max(1, args.students // 100)
        with SimulatorServer(dataset) as sim:
            seed(load, sim.url, data)
            change_students(dataset, ids, per_import, "Seed")
            import_once(load, sim.url, "daily resync (the past runs' model)")
            log(f"history: {args.runs} runs, {args.rows or args.students} update log rows/alerts")
            seeded = seed_history(load)
            load.start_portal()
            log(f"gunicorn on {load.url}, {WORKERS} workers; seeded {seeded['rows']}")
            change_students(dataset, ids, per_import, "Alone")
            alone = [import_once(load, sim.url, "alone, before the load")]

            def under_load() -> dict[str, Any]:
                change_students(dataset, ids, per_import, "Load")
                return import_once(load, sim.url, "under load")

            drove = drive(load, seeded, under_load)
            change_students(dataset, ids, per_import, "After")
            alone.append(import_once(load, sim.url, "alone, after the load"))
        return {
            "pages": page_report(drove, seeded["pages"]),
            "import": import_report(alone, drove["import"][2], records=seeded["rows"]["students"]),
            "setup": setup_report(load, seeded, drove, load_at_start),
            "total_seconds": round(time.perf_counter() - started, 1),
        }
    finally:
        load.stop()


def setup_report(
    load: Load, seeded: dict[str, Any], drove: dict[str, Any], load_at_start: tuple
) -> dict[str, Any]:
    args, rows = load.args, drove["rows"]
    steady = drove["end"] - drove["steady"]
    in_steady = [r for r in rows if drove["steady"] <= r[0] <= drove["end"] and r[1] != "reconnect"]
    sign_in = window_stats(rows, "sign in", 0, math.inf)
    return {
        "database": {"engine": "postgresql", "version": server_version(load), "name": args.db_name},
        "portal": {
            "command": "gunicorn naviance_sync.wsgi -c naviance_sync/gunicorn_conf.py "
            f"--bind 127.0.0.1:{load.port} --workers {WORKERS} --timeout 60",
            "workers": WORKERS,
            "settings": "DEBUG off, own SECRET_KEY (no NAVIANCE_DEV), SECURE_SSL=false (plain "
            "HTTP on loopback, as docker-compose), WhiteNoise manifest static files",
            "cache": "redis" if args.redis_url else "local memory (no --redis-url / REDIS_URL)",
        },
        "load": {
            "generator": f"locust {_locust_version()}, headless",
            "users": args.users,
            "spawn_rate": args.spawn_rate,
            "think_seconds": [args.think_min, args.think_max],
            "steady_seconds": round(steady, 1),
            "requests_per_second": round(len(in_steady) / steady, 1) if steady > 0 else None,
            "sign_in": {**sign_in, "note": "one per admin, while the others spawn; not a page"},
            # GETs sent again on a new connection after gunicorn closed an idle one (locustfile).
            "reconnects": Counter(r[4].split("(")[0] for r in rows if r[1] == "reconnect"),
        },
        "district": seeded["rows"],
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_during_steady_load": drove["cpu"],
            "load_average_1_5_15": {
                "at_start": [round(x, 2) for x in load_at_start],
                "before_the_load": [round(x, 2) for x in drove["load_average"]["before"]],
                "end_of_the_load": [round(x, 2) for x in drove["load_average"]["at_end"]],
            },
        },
    }


def server_version(load: Load) -> str:
    conn = load.bench.psycopg2.connect(load.bench.admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            return str(cur.fetchone()[0])
    finally:
        conn.close()


def _locust_version() -> str:
    from importlib.metadata import version

    return version("locust")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--staff", type=int, default=10_000)
    parser.add_argument("--schools", type=int, default=40)
    parser.add_argument("--runs", type=int, default=50, help="past runs the district has")
    parser.add_argument("--rows", type=int, default=0, help="update log rows and alerts "
                        "(default: as many as students, the benchmark's page size)")  # fmt: skip
    parser.add_argument("--users", type=int, default=50, help="concurrent district admins")
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=60, help="steady load, at least")
    parser.add_argument("--settle", type=float, default=3, help="seconds before the import")
    parser.add_argument("--think-min", type=float, default=1)
    parser.add_argument("--think-max", type=float, default=3)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--database-admin-url",
        default=os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--db-name", default="load_bench")
    parser.add_argument("--keep-db", action="store_true", help="keep the database and the logs")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    results = run(args)
    results["ok"] = all(p["met"] for p in results["pages"].values()) and results["import"]["met"]
    text = json.dumps(results, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
