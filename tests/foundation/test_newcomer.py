"""Issue 16, item 14: a newcomer's paper cuts. /favicon.ico answers, the README's commands run as
written from a checkout (no SECRET_KEY, no NAVIANCE_DEV), pyproject's license is an SPDX string."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


@pytest.mark.django_db
def test_favicon_ico_is_a_real_icon_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00" and b"PNG" in body[:40]  # an ICO holding a PNG
    assert body == (ROOT / "static" / "root" / "favicon.ico").read_bytes()


@pytest.mark.django_db
def test_pages_link_the_icon(client):
    page = client.get("/accounts/login/").content.decode()
    assert re.search(r'<link rel="icon" href="[^"]*favicon[^"]*\.ico"', page)


def test_pyproject_license_is_an_spdx_string():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["license"] == "Apache-2.0"
    requires = data["build-system"]["requires"]
    assert any(
        re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77 for r in requires
    )


def test_every_readme_manage_command_exists():
    used = set(re.findall(r"\./bin/manage (\w+)", README))
    used |= set(re.findall(r"python manage\.py (\w+)", README))
    assert {"clever_fake_district", "clever_setup", "clever_sync", "district_enable"} <= used
    assert used <= set(get_commands()), used - set(get_commands())


def test_readme_manage_command_runs_as_written_without_secret_key(tmp_path):
    """The README's clever_fake_district line, as written, in a shell with nothing set (it
    failed with "SECRET_KEY must be set" unless NAVIANCE_DEV=1)."""
    line = next(
        line for line in README.splitlines() if line.startswith("./bin/manage clever_fake_district")
    )
    # The project's virtualenv, already installed (so bin/lib.sh does not reinstall it).
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (venv / ".naviance-installed").write_text(digest + "\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "NAVIANCE_DEV", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    env["NAVIANCE_VENV"] = str(venv)
    env["NAVIANCE_VAR_DIR"] = str(tmp_path / "var")
    (tmp_path / "var").mkdir()
    result = subprocess.run(  # noqa: S603 - the README's own line
        ["bash", "-c", line.replace("./bin/manage", str(ROOT / "bin" / "manage"), 1)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "SECRET_KEY" not in result.stderr
    # What the README's next lines connect: "--seed 1 always generates Clever district <id>".
    dataset = json.loads((tmp_path / "var" / "try.json").read_text())
    readme_ids = set(re.findall(r"--clever-district ([0-9a-f]{24})\b", README))
    assert [d["id"] for d in dataset["districts"]] == [*readme_ids], readme_ids
    assert f"always generates Clever district `{readme_ids.pop()}`" in README
