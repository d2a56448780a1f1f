"""One measured sync in a fresh process: ``python -m integrations.bench.child --district ...``.

Runs the real ``clever_sync`` command (the same service a worker runs), counts every SQL statement
and every write to a live table, and prints one JSON line. The parent measures wall time and peak
RSS of this process with ``os.wait4``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import time

LIVE_TABLES = ("students_student", "staff_user", "staff_staffschoolaccess")
# COPY ... FROM STDIN is a write too (the engine streams creates, results and the update log).
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|COPY)\s", re.I)


def peak_rss_mb() -> float | None:
    """This process's own peak RSS (``VmHWM``: the high-water mark of its address space).

    ``ru_maxrss`` from ``wait4`` is not usable for it on Linux: ``execve`` carries the parent's
    high-water mark over, so a child of a runner holding a 300,000-student dataset would report
    the runner's size, not its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--district", required=True)
    parser.add_argument("--data-type", default="students")
    parser.add_argument("--mode", default="import")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naviance_sync.settings")
    os.environ.setdefault("NAVIANCE_DEV", "1")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    stats = {"queries": 0, "live_writes": 0}

    def counter(execute, sql, params, many, context):
        stats["queries"] += 1
        if WRITE.match(sql) and any(t in sql for t in LIVE_TABLES):
            stats["live_writes"] += 1
        return execute(sql, params, many, context)

    out = io.StringIO()
    started = time.perf_counter()
    code = 0
    with connection.execute_wrapper(counter):
        try:
            call_command(
                "clever_sync",
                district=args.district,
                data_type=args.data_type,
                mode=args.mode,
                json=True,
                stdout=out,
            )
        except SystemExit as exc:
            code = int(exc.code or 0)
    seconds = time.perf_counter() - started
    text = out.getvalue().strip().splitlines()
    result = json.loads(text[-1]) if text else {}
    print(
        json.dumps(
            {
                "result": result,
                "inner_seconds": round(seconds, 3),
                "exit": code,
                "peak_rss_mb": peak_rss_mb(),
                **stats,
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
