"""The Content-Security-Policy allows no inline styles or scripts (settings.CONTENT_SECURITY_POLICY):
an inline ``style=``, ``<style>``, ``<script>`` body, ``on…=`` handler or ``javascript:`` URL in a
page template or in HTML built in Python is blocked by the browser, so a page looks or behaves
broken (issue 16 item 1: white-on-white buttons). Styles belong in static/css, behaviour in
static/js. Email templates are exempt: mail is not served under the policy, and mail clients
need inline styles."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INLINE = re.compile(
    r"""\sstyle\s*=|<style[\s>]|<script(?![^>]*\ssrc=)[^>]*>|\son[a-z]+\s*=\s*["']|javascript:""",
    re.IGNORECASE,
)


def page_templates() -> list[Path]:
    return [
        p
        for p in (ROOT / "templates").rglob("*.html")
        if "email" not in p.relative_to(ROOT / "templates").parts[:-1]
        and not p.parent.name.startswith("email")
    ]


def test_page_templates_have_no_inline_styles_scripts_or_handlers():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}"
        for path in page_templates()
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if INLINE.search(line)
    ]
    assert len(page_templates()) > 30
    assert not found, "inline code the CSP blocks:\n" + "\n".join(found)


def test_html_built_in_python_has_no_inline_styles_or_scripts():
    found = []
    for app in ("naviance_sync", "students", "staff", "integrations"):
        for path in (ROOT / app).rglob("*.py"):
            if "simulator" in path.parts or "migrations" in path.parts:
                continue  # the simulator's fake Clever data is not HTML we serve
            for n, line in enumerate(path.read_text().splitlines(), start=1):
                if ("format_html" in line or "mark_safe" in line or "<" in line) and INLINE.search(
                    line
                ):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not found, "inline code the CSP blocks:\n" + "\n".join(found)
