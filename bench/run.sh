#!/usr/bin/env bash
# The foundation benchmark: create-task throughput and latency of POST /api/v1/tasks, and dispatch latency (task
# queued -> a worker started it), against a real `devorch serve`:
#   1. embedded default: SQLite in a temporary DATA_DIR + in-process Hangfire in-memory queue (role all);
#   2. PostgreSQL, role all (a fresh database, migrated);
#   3. PostgreSQL, split: one `--role api` process and one `--role worker` process (another fresh database).
# Everything listens on 127.0.0.1 only; every run is bounded by a count and a duration; the servers are stopped and the
# temporary databases dropped at the end. Results: bench/results/<UTC time>/results.md (tables), results.jsonl and
# the servers' logs.
#
# Usage: bench/run.sh              (all three setups, about 10 minutes on 2 cores)
# Knobs (environment): CREATE_COUNT CREATE_CONCURRENCY CREATE_SECONDS DISPATCH_COUNT DISPATCH_RATE DISPATCH_CONCURRENCY
#   SERIAL_COUNT SERIAL_RATE WARMUP WARMUP_SECONDS WARMUP_TASKS PORT SKIP_EMBEDDED=1 SKIP_POSTGRES=1 SKIP_SPLIT=1 SKIP_WRK=1 KEEP_DATABASES=1
#   QUIET_SECONDS (60) QUIET_BUSY (20, percent)
#   PG_ADMIN_URL (default postgresql://postgres:postgres@127.0.0.1:5432) RESULTS_DIR
#   PG_URL_QUERY: Npgsql settings appended to DATABASE_URL, e.g. 'maximum%20pool%20size=20' on a PostgreSQL shared with others
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

CREATE_COUNT=${CREATE_COUNT:-20000}
CREATE_CONCURRENCY=${CREATE_CONCURRENCY:-32}
CREATE_SECONDS=${CREATE_SECONDS:-30}
DISPATCH_COUNT=${DISPATCH_COUNT:-500}
DISPATCH_RATE=${DISPATCH_RATE:-20}
DISPATCH_CONCURRENCY=${DISPATCH_CONCURRENCY:-8}
SERIAL_COUNT=${SERIAL_COUNT:-100}
SERIAL_RATE=${SERIAL_RATE:-10}
WARMUP=${WARMUP:-30000}
WARMUP_SECONDS=${WARMUP_SECONDS:-30}
WARMUP_TASKS=${WARMUP_TASKS:-1000}
PORT=${PORT:-18080}
WORKER_PORT=$((PORT + 1))
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql://postgres:postgres@127.0.0.1:5432}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR=${RESULTS_DIR:-$root/bench/results/$stamp}

server_dll=$root/src/DevOrchestrator/bin/Release/net10.0/devorch.dll
bench_dll=$root/bench/DevOrchestrator.Bench/bin/Release/net10.0/devorch-bench.dll
work=$(mktemp -d "${TMPDIR:-/tmp}/devorch-bench.XXXXXX")
results=$RESULTS_DIR/results.md
jsonl=$RESULTS_DIR/results.jsonl
pids=()
databases=()

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  stop_and_drop
  rm -rf "$work"
}
trap cleanup EXIT

bench() {
  dotnet "$bench_dll" --server "http://127.0.0.1:$PORT" --token "$token" --json "$jsonl" --markdown "$results" "$@"
}

# Tiered JIT (with dynamic PGO) needs tens of thousands of requests on 2 cores before the code is at full speed
# (measured: 281, 531, 757 creates/s in three consecutive 12 s runs on a fresh server), so warm up on requests that
# are not recorded: the API path (store only), then the dispatch path (queued tasks run by the workers).
warm_up() {
  local common=(--server "http://127.0.0.1:$PORT" --token "$token" --mode create --concurrency "$CREATE_CONCURRENCY")
  dotnet "$bench_dll" "${common[@]}" --count "$WARMUP" --duration "$WARMUP_SECONDS" --auto-start false >/dev/null
  dotnet "$bench_dll" "${common[@]}" --count "$WARMUP_TASKS" --duration 15 --auto-start true >/dev/null
}

# Waits until no task is queued or running, so that one run's backlog does not weigh on the next; gives up (and says
# so in the results) when the number has not moved for 20 s (a stuck task) or after 180 s.
wait_idle() {
  local i total last=-1 still=0
  for i in $(seq 1 360); do
    total=$(curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/api/v1/tasks?status=queued,running&per_page=1" |
      grep -o '"total":[0-9]*' | cut -d: -f2 || true)
    if [[ ${total:-1} == 0 ]]; then
      return 0
    fi
    if [[ $total == "$last" ]]; then
      still=$((still + 1))
    else
      still=0
      last=$total
    fi
    if ((still >= 40)); then
      log "$total task(s) stay queued or running without progress for 20 s; going on"
      printf -- '- %s task(s) stayed queued or running without progress (stuck) before the next measurement\n\n' "$total" >>"$results"
      return 0
    fi
    if ((i % 20 == 0)); then
      log "waiting for ${total:-?} queued/running tasks to drain"
    fi
    sleep 0.5
  done
  log "tasks still queued or running after 180 s; going on"
}

# Waits for a quiet moment (bench/lib.sh) and records how busy the machine was.
record_quiet() {
  wait_quiet
  printf -- '- machine busy before this setup (servers idle): %s%% of all cores (waited %s s)\n\n' "$quiet_busy" "$quiet_waited" >>"$results"
}

section() { printf '\n### %s\n\n' "$*" >>"$results"; log "$*"; }

# wrk cross-check of create throughput (store-only tasks, so that only the API path is measured).
wrk_create() {
  if [[ ${SKIP_WRK:-0} == 1 ]] || ! command -v wrk >/dev/null; then
    return 0
  fi
  local script=$setup_dir/create.lua
  cat >"$script" <<LUA
wrk.method = "POST"
wrk.path = "/api/v1/tasks"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.body = '{"title":"wrk task","auto_start":false}'
LUA
  {
    printf '**wrk cross-check** (POST /api/v1/tasks, auto_start=false, 2 threads, %s connections, 15 s)\n\n```\n' "$CREATE_CONCURRENCY"
    wrk -t2 -c"$CREATE_CONCURRENCY" -d15s --latency -s "$script" "http://127.0.0.1:$PORT" | grep -vE '^\s*$'
    printf '```\n\n'
  } >>"$results"
}

# The measurements of one server: create throughput (store only; wrk cross-check), dispatch one at a time and paced,
# then create + queue last, so that the backlog it leaves behind weighs on no other measurement.
measure() {
  local name=$1
  warm_up
  wait_idle
  section "$name"
  record_quiet
  bench --mode create --label "$name: create, store only" --count "$CREATE_COUNT" --duration "$CREATE_SECONDS" \
    --concurrency "$CREATE_CONCURRENCY" --auto-start false --server-pid "$server_pid" >/dev/null
  wrk_create
  wait_idle
  bench --mode dispatch --label "$name: dispatch, one at a time" --count "$SERIAL_COUNT" --rate "$SERIAL_RATE" --concurrency 1 \
    --server-pid "$server_pid" >/dev/null
  wait_idle
  bench --mode dispatch --label "$name: dispatch, paced" --count "$DISPATCH_COUNT" --rate "$DISPATCH_RATE" \
    --concurrency "$DISPATCH_CONCURRENCY" --server-pid "$server_pid" >/dev/null
  wait_idle
  bench --mode create --label "$name: create + queue (auto_start)" --count "$CREATE_COUNT" --duration "$CREATE_SECONDS" \
    --concurrency "$CREATE_CONCURRENCY" --auto-start true --server-pid "$server_pid" >/dev/null
}

machine() {
  {
    printf '# DevOrchestrator foundation benchmark — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf -- '- commit: %s\n' "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    printf -- '- CPU: %s, %s cores (nproc)\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" "$(nproc)"
    printf -- '- memory: %s MiB\n' "$(free -m | awk '/^Mem:/ {print $2}')"
    printf -- '- kernel: %s; .NET SDK %s\n' "$(uname -r)" "$(dotnet --version)"
    printf -- '- PostgreSQL: %s\n' "$(psql "$PG_ADMIN_URL/postgres" -Atc 'show server_version' 2>/dev/null || echo 'not reachable')"
    printf -- '- knobs: CREATE_COUNT=%s CREATE_SECONDS=%s CREATE_CONCURRENCY=%s DISPATCH_COUNT=%s DISPATCH_RATE=%s SERIAL_COUNT=%s SERIAL_RATE=%s WARMUP=%s (%s s) + %s queued tasks\n' \
      "$CREATE_COUNT" "$CREATE_SECONDS" "$CREATE_CONCURRENCY" "$DISPATCH_COUNT" "$DISPATCH_RATE" "$SERIAL_COUNT" "$SERIAL_RATE" "$WARMUP" "$WARMUP_SECONDS" "$WARMUP_TASKS"
  } >"$results"
}

main() {
  mkdir -p "$RESULTS_DIR"
  log "building (Release)"
  dotnet build -c Release src/DevOrchestrator -v quiet -nologo >/dev/null
  dotnet build -c Release bench/DevOrchestrator.Bench -v quiet -nologo >/dev/null
  machine

  if [[ ${SKIP_EMBEDDED:-0} != 1 ]]; then
    use_setup embedded
    create_token
    start_server "$PORT"
    measure "embedded (SQLite + in-memory queue)"
    stop_servers
  fi

  if [[ ${SKIP_POSTGRES:-0} != 1 ]]; then
    postgres_setup postgres
    start_server "$PORT"
    measure "PostgreSQL, role all"
    stop_servers

    if [[ ${SKIP_SPLIT:-0} != 1 ]]; then
      postgres_setup split
      start_server "$WORKER_PORT" --role worker
      local worker_pid=$server_pid
      start_server "$PORT" --role api
      warm_up
      wait_idle
      section "PostgreSQL, --role api + --role worker"
      record_quiet
      bench --mode dispatch --label "split: dispatch, one at a time" --count "$SERIAL_COUNT" --rate "$SERIAL_RATE" --concurrency 1 \
        --metrics "http://127.0.0.1:$WORKER_PORT/metrics" --server-pid "$worker_pid" >/dev/null
      wait_idle
      bench --mode dispatch --label "split: dispatch, paced" --count "$DISPATCH_COUNT" --rate "$DISPATCH_RATE" \
        --concurrency "$DISPATCH_CONCURRENCY" --metrics "http://127.0.0.1:$WORKER_PORT/metrics" --server-pid "$worker_pid" >/dev/null
      wait_idle
      bench --mode create --label "split: create + queue (auto_start), CPU of the api process" --count "$CREATE_COUNT" \
        --duration "$CREATE_SECONDS" --concurrency "$CREATE_CONCURRENCY" --auto-start true --server-pid "$server_pid" >/dev/null
      log "stopping the api process and the worker process (pid $worker_pid)"
      stop_servers
    fi
  fi

  log "done: $results"
  cat "$results"
}

main "$@"
