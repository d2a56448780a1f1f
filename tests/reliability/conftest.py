"""Fixtures of the reliability battery (RELIABILITY 6): a district connected to the simulator, a
foreground run, the fault battery's pieces. Its Hypothesis profiles and PostgreSQL skip are in
``tests.support.reliability``.
"""

from __future__ import annotations

import os

import pytest

from tests.support.clever import fast_client
from tests.support.districts import connect_district
from tests.support.reliability import on_postgresql
from tests.support.tasks import record_sent_tasks


@pytest.fixture
def connected(district, clever_simulator):
    connect_district(district, clever_simulator)
    return district


@pytest.fixture
def sent(monkeypatch):
    """Tasks started on commit are recorded, not sent; the summary email is sent in-process."""
    return record_sent_tasks(monkeypatch)


@pytest.fixture
def run_sync(district, sent):
    """Start and run one sync in the foreground (the CLI's path: the same service as the task)."""
    from integrations.engine.service import run_execute
    from integrations.runs import run_start

    def do(mode: str = "import", *, target=None, user=None, data_type="students", **kwargs):
        run = run_start(
            district=target or district, data_type=data_type, mode=mode, user=user, enqueue=False
        )
        kwargs.setdefault("client_factory", fast_client())
        return run_execute(run_id=run.pk, allow_retry=False, **kwargs).run

    return do


# --- the fault battery (test_kill*, test_redis*, test_postgres*, test_faults*) ------------------


def pytest_sessionfinish(session, exitstatus):
    """bin/chaos collects the battery's figures from here (CHAOS_REPORT=<file>)."""
    from tests.reliability import chaos

    chaos.write_report()


@pytest.fixture
def chaos_env(settings, tmp_path):
    """What every fault test needs: PostgreSQL (workers are separate processes on the same test
    database), the battery's reaper SLA in this process (which plays the beat), a control
    directory for the workers' fault points, and a helper that connects fresh districts."""
    if not on_postgresql():
        pytest.skip("the fault battery needs PostgreSQL: set DATABASE_URL")
    from tests.reliability import chaos

    settings.RUN_HEARTBEAT_STALE_SECONDS = chaos.STALE_SECONDS
    settings.RUN_LOST_GRACE_SECONDS = chaos.LOST_GRACE_SECONDS
    settings.RUN_QUEUED_RESEND_SECONDS = chaos.QUEUED_RESEND_SECONDS
    settings.CLEVER_EVENTS_MINUTES = 0  # the tick here reaps and starts; no events runs
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    control = tmp_path / "control"
    control.mkdir()
    return chaos.Control(control)


def _point_app_at(url: str):
    """Make this process publish to ``url`` (the app may have been pointed elsewhere)."""
    from naviance_sync.celery import app, redis_transport_options

    # Celery reads CELERY_BROKER_URL from the environment before its configuration (bin/test
    # and bin/chaos export it), so both are pointed, and both restored afterwards.
    saved = (
        app.conf.broker_url,
        app.conf.broker_transport_options,
        app.conf.broker_transport,
        os.environ.get("CELERY_BROKER_URL"),
    )
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url
    app.conf.broker_transport = None  # the URL's scheme, not the embedded broker's class
    app.conf.broker_transport_options = redis_transport_options({"visibility_timeout": 7200}, url)
    _forget_connections(app)
    where = url.split("://", 1)[-1].rsplit("@", 1)[-1]  # host:port/db
    with app.connection_for_write() as conn:
        actual = conn.as_uri()
    if where not in actual:
        _restore_app(saved)
        raise RuntimeError(f"this process would publish to {actual}, not {url}")
    return saved


def _forget_connections(app) -> None:
    from kombu import pools

    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    pools.reset()  # kombu's process-wide producer pools, keyed by broker URL


def _restore_app(saved) -> None:
    from naviance_sync.celery import app

    app.conf.broker_url, app.conf.broker_transport_options, app.conf.broker_transport, env = saved
    if env is None:
        os.environ.pop("CELERY_BROKER_URL", None)
    else:
        os.environ["CELERY_BROKER_URL"] = env
    _forget_connections(app)


@pytest.fixture
def shared_broker():
    """The broker of the fault tests: a private redis-server when one is installed (several
    sessions run this battery at once on a shared machine; one Redis DB shared between them
    lets one session's workers take the other's messages), else DB ``CHAOS_REDIS_DB`` (7) of
    the shared server, emptied first; a skip with the reason when neither exists."""
    import shutil

    import redis

    from tests.reliability import chaos

    own = None
    url = ""
    if shutil.which("redis-server"):
        own = chaos.OwnRedis().start()
        url = own.url
    else:
        url = chaos.broker_db_url(int(os.environ.get("CHAOS_REDIS_DB", "7")))
        try:
            if url:
                redis.Redis.from_url(url, socket_timeout=2).flushdb()
        except redis.RedisError:
            url = ""
        if not url:
            pytest.skip("needs Redis: install redis-server or set REDIS_URL")
    try:
        saved = _point_app_at(url)
    except Exception:
        if own is not None:
            own.stop()
        raise
    yield url
    _restore_app(saved)
    if own is not None:
        own.stop()


@pytest.fixture
def own_redis():
    """A private redis-server for tests that stop and restart Redis (never the shared one)."""
    import shutil

    from tests.reliability import chaos

    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        pytest.skip("redis-server / redis-cli are not installed: Redis restart tests skipped")
    server = chaos.OwnRedis().start()
    try:
        saved = _point_app_at(server.url)
    except Exception:
        server.stop()
        raise
    yield server
    _restore_app(saved)
    server.stop()


@pytest.fixture
def workers(chaos_env, request):
    """Start chaos workers on a broker: ``workers(broker_url, n=1)`` -> list of ChaosWorker;
    all are stopped (and their pool children killed) at the end of the test."""
    from tests.reliability import chaos

    started: list = []

    def start(broker_url: str, n: int = 1, page_size: int = 1000):
        out = []
        for _ in range(n):
            worker = chaos.ChaosWorker(
                name=f"w{len(started) + 1}",
                broker_url=broker_url,
                control=chaos_env.path,
                page_size=page_size,
            )
            started.append(worker)
            out.append(worker.start())
        return out

    yield start
    for worker in started:
        worker.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for worker in started:
            print(f"--- {worker.name} log ---\n{worker.tail(80)}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture(scope="session")
def chaos_dataset():
    """The battery's Clever district (fixed seed): 20,000 students under CHAOS_FULL=1, else a
    CI size (CHAOS_STUDENTS overrides)."""
    from integrations.simulator.generator import generate_district
    from tests.reliability import chaos

    students = int(os.environ.get("CHAOS_STUDENTS") or (20000 if chaos.FULL else 3000))
    return generate_district(students=students, staff=20, schools=4, seed=61)


@pytest.fixture
def chaos_sim(chaos_dataset):
    import copy

    from integrations.simulator.dataset import Dataset
    from integrations.simulator.faults import Faults
    from integrations.simulator.server import SimulatorServer

    server = SimulatorServer(Dataset(copy.deepcopy(chaos_dataset)), Faults())
    with server:
        yield server


@pytest.fixture
def new_district(db):
    """A fresh district connected to a simulator with every suggestion accepted."""
    from tests.factories import DistrictFactory

    counter = iter(range(1, 10_000))

    def make(sim, name: str = "chaos"):
        n = next(counter)
        district = DistrictFactory(name=f"{name} {n}", slug=f"{name}-{n}")
        # Several districts read one simulator district: by token, without claiming its id.
        connect_district(district, sim, record_clever_district_id=False)
        return district

    return make
