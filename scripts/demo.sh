#!/usr/bin/env bash
# Starts the local broker (unless one is running) and a worker in the foreground.
# Ctrl-C stops the worker, and the broker too if this script started it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BIN=${BIN:-.venv/bin}
kafka() { "$PYTHON" deploy/kafka-local/kafka_local.py "$@"; }

started_broker=0
if ! kafka status >/dev/null 2>&1; then
  kafka start
  started_broker=1
fi

worker_pid=""
cleanup() {
  trap - INT TERM EXIT
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    kill -TERM "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
  fi
  if [ "$started_broker" = 1 ]; then kafka stop; fi
}
trap cleanup INT TERM EXIT

port=${STREAMALERT_WEB_PORT:-6066}
echo "demo: starting a worker; API on http://127.0.0.1:${port} (try: curl http://127.0.0.1:${port}/healthz)"
echo "demo: Ctrl-C stops everything this demo started"
"$BIN/streamalert" worker &
worker_pid=$!
wait "$worker_pid"
