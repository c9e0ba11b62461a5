#!/usr/bin/env bash
# Events across replicas: latency from a commit of an event by another process to its arrival at an SSE client of a
# `devorch serve --role api` replica on PostgreSQL — with the events table's NOTIFY trigger (the replica LISTENs and
# wakes its hub at once) and without it (the hub's 250 ms poll), in alternating blocks of one run, so the ratio compares
# like with like. The writer is devorch-bench on its own connection (as a worker commits events); see
# bench/DevOrchestrator.Bench/EventsLatencyCommand.cs. About a minute with the defaults.
# Results: bench/results/<UTC time>/events.md and events.jsonl, and the server's log.
#
# Usage: bench/events.sh     Knobs: EVENTS_COUNT (200 per mode) EVENTS_BLOCK (25) PORT (18095) NO_BUILD=1
#   PG_ADMIN_URL (postgresql://postgres:postgres@127.0.0.1:5432) QUIET_SECONDS QUIET_BUSY RESULTS_DIR
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

EVENTS_COUNT=${EVENTS_COUNT:-200}
EVENTS_BLOCK=${EVENTS_BLOCK:-25}
PORT=${PORT:-18095}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql://postgres:postgres@127.0.0.1:5432}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR=${RESULTS_DIR:-$root/bench/results/$stamp}
server_dll=$root/src/DevOrchestrator/bin/Release/net10.0/devorch.dll
bench_dll=$root/bench/DevOrchestrator.Bench/bin/Release/net10.0/devorch-bench.dll
work=$(mktemp -d "${TMPDIR:-/tmp}/devorch-events.XXXXXX")
pids=()
databases=()
mkdir -p "$RESULTS_DIR"

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  stop_and_drop
  rm -rf "$work"
}
trap cleanup EXIT

if [[ ${NO_BUILD:-0} != 1 ]]; then
  log "building (Release)"
  dotnet build -c Release -v q --nologo src/DevOrchestrator >/dev/null
  dotnet build -c Release -v q --nologo bench/DevOrchestrator.Bench >/dev/null
fi

postgres_setup events
server_log=$RESULTS_DIR/events-server.log start_server "$PORT" --role api
task_id=$(curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/tasks" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"title":"events bench"}' | jq -r .data.id)

wait_quiet
{
  echo "## events across replicas — $stamp"
  echo
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg) (busy ${quiet_busy}% after waiting ${quiet_waited} s)"
  echo "- command: EVENTS_COUNT=$EVENTS_COUNT EVENTS_BLOCK=$EVENTS_BLOCK bench/events.sh"
  echo
} >>"$RESULTS_DIR/events.md"
log "measuring $EVENTS_COUNT events per mode against task $task_id"
dotnet "$bench_dll" events --server "http://127.0.0.1:$PORT" --token "$token" --database-url "$pg_url" --task-id "$task_id" \
  --count "$EVENTS_COUNT" --block "$EVENTS_BLOCK" --label "api replica, PostgreSQL" \
  --json "$RESULTS_DIR/events.jsonl" --markdown "$RESULTS_DIR/events.md"
cat "$RESULTS_DIR/events.md"
