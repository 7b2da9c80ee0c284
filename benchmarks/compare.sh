#!/usr/bin/env bash
# Set up the peers (Authlib, node-oidc-provider; idempotent, installs into ~/.cache/oc-peers) and the
# benchmark client (~/.cache/oc-bench/venv), then run ours and each peer one after another:
#   benchmarks/compare.sh                 # -c 16,64 -d 10, ours + authlib + oidc + oidc-sqlite2
#   benchmarks/compare.sh -c 16 -d 5      # any compare.py option
#   SKIP_SETUP=1 benchmarks/compare.sh    # peers already set up
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS_DIR=${PEERS_DIR:-/work/shared/bench/peers}
if [ "${SKIP_SETUP:-0}" != 1 ]; then
  "$PEERS_DIR/setup_loadgen.sh"
  "$PEERS_DIR/setup_authlib.sh"
  "$PEERS_DIR/setup_oidc.sh"          # WITH_SQLITE=0 to skip building better-sqlite3 (oidc-sqlite2)
  [ "${WITH_DOT:-0}" = 1 ] && "$PEERS_DIR/setup_dot.sh"
fi >&2
PY=$("$HERE/setup_client.sh")
exec "$PY" "$HERE/compare.py" "$@"
