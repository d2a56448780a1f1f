"""The fleet simulation (``bin/fleet``, ``make fleet``): N districts on the Clever simulator, the
real beat tick and real Celery worker processes, for a simulated period on a sped-up clock.

Nothing in the product reads a fake clock: the beat tick (``integrations.runs.schedule_tick``,
every second here) starts whatever is due by the real clock and advances ``next_run_at`` as it
always does. This driver then rewrites each advanced ``next_run_at`` to the real instant that
matches it on the simulated clock (``sim = start + speed * elapsed``), computed with the product's
own ``integrations.scheduling.next_run_at`` in simulated time (local times, time zones): a day of
schedules plays out in a minute while runs, leases and heartbeats keep real durations.

Prints one JSON object (progress goes to stderr). Every process it starts (workers, beat) is
stopped on exit, Ctrl-C or error, and its database and broker keys are deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Real districts (students): most are small, a few very large (scaled by --scale).
SIZE_BUCKETS = (
    (0.45, 200, 1_000),
    (0.30, 1_000, 5_000),
    (0.15, 5_000, 15_000),
    (0.07, 15_000, 50_000),
    (0.03, 50_000, 200_000),
)
FREQUENCY_MIX = (("6h", 0.15), ("12h", 0.15), ("daily", 0.6), ("weekly", 0.1))
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
REAL_LARGE_RECORDS = 50_000


def log(msg: str) -> None:
    print(f"[fleet {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def district_sizes(n: int, rng: random.Random) -> list[int]:
    """Real student counts: the bucket shares of ``SIZE_BUCKETS``, at least one district over
    50,000 once there are five or more."""
    sizes: list[int] = []
    for share, low, high in SIZE_BUCKETS:
        count = round(share * n)
        if low >= REAL_LARGE_RECORDS and n >= 5:
            count = max(1, count)
        sizes += [int(rng.uniform(low, high)) for _ in range(count)]
    while len(sizes) < n:
        sizes.append(int(rng.uniform(200, 1_000)))
    rng.shuffle(sizes)
    return sizes[:n]


class Processes:
    """The workers and beat: one process group each, stopped (TERM, then KILL) by ``stop``."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str], logfile: Path) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "integrations.bench.fleet_worker", *args],
            cwd=ROOT,
            env=env,
            stdout=logfile.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_term_with_parent,  # noqa: PLW1509 - no threads hold locks yet
        )
        self.procs.append((name, proc))

    def pids(self) -> list[int]:
        """Every live process of the workers: main processes and their pool children."""
        out: list[int] = []
        for name, proc in self.procs:
            if name == "beat" or proc.poll() is not None:
                continue
            out.append(proc.pid)
            try:
                children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text()
            except OSError:
                continue
            out += [int(pid) for pid in children.split()]
        return out

    def stop(self, timeout: float = 15.0) -> None:
        for _, proc in self.procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _, proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)
            proc.wait(5)
        self.procs = []


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _term_with_parent() -> None:
    """preexec_fn: the kernel sends SIGTERM to this process when the driver dies (even SIGKILL),
    so a worker stops its pool children on its way out. Linux only; a no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def memory_of(pids: list[int]) -> tuple[float, float]:
    """(sum of resident MB now, largest single peak MB) over ``pids``."""
    total, peak = 0.0, 0.0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return total, peak


class Backends:
    """The database (PostgreSQL when reachable, else SQLite) and broker (Redis when reachable,
    else the embedded filesystem transport) the simulation runs on, and their cleanup."""

    def __init__(self, args: argparse.Namespace, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.admin_url = args.database_admin_url or _postgres_admin_url()
        self.db_name = args.db_name
        self.prefix = f"fleet-{os.getpid()}-"
        self.redis_url = args.redis_url or os.environ.get("REDIS_URL") or ""
        if not self.redis_url and reachable("127.0.0.1", 6379):
            self.redis_url = "redis://127.0.0.1:6379/0"
        if args.broker == "embedded":
            self.redis_url = ""
        if args.database == "sqlite":
            self.admin_url = None
        self.database = "postgresql" if self.admin_url else "sqlite"
        self.broker = "redis" if self.redis_url else "filesystem (embedded)"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL")}
        env.update(NAVIANCE_DEV="1", NAVIANCE_VAR_DIR=str(self.var_dir), LOG_LEVEL="WARNING")
        env.update(DJANGO_SETTINGS_MODULE="naviance_sync.settings", EMAIL_URL="consolemail://")
        env.pop("DATABASE_URL", None)
        if self.admin_url:
            env["DATABASE_URL"] = f"{self.admin_url.rsplit('/', 1)[0]}/{self.db_name}"
        env["CELERY_BROKER_URL"] = self.redis_url or "filesystem://localhost/"
        env["FLEET_KEY_PREFIX"] = self.prefix
        return env

    def create(self) -> None:
        if self.admin_url:
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self._admin(f'CREATE DATABASE "{self.db_name}"')

    def drop(self) -> None:
        if self.admin_url:
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        if self.redis_url:
            import redis

            client = redis.Redis.from_url(self.redis_url, socket_timeout=3)
            keys = list(client.scan_iter(match=f"{self.prefix}*", count=500))
            if keys:
                client.delete(*keys)

    def _admin(self, sql: str) -> None:
        import psycopg2  # type: ignore[import-untyped]

        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()


def _postgres_admin_url() -> str | None:
    url = os.environ.get("FLEET_ADMIN_URL")
    if url:
        return url
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    if not reachable("127.0.0.1", 5432):
        return None
    import psycopg2

    for user in ("postgres", os.environ.get("USER") or "root"):
        url = f"postgres://{user}@127.0.0.1:5432/postgres"
        try:
            psycopg2.connect(url, connect_timeout=2).close()
        except psycopg2.Error:
            continue
        return url
    return None


class Clock:
    """Simulated time: ``speed`` simulated seconds per real second from ``start``."""

    def __init__(self, *, speed: float, start: float) -> None:
        self.speed = speed
        self.real_start = start
        self.sim_start = datetime.fromtimestamp(start, UTC)

    def sim(self, real: float) -> datetime:
        return self.sim_start + timedelta(seconds=(real - self.real_start) * self.speed)

    def real(self, sim: datetime) -> float:
        return self.real_start + (sim - self.sim_start).total_seconds() / self.speed


def main(argv: list[str] | None = None) -> int:
    from integrations.bench.fleet_run import run

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--districts", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (W)")
    parser.add_argument("--minutes", type=float, default=1.0, help="real minutes simulated")
    parser.add_argument("--sim-hours", type=float, default=24.0, help="simulated period")
    parser.add_argument("--scale", type=float, default=0.05, help="district sizes times this")
    parser.add_argument("--change-rate", type=float, default=0.01, help="students changed a day")
    parser.add_argument("--drain-seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(v) for v in text.split(",")],
        help="real student counts, comma-separated, instead of the spread (--districts ignored)",
    )
    parser.add_argument(
        "--due-together",
        action="store_true",
        help="every district's first run due at the start, largest first (the fairness check)",
    )
    parser.add_argument("--out", help="also write the JSON here")
    parser.add_argument("--database", choices=("auto", "sqlite"), default="auto")
    parser.add_argument("--broker", choices=("auto", "embedded"), default="auto")
    parser.add_argument("--database-admin-url", default=None)
    parser.add_argument("--db-name", default=os.environ.get("FLEET_DB_NAME", "naviance_fleet"))
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args(argv)
    if args.sizes:
        args.districts = len(args.sizes)
    if args.districts < 1 or args.workers < 1 or args.minutes <= 0 or args.scale <= 0:
        parser.error("--districts, --workers, --minutes and --scale must be positive")

    var_dir = Path(tempfile.mkdtemp(prefix="naviance-fleet-"))
    backends = Backends(args, var_dir)
    processes = Processes()

    def stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        result = run(args, backends=backends, processes=processes, clock_cls=Clock)
    except KeyboardInterrupt:
        log("interrupted: stopping workers and beat")
        return 130
    finally:
        processes.stop()
        try:
            backends.drop()
        finally:
            shutil.rmtree(var_dir, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0 if result["ok"] else 1


def random_daily_at(rng: random.Random) -> clock_time | None:
    """Most districts keep the default (02:00 local); a third pick another night hour."""
    return None if rng.random() < 0.67 else clock_time(rng.choice((0, 1, 3, 4, 5, 22, 23)), 0)


if __name__ == "__main__":
    sys.exit(main())
