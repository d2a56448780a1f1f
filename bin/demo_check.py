"""bin/demo-check: the README's ``./bin/demo`` from a fresh clone, checked end to end over HTTP.

Clones this repository (its committed HEAD) into a temporary directory, starts ``bin/demo`` there
on the embedded defaults (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, CACHE_URL, NAVIANCE_VAR_DIR
removed from its environment; the virtualenv reused through NAVIANCE_VENV; free ports through
PORT / SIM_PORT), waits for the portal, signs in as the demo admin with a real login POST (CSRF
token and cookie), checks that the setup page shows Maple Valley connected to the simulated
Clever district with its schools matched and that /favicon.ico answers, signs in as Cedar Ridge's
admin and checks its setup starts at the guide's first step (not connected), signs the demo's
support account in to Django admin through the second-factor setup (the code computed from the
key the page shows), stops the demo as Ctrl-C would, checks it did not report "a process
stopped" and that no process it started (gunicorn, Celery worker and beat, simulator) is left.
Fails after NAVIANCE_DEMO_CHECK_TIMEOUT seconds (default 240). Prints each check; exit 0 only
if all passed.
"""

from __future__ import annotations

import html
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = float(os.environ.get("NAVIANCE_DEMO_CHECK_TIMEOUT") or 240)
ADMIN = ("demo-admin", "demo-password-2026")  # README, "The two commands"
SUPPORT = ("support", "support-password-2026")  # bin/demo's banner
DISTRICT = "Maple Valley Unified"
# The district a newcomer sets up from the guide's first step: Clever enabled, nothing else.
CEDAR_ADMIN = ("cedar-admin", "cedar-password-2026")
CEDAR = "Cedar Ridge School District"
# What would point the demo away from its embedded defaults.
SCRUB = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "NAVIANCE_VAR_DIR",
    "NAVIANCE_TEST_BACKEND",
    "DJANGO_SETTINGS_MODULE",
    "PORT",
    "SIM_PORT",
)


class Failed(Exception):
    pass


class Check:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + TIMEOUT

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def ok(self, text: str) -> None:
        self.say("ok   " + text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} unreadable)"


def processes_of(session: int, clone: Path) -> dict[int, str]:
    """Processes in the demo's session, or running in the clone (in case one left the session)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            state, sid = fields[0], int(fields[3])
            if state == "Z":
                continue
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                cwd = ""
            if sid == session or cwd == str(clone) or cwd.startswith(f"{clone}/"):
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found[pid] = cmd.strip()
        except (OSError, ValueError, IndexError):
            continue
    return found


def wait_up(check: Check, demo: subprocess.Popen, url: str, log: Path, limit: float) -> dict:
    end = time.monotonic() + min(limit, check.left())
    last = ""
    while time.monotonic() < end:
        if demo.poll() is not None:
            raise Failed(f"bin/demo exited ({demo.returncode}) before {url} answered:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=3) as r:  # noqa: S310 - loopback http
                return json.loads(r.read())
        except (OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(1)
    raise Failed(f"{url} did not answer in time ({last}):\n{tail(log)}")


def sign_in(check: Check, base: str, who: tuple[str, str], district: str):
    """A real password sign-in (CSRF token and cookie); returns the signed-in ``get``."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(path: str, data: dict | None = None) -> tuple[str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(  # noqa: S310 - http on loopback, built here
            base + path, data=body, headers={"Referer": base + path}
        )
        with opener.open(req, timeout=max(1.0, min(20.0, check.left()))) as r:
            return r.geturl(), r.read().decode(errors="replace")

    _, page = get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not token or not any(c.name == "csrftoken" for c in jar):
        raise Failed("the sign-in page has no CSRF token or cookie")
    check.ok("GET /accounts/login/: sign-in form with a CSRF token and csrftoken cookie")
    where, page = get(
        "/accounts/login/",
        {
            "csrfmiddlewaretoken": token.group(1),
            "username": who[0],
            "password": who[1],
            "next": "",
        },
    )
    path = urllib.parse.urlparse(where).path
    if path.startswith("/accounts/login") or not any(c.name == "sessionid" for c in jar):
        raise Failed(f"signing in as {who[0]} did not work (landed on {path})")
    if html.escape(district) not in page and district not in page:
        raise Failed(f"after signing in, {path} does not name {district}")
    check.ok(f"POST /accounts/login/ as {who[0]}: session cookie, landed on {path} ({district})")
    return get


def page_text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def sign_in_and_look(check: Check, base: str) -> None:
    get = sign_in(check, base, ADMIN, DISTRICT)
    _, page = get("/integrations/students/setup/")
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    status = re.search(r"Status (\S+)", text)
    clever = re.search(r"Clever district (.+?) \((\w+)\)", text)
    matched = re.search(r"(\d+) of (\d+) Naviance schools? matched to (\d+) Clever schools?", text)
    if not status or status.group(1) != "Connected":
        raise Failed(f"setup page: Clever connection is not 'Connected' ({status and status[1]})")
    if not clever:
        raise Failed("setup page: no Clever district shown")
    if not matched or int(matched.group(1)) < 1:
        raise Failed(f"setup page: no school matched ({matched and matched.group(0)})")
    check.ok(
        "GET /integrations/students/setup/: Connected to Clever district "
        f"{clever.group(1)} ({clever.group(2)}); {matched.group(0)}"
    )
    where, _ = get("/favicon.ico")
    check.ok(f"GET /favicon.ico: answered ({urllib.parse.urlparse(where).path})")

    # Match Fields reads the district's Clever data on the worker (another process): Refresh from
    # Clever, poll the status URL the waiting page names, then the page lists the fields.
    fields = "/integrations/settings/students/fields/"
    _, page = get(fields)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not token:
        raise Failed("Match Fields has no form with a CSRF token")
    _, page = get(
        "/integrations/settings/students/scan/",
        {"csrfmiddlewaretoken": token.group(1), "page": "fields"},
    )
    status_url = re.search(r'data-scan-status="([^"]+)"', page)
    state = "ready"
    if status_url:
        while check.left() > 5:
            _, answer = get(status_url.group(1))
            state = json.loads(answer)["state"]
            if state != "reading":
                break
            time.sleep(0.5)
        _, page = get(fields)
    counted = re.search(r"found in your district's (\d+) student records?", page)
    if state != "ready" or not counted or 'name="map_student_id"' not in page:
        raise Failed(f"Match Fields: the worker's read of the Clever data did not arrive ({state})")
    check.ok(
        f"Match Fields: the worker read {counted.group(1)} student records; the portal lists "
        "their fields"
    )

    # The second demo district, as support leaves it: its admin starts at the guide's first step.
    cedar_get = sign_in(check, base, CEDAR_ADMIN, CEDAR)
    _, page = cedar_get("/integrations/students/setup/")
    if "Not connected yet" not in page_text(page):
        raise Failed(f"{CEDAR}: the setup page should start at the guide's first step")
    check.ok(f"GET /integrations/students/setup/ as {CEDAR_ADMIN[0]}: {CEDAR} not connected yet")


def totp_now(key: str) -> str:
    """The code an authenticator app shows for ``key`` now (RFC 6238: SHA-1, 30 s, 6 digits)."""
    import base64
    import hashlib
    import hmac
    import struct

    secret = base64.b32decode(key.upper() + "=" * (-len(key) % 8))
    digest = hmac.new(secret, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def support_sets_up_second_factor(check: Check, base: str) -> None:
    """The demo's support account: password, then Django admin asks for an authenticator app;
    the key the setup page shows gives a code that opens admin (as the banner says)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(path: str, data: dict | None = None) -> tuple[str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(  # noqa: S310 - http on loopback, built here
            base + path, data=body, headers={"Referer": base + path}
        )
        with opener.open(req, timeout=max(1.0, min(20.0, check.left()))) as r:
            return r.geturl(), r.read().decode(errors="replace")

    def csrf(page: str) -> str:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not token:
            raise Failed("no CSRF token on the page")
        return token.group(1)

    _, page = get("/admin/")
    where, page = get(
        "/accounts/login/",
        {
            "csrfmiddlewaretoken": csrf(page),
            "username": SUPPORT[0],
            "password": SUPPORT[1],
            "next": "/admin/",
        },
    )
    path = urllib.parse.urlparse(where).path
    key = re.search(r'id="authenticator_secret" value="([A-Z2-7]+)"', page)
    if path != "/accounts/2fa/totp/activate/" or not key:
        raise Failed(f"support signing in to /admin/ landed on {path}, not the second-factor setup")
    check.ok(f"support signs in to /admin/: sent to {path} (QR code and key shown)")
    where, page = get(
        "/accounts/2fa/totp/activate/",
        {"csrfmiddlewaretoken": csrf(page), "code": totp_now(key.group(1))},
    )
    if "recovery-codes" not in where:
        raise Failed(f"activating the authenticator app with its code landed on {where}")
    where, page = get("/admin/")
    if urllib.parse.urlparse(where).path != "/admin/" or "Naviance Sync support" not in page:
        raise Failed(f"after setting up the second factor, /admin/ answered {where}")
    check.ok("support: code from the shown key activates the app; recovery codes; /admin/ opens")


def ctrl_c(demo: subprocess.Popen) -> None:
    """What Ctrl-C in its terminal does: SIGINT to bin/demo's process group (its own session)."""
    try:
        os.killpg(demo.pid, signal.SIGINT)
    except ProcessLookupError:
        pass


def stop(
    check: Check, demo: subprocess.Popen, clone: Path, ports: tuple[int, ...], log: Path
) -> None:
    """Ctrl-C to bin/demo (its trap stops everything), then nothing of it may remain."""
    if demo.poll() is None:
        ctrl_c(demo)
        try:
            demo.wait(timeout=max(5.0, min(60.0, check.left())))
        except subprocess.TimeoutExpired:
            raise Failed("bin/demo did not stop within 60 s of Ctrl-C (SIGINT)") from None
    check.ok(f"Ctrl-C: bin/demo stopped (exit {demo.returncode})")
    said = log.read_text(errors="replace") if log.exists() else ""
    if "a process stopped" in said:
        raise Failed("bin/demo said 'a process stopped' on a clean Ctrl-C")
    check.ok("clean stop: bin/demo did not report a stopped process")
    end = time.monotonic() + 15
    left = processes_of(demo.pid, clone)
    while left and time.monotonic() < end:
        time.sleep(0.5)
        left = processes_of(demo.pid, clone)
    if left:
        raise Failed(
            "processes left running after the demo stopped:\n"
            + "\n".join(f"  {pid} {cmd}" for pid, cmd in left.items())
        )
    busy = [p for p in ports if listening(p)]
    if busy:
        raise Failed(f"ports still listening after the demo stopped: {busy}")
    check.ok(
        "no process left (gunicorn, celery worker, beat, simulator) and ports "
        f"{', '.join(map(str, ports))} closed"
    )


def kill_leftovers(demo: subprocess.Popen, clone: Path) -> None:
    """Last resort on failure: what this check started, by pid, nothing else."""
    if demo.poll() is None:
        ctrl_c(demo)
        try:
            demo.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    for pid in processes_of(demo.pid, clone):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        demo.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def give_up(signum, _frame):
    if signum == signal.SIGALRM:
        raise Failed(f"timed out: more than {TIMEOUT:.0f} s (NAVIANCE_DEMO_CHECK_TIMEOUT)")
    raise Failed(f"stopped by signal {signum}")


def fresh_clone(check: Check, clone: Path) -> None:
    """Clone the committed source (a demo runs from what a newcomer would get, not this tree)."""
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=check.left())
    check.ok(
        f"fresh clone of {ROOT} at {head} in {clone}"
        + (" (uncommitted changes of the source are not in it)" if dirty else "")
    )


def start_demo(
    check: Check, clone: Path, venv: str, log: Path
) -> tuple[subprocess.Popen, int, int]:
    """Start the clone's bin/demo on free ports, with the variables in SCRUB removed from its
    environment; returns (process, portal port, simulator port)."""
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    removed = sorted(k for k in SCRUB if k in os.environ)
    env.update(NAVIANCE_VENV=venv, PORT=str(port), SIM_PORT=str(sim_port))
    check.say(
        f"starting {clone}/bin/demo (PORT={port} SIM_PORT={sim_port} NAVIANCE_VENV={venv}"
        + (f"; removed from its environment: {', '.join(removed)}" if removed else "")
        + f"); log: {log}"
    )
    with open(log, "wb") as out:
        demo = subprocess.Popen(
            [str(clone / "bin" / "demo")],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return demo, port, sim_port


def demo_is_up(
    check: Check, demo: subprocess.Popen, clone: Path, log: Path, port: int, sim_port: int
) -> None:
    """The portal and simulated Clever answer, on the embedded defaults (SQLite, file broker)."""
    health = wait_up(check, demo, f"http://127.0.0.1:{port}/healthz", log, limit=180)
    if health.get("status") != "ok":
        raise Failed(f"/healthz: {health}")
    check.ok(f"portal up: GET /healthz {health}")
    sim = wait_up(check, demo, f"http://127.0.0.1:{sim_port}/_sim/health", log, limit=10)
    check.ok(f"simulated Clever up: GET :{sim_port}/_sim/health {sim}")
    sqlite = clone / "var" / "naviance.sqlite3"
    broker = clone / "var" / "broker"
    if not sqlite.exists() or not broker.is_dir():
        raise Failed(f"embedded defaults not in use: {sqlite} or {broker} missing")
    check.ok("embedded defaults: var/naviance.sqlite3 and the filesystem broker var/broker/")


def main() -> int:
    check = Check()
    # The bound holds wherever the check is waiting; the demo is still stopped after it.
    signal.signal(signal.SIGALRM, give_up)
    signal.signal(signal.SIGTERM, give_up)
    signal.alarm(max(1, int(TIMEOUT)))
    venv = os.environ.get("NAVIANCE_VENV") or str(ROOT / ".venv")
    work = Path(tempfile.mkdtemp(prefix="naviance-demo-check-"))
    clone = work / "naviance-sync"
    log = work / "demo.log"
    demo: subprocess.Popen | None = None
    passed = False
    try:
        fresh_clone(check, clone)
        demo, port, sim_port = start_demo(check, clone, venv, log)
        demo_is_up(check, demo, clone, log, port, sim_port)
        sign_in_and_look(check, f"http://127.0.0.1:{port}")
        support_sets_up_second_factor(check, f"http://127.0.0.1:{port}")
        stop(check, demo, clone, (port, sim_port), log)
        passed = True
    except (Failed, subprocess.SubprocessError, OSError) as exc:
        check.say(f"FAIL {exc}")
        if log.exists():
            print(f"--- last lines of {log} ---\n{tail(log)}", flush=True)
    finally:
        signal.alarm(0)
        if demo is not None and not passed:
            kill_leftovers(demo, clone)
        if passed:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"(kept {work} for inspection)", flush=True)
    took = time.monotonic() - check.started
    if passed and took > TIMEOUT:
        check.say(f"FAIL took {took:.0f} s, more than the {TIMEOUT:.0f} s allowed")
        passed = False
    print(f"== demo check {'passed' if passed else 'FAILED'} in {took:.0f} s", flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
