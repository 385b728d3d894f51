#!/usr/bin/env bash
# Sets up .venv, then analyzes the bundled demo recording and writes the report to out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/backcheck analyze recordings/demo_deadlift.csv --out out/demo --force "$@"
