#!/usr/bin/env bash
# The benchmark client's own venv (aiohttp + uvloop), outside the project's venv, and wrk.
# bench.py re-executes itself with this interpreter when the one it was started with lacks aiohttp.
set -euo pipefail
VENV=${OC_BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/oc-bench/venv}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "aiohttp>=3.9,<4" "uvloop>=0.19" "psycopg[binary]>=3.1"  # psycopg: bench.py makes its PostgreSQL databases
echo "$VENV/bin/python"
