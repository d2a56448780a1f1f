"""Harness of the fault battery (RELIABILITY 6, R1-R6, D6): real Celery worker subprocesses on a
real broker, the test database, the simulator, and an own ``redis-server`` when a test needs to
stop or restart Redis.

The test process plays the beat (``schedule_tick()`` once a second) and the admin (``run_start``);
the workers are ``celery -A tests.reliability.chaos_worker worker`` subprocesses (prefork, one
pool child) connected to the same PostgreSQL test database, so a SIGKILL hits exactly what it
hits in production. ``CHAOS_FULL=1`` switches the loops to the battery's full sizes (bin/chaos).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Count

from integrations.models import ImportRun, UpdateLog

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("CHAOS_FULL") == "1"
# Reaper SLA used by the battery: the product default (120 s) scaled down so 20 kills fit in
# minutes; what is measured is that the reaper meets *its* SLA, whatever the number.
STALE_SECONDS = 20
LOST_GRACE_SECONDS = 3
TICK_SECONDS = 1.0
QUEUED_RESEND_SECONDS = 8  # product default 300: a queued run whose message was lost
REAPER_SLA = STALE_SECONDS + 2 * TICK_SECONDS + 5

FIGURES: dict[str, object] = {}


def record(key: str, value: object) -> None:
    """A figure for bin/chaos's JSON summary (written at session end when CHAOS_REPORT is set)."""
    FIGURES[key] = value


def add(key: str, value: float) -> None:
    FIGURES[key] = FIGURES.get(key, 0) + value  # type: ignore[operator]


def maximum(key: str, value: float) -> None:
    FIGURES[key] = max(float(FIGURES.get(key, 0.0)), value)  # type: ignore[arg-type]


def write_report() -> None:
    path = os.environ.get("CHAOS_REPORT")
    if path and FIGURES:
        Path(path).write_text(json.dumps(FIGURES, indent=2, sort_keys=True))


def _die_with_parent() -> None:
    """preexec_fn: the kernel SIGKILLs this child when the test process dies (a pytest killed by
    a timeout must not leave workers or redis-servers behind). Linux only; a no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


# --- Redis -------------------------------------------------------------------------------------


class OwnRedis:
    """A private ``redis-server`` (never the shared one): stop, continue, shut down, restart."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="chaos-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads hold locks here
        )
        if not wait_for(self.ping, 10):
            raise RuntimeError("own redis-server did not start")
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.settimeout(0.5)
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def shutdown(self) -> None:
        """``SHUTDOWN NOSAVE``: the data set (queued messages included) is gone."""
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.resume()
            self.proc.kill()
            self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- workers -------------------------------------------------------------------------------------


class ChaosWorker:
    """One ``celery worker`` subprocess (prefork, one pool child) on the test database."""

    def __init__(self, *, name: str, broker_url: str, control: Path, page_size: int = 1000):
        self.name = name
        self.broker_url = broker_url
        self.control = control
        self.page_size = page_size
        self.log = control / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        db = connection.settings_dict
        url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        if db.get("PASSWORD"):
            url = url.replace("@", f":{db['PASSWORD']}@", 1)
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="naviance_sync.settings_test",
            DATABASE_URL=url,
            CELERY_BROKER_URL=self.broker_url,
            REDIS_URL=self.broker_url,
            DB_APPLICATION_NAME=f"chaos-worker-{self.name}",
            CHAOS_CONTROL_DIR=str(self.control),
            CHAOS_PAGE_SIZE=str(self.page_size),
            PYTHONPATH=str(ROOT),
        )
        return env

    def start(self, timeout: float = 60) -> ChaosWorker:
        self.log.write_text("")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.reliability.chaos_worker",
                "worker",
                "-P",
                "prefork",
                "-c",
                "1",
                "-Q",
                "imports,mail",
                "-n",
                f"{self.name}@chaos",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        if not wait_for(lambda: " ready." in self.log.read_text() or self.proc.poll(), timeout):
            raise RuntimeError(f"worker {self.name} did not start:\n{self.tail()}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker {self.name} exited:\n{self.tail()}")
        return self

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def child(self, timeout: float = 30) -> int:
        wait_for(self.children, timeout, 0.05)
        kids = self.children()
        if not kids:
            raise RuntimeError(f"worker {self.name} has no pool child:\n{self.tail()}")
        return kids[0]

    def kill_child(self) -> int:
        pid = self.child()
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_all(self) -> None:
        """SIGKILL the main process first (the celery#3541 case), then its pool child: a lost
        container or machine."""
        kids = self.children()
        os.kill(self.proc.pid, signal.SIGKILL)
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        kids = self.children()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        for pid in [self.proc.pid, *kids]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


class Control:
    """The control directory the workers' fault points read."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def arm(self, point: str, action: str = "kill") -> None:
        for name in ("fired", "point.fired", "release"):
            (self.path / name).unlink(missing_ok=True)
        tmp = self.path / "point.tmp"
        tmp.write_text(f"{point} {action}")
        tmp.rename(self.path / "point")

    def disarm(self) -> None:
        (self.path / "point").unlink(missing_ok=True)

    def fired(self) -> str | None:
        try:
            return (self.path / "fired").read_text()
        except OSError:
            return None

    def release(self) -> None:
        (self.path / "release").write_text("go")


# --- what every fault test checks ------------------------------------------------------------------


def beat_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Tick like the beat (reaper included) until ``predicate`` holds."""
    from integrations.runs import schedule_tick

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        schedule_tick()
        if predicate():
            return True
        time.sleep(TICK_SECONDS)
    return predicate()


def status(run_id: int) -> str:
    return ImportRun.objects.values_list("status", flat=True).get(pk=run_id)


def terminal(run_id: int) -> bool:
    return status(run_id) not in ImportRun.ACTIVE_STATUSES


def duplicate_update_logs(district_id: int) -> int:
    """UpdateLog rows that repeat a change: per (run, record, field) and, for creations, per
    record across runs (a student is created once)."""
    per_run = (
        UpdateLog.objects.filter(district_id=district_id)
        .values("run_id", "record_id", "field")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    created = (
        UpdateLog.objects.filter(district_id=district_id, field="record", new_value="Created")
        .values("clever_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    return per_run + created


def runs_left_running() -> int:
    return ImportRun.objects.filter(status__in=ImportRun.ACTIVE_STATUSES).count()


def broker_db_url(number: int = 7) -> str:
    base = os.environ.get("REDIS_URL") or settings.CELERY_BROKER_URL
    if not base.startswith("redis"):
        return ""
    head = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{head}/{number}"
