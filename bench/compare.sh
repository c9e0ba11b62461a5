#!/usr/bin/env bash
# The side-by-side benchmark of issue 10: the deployment guide's stack (bench/peer: FastAPI + uvicorn 2 workers +
# SQLAlchemy on PostgreSQL + Celery 2 workers on Redis, from Debian packages) against DevOrchestrator on the same
# machine in one run, with the same load, and one markdown table with ratios against the peer:
#   peer      the Python peer (its own PostgreSQL database and Redis database)
#   sqlite    devorch serve (role all), embedded default: SQLite in a fresh DATA_DIR, in-process jobs
#   postgres  devorch serve (role all) on a fresh PostgreSQL database
#   redis     devorch serve (role all) on a fresh PostgreSQL database + REDIS_URL
#   split     devorch serve --role api + --role worker, fresh PostgreSQL database + REDIS_URL
# Each task is created with auto_start on the user workflow bench_noop (one step, skipped by `when: "false"`), so
# the work measured is the control plane: store, dispatch, claim, run a workflow, finish.
# Per configuration: WARMUP s of wrk load (not measured) and its drain; then wrk with CONNECTIONS connections for
# DURATION s (create requests/s, latency p50/p99, non-2xx, socket errors), then the drain (all tasks finished, bounded
# by DRAIN_SECONDS and STALL_SECONDS without progress); then SERIAL_COUNT tasks one at a time at SERIAL_RATE/s
# (one curl, keep-alive) and their dispatch latency from the database's timestamps (queued_at -> started_at).
# Everything listens on 127.0.0.1; the servers are stopped, the databases dropped and the Redis databases used
# flushed on exit. Results: bench/results/<UTC time>-compare/results.md (the table), the wrk outputs, the servers'
# logs and the tasks' timestamps (tasks-<config>.tsv).
#
# Usage: bench/compare.sh                    (about 2-3 minutes per configuration on 2 cores)
#        DURATION=5 WARMUP=0 SERIAL_COUNT=50 SKIP_SPLIT=1 bench/compare.sh      (a quick check of the script)
# Knobs (environment): DURATION (20) CONNECTIONS (32) WRK_THREADS (2) WRK_TIMEOUT (2s, wrk's default) WARMUP (5 s;
#   0 = none) SERIAL_COUNT (200) SERIAL_RATE (50 per s) DRAIN_SECONDS (300) STALL_SECONDS (30) PORT (18300; uses
#   PORT..PORT+2) SKIP_PEER=1 SKIP_SQLITE=1 SKIP_POSTGRES=1 SKIP_REDIS=1 SKIP_SPLIT=1 NO_BUILD=1 KEEP_DATABASES=1
#   PG_ADMIN_URL (postgresql://postgres:postgres@127.0.0.1:5432) PG_URL_QUERY (Npgsql settings appended to devorch's
#   DATABASE_URL, e.g. 'sslmode=disable') REDIS_HOST (127.0.0.1:6379) PEER_REDIS_DB (13) DEVORCH_REDIS_DB (12)
#   RESULTS_DIR. The two Redis databases must be empty at the start (the script flushes them at the end).
# Needs: wrk, curl (>= 7.84, --rate), psql, redis-cli, sqlite3, /usr/bin/python3 with Debian's python3-fastapi
#   python3-uvicorn python3-celery python3-redis python3-sqlalchemy python3-psycopg2.
# The numbers are noisy on a small machine shared with other work: compare columns of one run, not runs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-32}
WRK_THREADS=${WRK_THREADS:-2}
WRK_TIMEOUT=${WRK_TIMEOUT:-2s}
WARMUP=${WARMUP:-5}
SERIAL_COUNT=${SERIAL_COUNT:-200}
SERIAL_RATE=${SERIAL_RATE:-50}
DRAIN_SECONDS=${DRAIN_SECONDS:-300}
STALL_SECONDS=${STALL_SECONDS:-30}
PORT=${PORT:-18300}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql://postgres:postgres@127.0.0.1:5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1:6379}
PEER_REDIS_DB=${PEER_REDIS_DB:-13}
DEVORCH_REDIS_DB=${DEVORCH_REDIS_DB:-12}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
RESULTS_DIR=${RESULTS_DIR:-$root/bench/results/$stamp-compare}
server_dll=$root/src/DevOrchestrator/bin/Release/net10.0/devorch.dll
work=$(mktemp -d "${TMPDIR:-/tmp}/devorch-compare.XXXXXX")
pids=()
databases=()
peer_groups=()
redis_dbs=()
configs=()
declare -A M=()
python=/usr/bin/python3
unset REDIS_URL DATABASE_URL

# The peer's processes run in process groups of their own (setsid), so that uvicorn's and Celery's children stop too.
stop_peer() {
  local group _
  for group in "${peer_groups[@]}"; do
    kill -TERM -- "-$group" 2>/dev/null || true
  done
  for group in "${peer_groups[@]}"; do
    for _ in $(seq 1 30); do
      kill -0 -- "-$group" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$group" 2>/dev/null || true
    wait "$group" 2>/dev/null || true
  done
  peer_groups=()
}

cleanup() {
  local db
  stop_peer
  stop_and_drop
  for db in "${redis_dbs[@]}"; do
    redis_cli "$db" flushdb >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

redis_cli() { local db=$1; shift; redis-cli -h "${REDIS_HOST%:*}" -p "${REDIS_HOST##*:}" -n "$db" "$@"; }

# Takes a Redis database for this run: it must be empty (someone else's otherwise); flushed between uses and at exit.
own_redis_db() {
  local db=$1 keys
  keys=$(redis_cli "$db" dbsize)
  if [[ $keys != 0 ]]; then
    log "Redis database $db on $REDIS_HOST holds $keys keys: not ours. Choose an empty one (PEER_REDIS_DB, DEVORCH_REDIS_DB)."
    exit 1
  fi
  redis_dbs+=("$db")
}

# --- the tasks table, read the same way for every configuration ---
# db_kind=pg with db_url, or db_kind=sqlite with db_file, is set by each configuration.
sql() {
  if [[ $db_kind == pg ]]; then
    psql "$db_url" -XAtq -F $'\t' -c "$1"
  else
    sqlite3 -cmd ".timeout 10000" -separator $'\t' "$db_file" "$1"
  fi
}

# Epoch milliseconds of a timestamp column (empty when null).
epoch_ms() {
  if [[ $db_kind == pg ]]; then
    printf 'coalesce(round(extract(epoch from %s) * 1000, 3)::text, %s)' "$1" "''"
  else
    # EF Core's DateTimeOffsetToBinaryConverter: (local ticks / 1000) << 11 | offset in minutes (11 bits, signed).
    printf "coalesce(((%s >> 11) * 1000 - 621355968000000000) / 10000.0 - ((%s & 1023) - (%s & 1024)) * 60000, '')" "$1" "$1" "$1"
  fi
}

unfinished() { sql "select count(*) from tasks where title = '$1' and status in ('pending', 'queued', 'running')"; }

# Waits (lib.sh wait_done) until no task titled $1 is pending, queued or running: at most DRAIN_SECONDS, or
# STALL_SECONDS without progress. Sets settled (1 or 0) and settle_seconds.
drain() {
  drain_title=$1
  wait_done "$DRAIN_SECONDS" "$STALL_SECONDS" "$1" drain_step
}
drain_step() { left=$(unfinished "$drain_title"); }

# --- load ---
# wrk: CONNECTIONS connections posting the task body for $2 seconds; the output is kept in $3.
run_wrk() {
  local title=$1 seconds=$2 output=$3 script=$work/$1.lua
  {
    printf 'wrk.method = "POST"\nwrk.path = "/api/v1/tasks"\nwrk.headers["Content-Type"] = "application/json"\n'
    [[ -z $auth ]] || printf 'wrk.headers["Authorization"] = "%s"\n' "$auth"
    printf "wrk.body = '%s'\n" "$(body "$title")"
  } >"$script"
  timeout $((seconds + 60)) wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout "$WRK_TIMEOUT" --latency \
    -s "$script" "$base_url" >"$output" 2>&1 || log "wrk ended with status $? (see $output)"
}

body() { printf '{"title":"%s","auto_start":true,"workflow":"bench_noop"}' "$1"; }

# A wrk latency ("1.23ms", "850.00us", "1.02s", "1.00m") in milliseconds.
wrk_ms() {
  awk -v p="$1" '$1 == p {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : 0
    printf "%.1f", v * f; found = 1 }
    END { if (!found) printf "n/a" }' "$2"
}

# SERIAL_COUNT creates one at a time (one curl, one keep-alive connection) at SERIAL_RATE per second.
run_serial() {
  local output=$RESULTS_DIR/serial-$config.txt headers=(-H 'Content-Type: application/json')
  [[ -z $auth ]] || headers+=(-H "Authorization: $auth")
  timeout $((SERIAL_COUNT / SERIAL_RATE + 120)) curl -s --rate "$SERIAL_RATE/s" --max-time 30 "${headers[@]}" \
    -d "$(body serial)" -w '\n%{http_code}\n' "$base_url/api/v1/tasks?n=[1-$SERIAL_COUNT]" >"$output" 2>&1 || true
  M[$config|serial_ok]=$(grep -Ec '^2[0-9][0-9]$' "$output" || true)
}

# p-th percentile (nearest rank) of the numbers on stdin; n/a when there are none.
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(p * NR + 0.999999); if (i < 1) i = 1; printf "%.1f", v[i] }'; }

# --- one configuration, measured the same way whatever it runs ---
measure() {
  config=$1
  configs+=("$config")
  if ((WARMUP > 0)); then
    log "$config: warm-up, $WARMUP s of wrk"
    run_wrk warmup "$WARMUP" "$RESULTS_DIR/wrk-$config-warmup.txt"
    drain warmup
  fi
  log "$config: wrk, $CONNECTIONS connections, $DURATION s"
  local out=$RESULTS_DIR/wrk-$config.txt
  run_wrk load "$DURATION" "$out"
  M[$config|rps]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
  M[$config|p50]=$(wrk_ms 50% "$out")
  M[$config|p99]=$(wrk_ms 99% "$out")
  M[$config|non2xx]=$(awk '/Non-2xx or 3xx responses:/ { print $5; f = 1 } END { if (!f) print 0 }' "$out")
  M[$config|socket]=$(sed -nE 's|.*Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+).*|\1/\2/\3/\4|p' "$out")
  M[$config|socket]=${M[$config|socket]:-0/0/0/0}
  M[$config|answered]=$(awk '/ requests in / { print $1 }' "$out")
  if [[ ${M[$config|answered]:-0} == 0 ]]; then
    M[$config|p50]=n/a M[$config|p99]=n/a
  fi
  M[$config|backlog]=$(unfinished load)
  log "$config: ${M[$config|rps]} creates/s; draining ${M[$config|backlog]} unfinished task(s)"
  drain load
  M[$config|drain]=$settle_seconds$([[ $settled == 1 ]] || echo " (gave up)")
  M[$config|left]=$(sql "select
      (select count(*) from tasks where title = 'load' and status = 'pending') || ' / ' ||
      (select count(*) from tasks where title = 'load' and status = 'queued') || ' / ' ||
      (select count(*) from tasks where title = 'load' and status = 'running')")
  log "$config: drained in ${M[$config|drain]} s; left pending/queued/running: ${M[$config|left]}; $SERIAL_COUNT tasks one at a time"
  run_serial
  drain serial
  local tsv=$RESULTS_DIR/tasks-$config.tsv
  sql "select id, title, status, $(epoch_ms created_at), $(epoch_ms queued_at), $(epoch_ms started_at), $(epoch_ms completed_at)
       from tasks where title in ('load', 'serial') order by id" >"$tsv"
  # Load phase: tasks stored, finished well, failed; processed/s = completed / (last completed_at - first created_at).
  local stored completed failed processed
  read -r stored completed failed processed < <(awk -F'\t' '$2 == "load" {
      n++; if ($3 == "completed" || $3 == "succeeded") { ok++; if ($7 > last) last = $7 } else if ($3 == "failed") bad++
      if (first == "" || $4 < first) first = $4 }
      END { printf "%d %d %d %s\n", n, ok, bad, (ok > 0 && last > first) ? sprintf("%.0f", ok * 1000 / (last - first)) : "0" }' "$tsv")
  M[$config|stored]=$stored M[$config|completed]=$completed M[$config|failed]=$failed M[$config|processed]=$processed
  local serial=$work/serial-$config.tsv
  awk -F'\t' '$2 == "serial" && $6 != "" { print $6 - $5, $6 - $4, ($7 == "" ? "" : $7 - $4) }' "$tsv" >"$serial"
  M[$config|d50]=$(cut -d' ' -f1 "$serial" | pct 0.50)
  M[$config|d99]=$(cut -d' ' -f1 "$serial" | pct 0.99)
  M[$config|cs50]=$(cut -d' ' -f2 "$serial" | pct 0.50)
  M[$config|cc50]=$(cut -d' ' -f3 "$serial" | { grep . || true; } | pct 0.50)
  M[$config|dn]=$(wc -l <"$serial")
  log "$config: dispatch p50 ${M[$config|d50]} ms, p99 ${M[$config|d99]} ms (${M[$config|dn]} of $SERIAL_COUNT started)"
}

# --- the peer ---
run_peer() {
  M[peer|busy]=$(machine_busy)
  own_redis_db "$PEER_REDIS_DB"
  fresh_postgres peer
  setup_name=peer
  db_kind=pg db_url=$PG_ADMIN_URL/${databases[-1]}
  export PEER_DATABASE_URL=$db_url PEER_REDIS_URL=redis://$REDIS_HOST/$PEER_REDIS_DB
  "$python" "$root/bench/peer/peer.py"
  setsid "$python" -m uvicorn --app-dir "$root/bench/peer" peer:app --workers 2 --host 127.0.0.1 --port "$PORT" \
    --log-level warning >"$RESULTS_DIR/peer-uvicorn.log" 2>&1 &
  peer_groups+=("$!")
  setsid "$python" -m celery --workdir "$root/bench/peer" -A peer:celery worker --concurrency 2 --loglevel warning \
    >"$RESULTS_DIR/peer-celery.log" 2>&1 &
  peer_groups+=("$!")
  base_url=http://127.0.0.1:$PORT auth=
  # Ready when a probe task has gone through uvicorn, PostgreSQL, Redis and Celery.
  local _
  for _ in $(seq 1 120); do
    curl -fs -o /dev/null -H 'Content-Type: application/json' -d "$(body probe)" "$base_url/api/v1/tasks" && break
    sleep 0.5
  done
  for _ in $(seq 1 120); do
    [[ $(sql "select count(*) from tasks where title = 'probe' and status = 'succeeded'") == 1 ]] && break
    sleep 0.5
  done
  if [[ $(sql "select count(*) from tasks where title = 'probe' and status = 'succeeded'") != 1 ]]; then
    log "the peer did not run a probe task in 60 s; its logs:"
    tail -n 20 "$RESULTS_DIR"/peer-*.log >&2
    exit 1
  fi
  log "peer ready: uvicorn (2 workers) on :$PORT, celery (concurrency 2)"
  measure peer
  stop_peer
}

# --- DevOrchestrator ---
# The user workflow of every task: one step, skipped by its condition (no repository, no sandbox, no vendor).
write_workflow() {
  cat >"$WORKFLOWS_DIR/bench_noop.yaml" <<'YAML'
name: bench_noop
description: One no-op step (skipped by its when), for bench/compare.sh.
steps:
  - name: noop
    plugin: workspace
    action: run_command
    inputs: {command: "true"}
    when: "false"
YAML
}

run_devorch() {
  local name=$1
  M[$name|busy]=$(machine_busy)
  setup_name=$name
  if [[ $name == sqlite ]]; then
    use_setup sqlite
    create_token
    db_kind=sqlite db_file=$DATA_DIR/devorch.db
  else
    postgres_setup "$name"
    db_kind=pg db_url=$PG_ADMIN_URL/${databases[-1]}
  fi
  if [[ $name == redis || $name == split ]]; then
    redis_cli "$DEVORCH_REDIS_DB" flushdb >/dev/null
    export REDIS_URL=redis://$REDIS_HOST/$DEVORCH_REDIS_DB
  else
    unset REDIS_URL
  fi
  write_workflow
  if [[ $name == split ]]; then
    start_server $((PORT + 2)) --role worker
    start_server $((PORT + 1)) --role api
  else
    start_server $((PORT + 1))
  fi
  base_url=http://127.0.0.1:$((PORT + 1)) auth="Bearer $token"
  measure "$name"
  stop_and_drop
  unset REDIS_URL
}

# --- the table ---
# "value (ratio×)" against the peer's value of the same measure (for rates and latencies).
ratio_keys="rps p50 p99 processed d50 d99 cs50 cc50"
cell() {
  local config=$1 key=$2 value=${M[$1|$2]:-n/a} peer=${M[peer|$2]:-}
  if [[ $config != peer && " $ratio_keys " == *" $key "* && -n $peer && $value =~ ^[0-9.]+$ && $peer =~ ^[0-9.]+$ ]] && awk "BEGIN { exit !($peer > 0) }"; then
    printf '%s (%s×)' "$value" "$(awk -v a="$value" -v b="$peer" 'BEGIN { r = a / b; printf (r < 10 ? "%.2f" : "%.0f"), r }')"
  else
    printf '%s' "$value"
  fi
}

row() {
  local label=$1 config
  shift
  printf '| %s |' "$label"
  for config in "${configs[@]}"; do
    local parts=() key
    for key in "$@"; do
      parts+=("$(cell "$config" "$key")")
    done
    local joined
    joined=$(printf ' / %s' "${parts[@]}")
    printf ' %s |' "${joined:3}"
  done
  printf '\n'
}

table() {
  local config
  declare -A title=([peer]="peer (FastAPI + Celery)" [sqlite]="devorch SQLite" [postgres]="devorch PostgreSQL"
    [redis]="devorch PostgreSQL + Redis" [split]="devorch PG + Redis, api + worker")
  printf '# DevOrchestrator vs the guide'"'"'s stack — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf -- '- commit %s; %s cores (%s); %s MiB; PostgreSQL %s; Redis %s; .NET %s; Python %s\n' \
    "$commit" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    "$(free -m | awk '/^Mem:/ { print $2 }')" "$(psql "$PG_ADMIN_URL/postgres" -Atc 'show server_version')" \
    "$(redis_cli 0 info server | tr -d '\r' | awk -F: '$1 == "redis_version" { print $2 }')" "$(dotnet --version)" \
    "$("$python" -c 'import platform; print(platform.python_version())')"
  printf -- '- load: wrk -t%s -c%s -d%ss --timeout %s (after %s s of warm-up and its drain); then %s tasks one at a time at %s/s\n' \
    "$WRK_THREADS" "$CONNECTIONS" "$DURATION" "$WRK_TIMEOUT" "$WARMUP" "$SERIAL_COUNT" "$SERIAL_RATE"
  # shellcheck disable=SC2016 # backquotes are markdown here
  printf -- '- every task auto-started; devorch: workflow bench_noop (one step, skipped by `when: "false"`); peer: a Celery task that marks the row running, then succeeded\n'
  printf -- '- ratios (×) are against the peer in this run; a shared 2-core machine is noisy\n\n'
  printf '| measure |'
  for config in "${configs[@]}"; do printf ' %s |' "${title[$config]}"; done
  printf '\n|---|'
  for config in "${configs[@]}"; do printf -- '---|'; done
  printf '\n'
  row "machine busy before (% of all cores)" busy
  row "create requests/s" rps
  row "create p50 / p99 (ms)" p50 p99
  row "requests answered by the end of wrk / non-2xx" answered non2xx
  row "socket errors connect/read/write/timeout" socket
  row "tasks stored by the load / completed / failed" stored completed failed
  row "load tasks unfinished when wrk ended" backlog
  row "tasks processed/s (first created → last completed)" processed
  row "drain after the load (s)" drain
  row "load tasks left pending / queued / running after the drain" left
  row "dispatch p50 / p99, light load (queued_at → started_at, ms)" d50 d99
  row "created_at → started_at p50, light load (ms)" cs50
  row "created_at → completed_at p50, light load (ms)" cc50
  row "light-load tasks answered 2xx / started" serial_ok dn
}

main() {
  mkdir -p "$RESULTS_DIR"
  if [[ ${NO_BUILD:-0} != 1 ]]; then
    log "building (Release)"
    dotnet build -c Release src/DevOrchestrator -v quiet -nologo >/dev/null
  fi
  [[ ${SKIP_PEER:-0} == 1 ]] || run_peer
  [[ ${SKIP_SQLITE:-0} == 1 ]] || run_devorch sqlite
  if [[ ${SKIP_REDIS:-0} != 1 || ${SKIP_SPLIT:-0} != 1 ]]; then
    own_redis_db "$DEVORCH_REDIS_DB"
  fi
  [[ ${SKIP_POSTGRES:-0} == 1 ]] || run_devorch postgres
  [[ ${SKIP_REDIS:-0} == 1 ]] || run_devorch redis
  [[ ${SKIP_SPLIT:-0} == 1 ]] || run_devorch split
  table | tee "$RESULTS_DIR/results.md"
  log "results: $RESULTS_DIR"
}

main "$@"
