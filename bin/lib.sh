# Shared by bin/demo and bin/test: a project-local virtualenv, (re)installed when pyproject changes.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NAVIANCE_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

ensure_venv() {
  local py3
  py3="$(command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)"
  if [ ! -x "$PY" ]; then
    echo "== creating virtualenv in $VENV"
    "$py3" -m venv "$VENV" || { echo "python3 -m venv failed: install your system's python3-venv package" >&2; exit 1; }
  fi
  local stamp="$VENV/.naviance-installed" want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "== installing dependencies (pyproject.toml)"
    "$PY" -m pip install -q --upgrade pip >/dev/null
    (cd "$ROOT" && "$PY" -m pip install -q -e ".[dev]") || exit 1
    echo "$want" > "$stamp"
  fi
}
