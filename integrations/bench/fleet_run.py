"""One fleet simulation, inside the driver (``integrations.bench.fleet``): Django set up on the
simulation's own database, the districts connected to the simulator with the real setup command,
then the real beat and workers run while the driver keeps the clock and watches."""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from integrations.bench import fleet_report as report
from integrations.bench.fleet import (
    FREQUENCY_MIX,
    REAL_LARGE_RECORDS,
    ZONES,
    district_sizes,
    log,
    memory_of,
    random_daily_at,
)

POLL_SECONDS = 0.25


# Three ticks of beat (one a second): see the drain in ``_simulate``.
QUIET_SECONDS = 3.0


def run(args: argparse.Namespace, *, backends, processes, clock_cls) -> dict[str, Any]:
    rng = random.Random(args.seed)
    env = backends.env()
    env["LARGE_IMPORT_RECORDS"] = str(max(1, round(REAL_LARGE_RECORDS * args.scale)))
    env["CLEVER_EVENTS_MINUTES"] = "0"  # full syncs only: events runs are not simulated
    env["TICK_SECONDS"] = "1"
    env["CONN_MAX_AGE"] = "60"
    os.environ.update(env)
    for key in ("REDIS_URL", "CACHE_URL", "DATABASE_URL"):
        if key not in env:
            os.environ.pop(key, None)
    backends.create()
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    log(f"database {backends.database} migrated in {time.perf_counter() - started:.1f} s")
    real_sizes = args.sizes or district_sizes(args.districts, rng)
    sizes = [max(5, round(s * args.scale)) for s in real_sizes]
    data = _datasets(sizes, seed=args.seed)
    from integrations.simulator import Dataset, SimulatorServer

    dataset = Dataset(data["merged"])
    with SimulatorServer(dataset) as sim:
        t = time.perf_counter()
        districts = _setup(data["parts"], sizes, url=sim.url, rng=rng)
        setup_seconds = time.perf_counter() - t
        log(f"{len(districts)} districts connected in {setup_seconds:.1f} s")
        probes = Path(env["NAVIANCE_VAR_DIR"]) / "probes"
        probes.mkdir()
        env["FLEET_PROBE_DIR"] = str(probes)
        worker = _start(processes, env, workers=args.workers, var_dir=Path(env["NAVIANCE_VAR_DIR"]))
        watch = _simulate(
            args, districts, dataset=dataset, processes=processes, clock_cls=clock_cls
        )
    result = _collect(args, districts, watch=watch, probes=probes, real_sizes=real_sizes)
    result["setup"] = {
        "database": backends.database,
        "broker": backends.broker,
        "worker": worker,
        "districts_connected_seconds": round(setup_seconds, 1),
        "students_total": sum(sizes),
        "large_import_records": int(env["LARGE_IMPORT_RECORDS"]),
    }
    return result


def _datasets(sizes: list[int], *, seed: int) -> dict[str, Any]:
    from integrations.simulator.generator import generate_district

    merged: dict[str, Any] = {k: [] for k in ("districts", "schools", "users", "sections", "terms")}
    merged["tokens"] = {}
    parts = []
    for i, size in enumerate(sizes):
        part = generate_district(
            students=size,
            staff=0,
            schools=min(40, max(1, size // 600)),
            seed=seed * 10_000 + i,
            district_name=f"Fleet District {i:04d}",
        )
        for key in ("districts", "schools", "users", "sections", "terms"):
            merged[key].extend(part.get(key, []))
        merged["tokens"].update(part["tokens"])
        parts.append(part)
    return {"merged": merged, "parts": parts}


def _setup(parts, sizes, *, url: str, rng: random.Random) -> list[dict[str, Any]]:
    """Connect each district with ``clever_setup`` (what support runs), record the size its Clever
    scan read (Match Fields does that before a first import), and give it a schedule."""
    from django.core.management import call_command

    from integrations import config
    from integrations.models import CleverScan
    from naviance_sync.models import District

    districts = []
    for i, (part, size) in enumerate(zip(parts, sizes, strict=True)):
        clever_id = part["districts"][0]["id"]
        slug = f"fleet-{i:04d}"
        call_command(
            "clever_setup",
            district=slug,
            name=f"Fleet District {i:04d}",
            clever_district=clever_id,
            token=part["tokens"][clever_id],
            api_url=url,
            accept_suggestions=True,
            create_missing_schools=True,
            stdout=io.StringIO(),
            verbosity=0,
        )
        district = District.objects.get(slug=slug)
        District.objects.filter(pk=district.pk).update(time_zone=rng.choice(ZONES))
        sample = config.available_clever_fields(district=district, data_type="students")
        CleverScan.objects.update_or_create(
            district=district,
            data_type="students",
            defaults={"state": CleverScan.State.DONE, "records": sample.records},
        )
        frequency = rng.choices([f for f, _ in FREQUENCY_MIX], [w for _, w in FREQUENCY_MIX])[0]
        districts.append(
            {
                "pk": district.pk,
                "slug": slug,
                "students": size,
                "frequency": frequency,
                "daily_at": random_daily_at(rng),
                "phase": rng.random(),
            }
        )
    return districts


def _start(processes, env: dict[str, str], *, workers: int, var_dir: Path) -> dict[str, Any]:
    """One ``celery worker`` with W pool processes, consuming as docker-compose's worker does
    (``integrations.queueing``: imports first, large imports when none waits), and beat."""
    queues = "imports,mail,imports_large"
    logfile = var_dir / "worker.log"
    processes.start(
        "worker",
        ["worker", "-P", "prefork", "-c", str(workers), "-Q", queues, "-n", "fleet@fleet"]
        + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        env,
        logfile,
    )
    deadline = time.monotonic() + 90
    while " ready." not in logfile.read_text():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start:\n{logfile.read_text()[-3000:]}")
        time.sleep(0.2)
    processes.start(
        "beat",
        ["beat", "-s", str(var_dir / "beat-schedule"), "-l", "warning"],
        env,
        var_dir / "beat.log",
    )
    return {"queues": queues, "processes": workers}


def _first_due(district: dict[str, Any], now: datetime, tz: str) -> datetime:
    """Schedules were saved at different times: interval schedules at a random phase, daily ones
    at their local time, weekly ones on a random day of the week."""
    from integrations.scheduling import INTERVALS, first_run_at

    frequency = district["frequency"]
    if frequency in INTERVALS:
        return now + INTERVALS[frequency] * district["phase"]
    first = first_run_at(frequency="daily", daily_at=district["daily_at"], tz=tz, now=now)
    assert first is not None  # noqa: S101 - daily always has a next run
    if frequency == "weekly":
        first += timedelta(days=int(district["phase"] * 7))
    return first


def _schedule(districts, clock, sim_end: datetime, *, together: bool) -> dict[str, Any]:
    """Give every district its schedule (Sync Settings), due on the simulated clock."""
    from integrations.models import SyncSettings
    from naviance_sync.models import District

    zones = dict(
        District.objects.filter(pk__in=[d["pk"] for d in districts]).values_list("pk", "time_zone")
    )
    state: dict[str, Any] = {"written": {}, "due": {d["pk"]: [] for d in districts}, "zones": zones}
    now = datetime.now(UTC)
    for d in districts:
        due = _first_due(d, clock.sim_start, zones[d["pk"]])
        if together:  # all due now, the largest a moment earlier (so queued first)
            due = clock.sim_start + timedelta(seconds=clock.speed * (1 - d["students"] / 1e9))
        when = _real_dt(clock, due) if due <= sim_end else now + timedelta(days=365)
        SyncSettings.objects.filter(district_id=d["pk"], data_type="students").update(
            frequency=d["frequency"],
            daily_at=d["daily_at"],
            enabled=True,
            paused_reason="",
            first_import_at=now,
            next_run_at=when,
        )
        if due <= sim_end:
            state["due"][d["pk"]].append(when.timestamp())
        state["written"][d["pk"]] = when
    return state


def _real_dt(clock, sim: datetime) -> datetime:
    return datetime.fromtimestamp(clock.real(sim), UTC)


def _advance(districts, clock, state, sim_end: datetime) -> None:
    """Map each ``next_run_at`` the tick advanced back onto the simulated clock."""
    from integrations.models import SyncSettings
    from integrations.scheduling import next_run_at

    by_pk = {d["pk"]: d for d in districts}
    rows = SyncSettings.objects.filter(district_id__in=list(by_pk), data_type="students")
    for district_id, current in rows.values_list("district_id", "next_run_at"):
        if current == state["written"][district_id]:
            continue
        d = by_pk[district_id]
        following = next_run_at(
            frequency=d["frequency"],
            daily_at=d["daily_at"],
            tz=state["zones"][district_id],
            now=clock.sim(time.time()),
        )
        state["written"][district_id] = current
        if following is None or following > sim_end:
            continue  # the tick's own value lies beyond the simulated period
        when = _real_dt(clock, following)
        moved = SyncSettings.objects.filter(
            district_id=district_id, data_type="students", next_run_at=current
        ).update(next_run_at=when)
        if moved:
            state["written"][district_id] = when
            state["due"][district_id].append(when.timestamp())


def _simulate(args, districts, *, dataset, processes, clock_cls) -> dict[str, Any]:
    from integrations.models import ImportRun, SyncSettings

    speed = args.sim_hours * 3600 / (args.minutes * 60)
    clock = clock_cls(speed=speed, start=time.time())
    sim_end = clock.sim_start + timedelta(hours=args.sim_hours)
    state = _schedule(districts, clock, sim_end, together=args.due_together)
    students = _student_ids(dataset)
    rng = random.Random(args.seed + 1)
    memory = {"total": 0.0, "process": 0.0}
    changes, pending, last = 0, 0.0, time.time()
    end = clock.real(sim_end)
    log(f"simulating {args.sim_hours:g} h in {args.minutes:g} min (x{speed:.0f})")
    while time.time() < end:
        _advance(districts, clock, state, sim_end)
        now = time.time()
        pending += len(students) * args.change_rate * (now - last) * speed / 86_400
        last = now
        while pending >= 1 and students:
            dataset.update_user(rng.choice(students), {"name": {"last": f"Changed{changes}"}})
            changes, pending = changes + 1, pending - 1
        _sample(processes, memory)
        time.sleep(0.25)
    _advance(districts, clock, state, sim_end)
    # The period is over: what is not due yet never will be; what is due still runs.
    pks = [d["pk"] for d in districts]
    SyncSettings.objects.filter(district_id__in=pks, next_run_at__gt=datetime.now(UTC)).update(
        next_run_at=datetime.now(UTC) + timedelta(days=365)
    )
    period_end = time.time()
    drain_end = period_end + args.drain_seconds
    # Quiet = nothing due and nothing active for QUIET_SECONDS in a row: the tick claims a due
    # time (advances next_run_at) a moment before it creates the run, so one quiet look can fall
    # between the two, and stopping beat then would lose a run that was due (seen under load).
    quiet_since: float | None = None
    while time.time() < drain_end:
        _sample(processes, memory)
        due = SyncSettings.objects.filter(
            district_id__in=pks, enabled=True, paused_reason="", next_run_at__lte=datetime.now(UTC)
        ).exists()
        active = ImportRun.objects.filter(
            district_id__in=pks, status__in=ImportRun.ACTIVE_STATUSES
        ).exists()
        if due or active:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since >= QUIET_SECONDS:
            break
        time.sleep(0.25)
    drained = time.time()
    log(f"period over; drained in {drained - period_end:.1f} s")
    return {
        "clock": clock,
        "due": state["due"],
        "memory": memory,
        "changes": changes,
        "period_end": period_end,
        "drained": drained,
    }


def _student_ids(dataset) -> list[str]:
    ids = []
    for district_id in dataset.district_ids():
        ids += dataset.index("users", district_id, "student")
    return ids


def _sample(processes, memory: dict[str, float]) -> None:
    total, peak = memory_of(processes.pids())
    memory["total"] = max(memory["total"], total)
    memory["process"] = max(memory["process"], peak)


def _runs(districts, due: dict[int, list[float]], large_records: int) -> list[dict[str, Any]]:
    """The scheduled runs, each matched with the due time it was started for."""
    from integrations.models import ImportRun

    size = {d["pk"]: d["students"] for d in districts}
    rows = ImportRun.objects.filter(
        district_id__in=list(size), trigger=ImportRun.Trigger.SCHEDULED
    ).order_by("created_at")
    runs, taken = [], {pk: 0 for pk in size}
    for run in rows:
        dues = due[run.district_id]
        index = taken[run.district_id]
        matched = dues[index] if index < len(dues) else None
        taken[run.district_id] = index + 1
        runs.append(
            {
                "id": run.pk,
                "district": run.district_id,
                "large": size[run.district_id] >= large_records,
                "records": run.records_seen,
                "created": run.created,
                "status": run.status,
                "due": matched,
                "created_at": run.created_at.timestamp(),
                "started_at": run.started_at.timestamp() if run.started_at else None,
                "finished_at": run.finished_at.timestamp() if run.finished_at else None,
            }
        )
    return runs


def _probes(folder: Path) -> list[dict[str, Any]]:
    lines = []
    for path in sorted(folder.glob("*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def _collect(args, districts, *, watch, probes: Path, real_sizes: list[int]) -> dict[str, Any]:
    large_records = int(os.environ["LARGE_IMPORT_RECORDS"])
    runs = _runs(districts, watch["due"], large_records)
    lines = _probes(probes)
    pid_of = {p["run_id"]: p["pid"] for p in lines if p.get("run_id")}
    db_of: dict[int, float] = {}
    for p in lines:
        if p.get("run_id"):
            db_of[p["run_id"]] = db_of.get(p["run_id"], 0.0) + p["db_seconds"]
    due_total = sum(len(v) for v in watch["due"].values())
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    unfinished = [r["id"] for r in runs if r["status"] not in report.FINISHED]
    clock = watch["clock"]
    window = max(1e-9, watch["drained"] - clock.real_start)
    busy = sum(
        r["finished_at"] - r["started_at"] for r in runs if r["started_at"] and r["finished_at"]
    )
    fairness = report.fairness(runs, pid_of)
    finished = len(runs) - len(unfinished)
    every = due_total == len(runs) == finished
    costs = report.costs(runs, db_of)
    return {
        "ok": every and statuses.get("failed", 0) == 0 and fairness["rule_holds"],
        "districts": _district_summary(districts, real_sizes, args.scale),
        "period": {
            "simulated_hours": args.sim_hours,
            "real_seconds": round(watch["period_end"] - clock.real_start, 1),
            "drain_seconds": round(watch["drained"] - watch["period_end"], 1),
            "speed": round(clock.speed),
            "tick_seconds": 1,
            "students_changed": watch["changes"],
        },
        "workers": args.workers,
        "runs": {
            "due": due_total,
            "started": sum(1 for r in runs if r["started_at"]),
            "finished": finished,
            "failed": statuses.get("failed", 0),
            "by_status": statuses,
            "unfinished": unfinished,
            "every_scheduled_run_finished": every,
        },
        "lateness": report.lateness(runs),
        "worker_utilisation": round(busy / (args.workers * window), 3),
        "postgres_time_per_run": report.db_summary(runs, lines),
        "memory": {
            "peak_worker_rss_mb_total": round(watch["memory"]["total"], 1),
            "peak_worker_process_rss_mb": round(watch["memory"]["process"], 1),
        },
        "fairness": {"large_import_records": large_records, **fairness},
        "costs": costs,
        "workers_needed": _capacity(costs, real_sizes, args.scale),
    }


def _district_summary(districts, real_sizes: list[int], scale: float) -> dict[str, Any]:
    freq: dict[str, int] = {}
    for d in districts:
        freq[d["frequency"]] = freq.get(d["frequency"], 0) + 1
    return {
        "count": len(districts),
        "scale": scale,
        "real_students": {
            "under_5000": sum(1 for s in real_sizes if s < 5_000),
            "5000_to_50000": sum(1 for s in real_sizes if 5_000 <= s < 50_000),
            "over_50000": sum(1 for s in real_sizes if s >= 50_000),
            "mean": round(sum(real_sizes) / len(real_sizes)),
        },
        "simulated_students": {
            "min": min(d["students"] for d in districts),
            "max": max(d["students"] for d in districts),
        },
        "frequencies": freq,
    }


def _capacity(costs: dict[str, Any], real_sizes: list[int], scale: float) -> dict[str, Any]:
    """Workers for 100 / 1,000 / 10,000 districts of this spread (real sizes), from the resync
    cost measured here (a steady fleet resyncs; first imports are onboarding)."""
    fit = (costs.get("resync") or {}).get("wall") or (costs.get("first_import") or {}).get("wall")
    mean = sum(real_sizes) / len(real_sizes)
    out: dict[str, Any] = {
        "formula": "ceil(N * runs_per_day * (per_run_s + per_record_s * mean_records) / "
        "(86400 * target_utilisation))",
        "runs_per_day": report.FREQUENCIES,
        "target_utilisation": report.TARGET_UTILISATION,
        "mean_records": round(mean),
    }
    if fit is None:
        out["table"] = None
        return out
    out.update(per_run_s=fit["per_run_seconds"], per_record_s=fit["per_record_seconds"])
    out["table"] = report.workers_needed(
        per_run=fit["per_run_seconds"], per_record=fit["per_record_seconds"], mean_records=mean
    )
    return out
