#!/usr/bin/env bash
# Creates .venv and installs backcheck into it (with test extras when given --test).
# Idempotent: reinstalls only when pyproject.toml changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "backcheck needs Python >= 3.11 (found $("$python" --version 2>&1))" >&2; exit 1; }
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
stamp=".venv/.setup-stamp$extras"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".$extras"
  echo "$want" > "$stamp"
fi
if [ -n "$extras" ] && ! command -v chromium >/dev/null 2>&1; then
  # The HTML report is checked in a real headless Chromium (Debian's package).
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: chromium not found; the browser test of the HTML report will be skipped" >&2
  fi
fi
