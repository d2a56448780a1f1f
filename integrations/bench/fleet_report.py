"""The fleet simulation's figures, from plain rows (pure: no Django, no processes).

``runs``: one dict per import run the simulation scheduled: ``id``, ``district``, ``large``,
``records``, ``created`` (records created), ``status``, ``due``, ``created_at``, ``started_at``,
``finished_at`` (unix seconds or None). ``probes``: the workers' lines (``fleet_worker``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

FINISHED = ("succeeded", "failed", "needs_review", "held", "cancelled")
FREQUENCIES = {"6h": 4.0, "12h": 2.0, "daily": 1.0, "weekly": 1 / 7}
FLEET_SIZES = (100, 1_000, 10_000)
TARGET_UTILISATION = 0.5


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def lateness(runs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Seconds from a run's due time to a worker starting it (real seconds, not simulated)."""
    late = [
        r["started_at"] - r["due"]
        for r in runs
        if r["started_at"] is not None and r["due"] is not None
    ]
    late = [max(0.0, v) for v in late]
    return {
        "runs": len(late),
        "max_seconds": _r(max(late) if late else None),
        "p95_seconds": _r(percentile(late, 95)),
        "p50_seconds": _r(percentile(late, 50)),
    }


def _overlaps(start: float, end: float, other_start: float, other_end: float) -> bool:
    return other_start < end and other_end > start


def fairness(runs: Sequence[dict[str, Any]], pid_of: dict[int, int]) -> dict[str, Any]:
    """The starvation rule, measured: for each small district's run, per worker process, how many
    large districts' runs that process executed while the small run waited (queued -> started).
    The rule holds when the worst case is at most one."""
    large_by_pid: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for run in runs:
        if run["large"] and run["started_at"] is not None and run["id"] in pid_of:
            end = math.inf if run["finished_at"] is None else run["finished_at"]
            large_by_pid[pid_of[run["id"]]].append((run["started_at"], end))
    worst, worst_run, small = 0, None, 0
    for run in runs:
        if run["large"] or run["started_at"] is None:
            continue
        small += 1
        waited = (run["created_at"], run["started_at"])
        for spans in large_by_pid.values():
            ahead = sum(1 for s, e in spans if _overlaps(*waited, s, e))
            if ahead > worst:
                worst, worst_run = ahead, run
    return {
        "small_runs": small,
        "large_runs": sum(1 for r in runs if r["large"]),
        "max_large_runs_ahead_of_a_small_run_per_worker": worst,
        "worst_small_run": None
        if worst_run is None
        else {
            "run": worst_run["id"],
            "district": worst_run["district"],
            "waited_seconds": _r(worst_run["started_at"] - worst_run["created_at"]),
        },
        "rule_holds": worst <= 1,
    }


def fit(points: Sequence[tuple[float, float]]) -> dict[str, float] | None:
    """Least squares ``seconds = per_run + per_record * records`` (None with fewer than 2 sizes)."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    slope = max(slope, 0.0)
    return {"per_run_seconds": max(0.0, my - slope * mx), "per_record_seconds": slope}


def costs(runs: Sequence[dict[str, Any]], db_of: dict[int, float]) -> dict[str, Any]:
    """Measured cost of a run: wall time and database time, for first imports (records created)
    and resyncs, as ``per_run + per_record * records``."""
    out: dict[str, Any] = {}
    done = [r for r in runs if r["status"] == "succeeded" and r["started_at"] and r["finished_at"]]
    for kind, rows in (
        ("first_import", [r for r in done if r["created"] > 0]),
        ("resync", [r for r in done if r["created"] == 0]),
    ):
        wall = fit([(r["records"], r["finished_at"] - r["started_at"]) for r in rows])
        db = fit([(r["records"], db_of[r["id"]]) for r in rows if r["id"] in db_of])
        out[kind] = {
            "runs": len(rows),
            "wall": None if wall is None else {k: _r(v, 7) for k, v in wall.items()},
            "database": None if db is None else {k: _r(v, 7) for k, v in db.items()},
        }
    return out


def workers_needed(
    *,
    per_run: float,
    per_record: float,
    mean_records: float,
    utilisation: float = TARGET_UTILISATION,
) -> dict[str, dict[str, int]]:
    """Worker processes for ``FLEET_SIZES`` districts at each frequency:
    ``ceil(N * runs_per_day * (per_run + per_record * mean_records) / (86,400 * utilisation))``."""
    table: dict[str, dict[str, int]] = {}
    for n in FLEET_SIZES:
        row = {}
        for name, per_day in FREQUENCIES.items():
            busy = n * per_day * (per_run + per_record * mean_records)
            row[name] = max(1, math.ceil(busy / (86_400 * utilisation)))
        table[str(n)] = row
    return table


def db_summary(runs: Sequence[dict[str, Any]], probes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """PostgreSQL (or SQLite) time per run, from the workers' execute wrappers."""
    ids = {r["id"] for r in runs}
    per_run: dict[int, dict[str, float]] = {}
    for p in probes:  # a retried run has a line per attempt: add them up
        if p.get("run_id") in ids:
            row = per_run.setdefault(
                p["run_id"], {"db_seconds": 0.0, "wall_seconds": 0.0, "queries": 0}
            )
            for key in row:
                row[key] += p[key]
    rows = list(per_run.values())
    db = [p["db_seconds"] for p in rows]
    share = [p["db_seconds"] / p["wall_seconds"] for p in rows if p["wall_seconds"]]
    return {
        "source": "time inside Django database calls in the worker (execute_wrapper)",
        "runs": len(rows),
        "mean_seconds_per_run": _r(sum(db) / len(db) if db else None),
        "p95_seconds_per_run": _r(percentile(db, 95)),
        "max_seconds_per_run": _r(max(db) if db else None),
        "mean_statements_per_run": _r(
            sum(p["queries"] for p in rows) / len(rows) if rows else None, 1
        ),
        "share_of_run_time": _r(sum(share) / len(share) if share else None),
    }
