# shellcheck shell=bash
# Globals are shared with the sourcing script (see below): set there (SC2154), read there (SC2034).
# shellcheck disable=SC2034,SC2154
# Shared by the benchmark scripts (sourced): a timestamped log line, and waiting for a quiet machine.

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Busy share of the whole machine (all cores) over the next 2 seconds, in percent, from /proc/stat.
machine_busy() {
  local a b
  read -r -a a < <(head -n1 /proc/stat)
  sleep 2
  read -r -a b < <(head -n1 /proc/stat)
  local busy=$(((b[1] + b[2] + b[3] + b[6] + b[7] + b[8]) - (a[1] + a[2] + a[3] + a[6] + a[7] + a[8])))
  local idle=$(((b[4] + b[5]) - (a[4] + a[5])))
  echo $((100 * busy / (busy + idle + 1)))
}

# Other work on the machine competes for the same cores and disk: wait (at most QUIET_SECONDS, default 60) until it is
# at most QUIET_BUSY percent busy (default 20). Sets quiet_busy and quiet_waited for the caller's record.
wait_quiet() {
  local limit=${QUIET_SECONDS:-60} threshold=${QUIET_BUSY:-20}
  quiet_waited=0
  quiet_busy=$(machine_busy)
  while ((quiet_busy > threshold && quiet_waited < limit)); do
    log "machine ${quiet_busy}% busy with other work; waiting for a quieter moment ($quiet_waited/$limit s)"
    sleep 3
    quiet_waited=$((quiet_waited + 5))
    quiet_busy=$(machine_busy)
  done
}

# --- Starting `devorch` servers on fresh databases (bench/run.sh, bench/compare.sh, bench/soak.sh) ---
# The caller sets: root, server_dll (the Release devorch.dll), work (a temporary directory), RESULTS_DIR, stamp (a
# UTC time stamp, part of database names), PG_ADMIN_URL, and the arrays pids=() and databases=(); it calls
# stop_and_drop from its EXIT trap. Sets: setup_name, setup_dir, server_pid, pg_url, token.

# The environment of one setup: a data directory of its own, a JWT secret shared by the CLI and the servers.
use_setup() {
  local name=$1 database_url=${2:-}
  setup_name=$name
  setup_dir=$work/$name
  mkdir -p "$setup_dir/data" "$setup_dir/workspaces" "$setup_dir/workflows"
  export DATA_DIR=$setup_dir/data WORKSPACES_DIR=$setup_dir/workspaces WORKFLOWS_DIR=$setup_dir/workflows LOG_LEVEL=warning
  # The benchmarks send far more than the guide's 1,000 requests/hour from one user and IP, and queue more than 50
  # tasks: limits far above the load, so that the limiter is on (as in production) but never refuses.
  export API_RATE_LIMIT_PER_HOUR=${API_RATE_LIMIT_PER_HOUR:-1000000000} API_RATE_LIMIT_ANONYMOUS_PER_HOUR=${API_RATE_LIMIT_ANONYMOUS_PER_HOUR:-1000000000}
  export API_MAX_ACTIVE_AGENT_TASKS_PER_USER=${API_MAX_ACTIVE_AGENT_TASKS_PER_USER:-0}
  JWT_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  export JWT_SECRET_KEY
  if [[ -n $database_url ]]; then
    export DATABASE_URL=$database_url
  else
    unset DATABASE_URL
  fi
}

devorch() { dotnet "$server_dll" "$@"; }

# Starts `devorch serve` in the background and waits until it answers /health/ready.
# Its output goes to $server_log when the caller sets it, else to RESULTS_DIR/server-SETUP-PORT.log.
start_server() {
  local port=$1; shift
  local output=${server_log:-$RESULTS_DIR/server-$setup_name-$port.log}
  dotnet "$server_dll" serve --urls "http://127.0.0.1:$port" "$@" >"$output" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 120); do
    if curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
      log "server on :$port is ready (pid $server_pid)"
      return 0
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      log "server on :$port exited; its log:"
      tail -n 20 "$output" >&2
      return 1
    fi
    sleep 0.5
  done
  log "server on :$port did not become ready in 60 s"
  return 1
}

stop_servers() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

create_token() {
  devorch user create --email bench@example.com --role admin --password benchpass123 >/dev/null
  token=$(devorch token create --email bench@example.com)
}

fresh_postgres() {
  local db=devorch_bench_${1}_$stamp
  db=${db,,}
  psql "$PG_ADMIN_URL/postgres" -qc "create database \"$db\"" >/dev/null
  databases+=("$db")
  pg_url=$PG_ADMIN_URL/$db${PG_URL_QUERY:+?$PG_URL_QUERY}
}

# A setup on a fresh PostgreSQL database: migrated (the server does not migrate PostgreSQL on start), with a token.
postgres_setup() {
  fresh_postgres "$1"
  use_setup "$1" "$pg_url"
  devorch db migrate >/dev/null
  create_token
}

# Stops every server started by start_server (SIGTERM, then waits) and drops the databases made by fresh_postgres
# (unless KEEP_DATABASES=1).
stop_and_drop() {
  local pid db
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  pids=()
  if [[ ${KEEP_DATABASES:-0} != 1 ]]; then
    for db in "${databases[@]}"; do
      psql "$PG_ADMIN_URL/postgres" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
    done
  fi
  databases=()
}

# Waits until tasks are done: calls the function $4 every half second (directly, not in a subshell, so it may restart
# processes); it sets `left` to the number of unfinished tasks, or returns non-zero to stop waiting. Gives up after $1
# seconds in all, or $2 seconds without a change of `left`. $3 names the tasks in the log. Sets settled (1 or 0) and
# settle_seconds.
wait_done() {
  local limit=$1 stall=$2 what=$3 step=$4 start=$SECONDS since=$SECONDS last=-1 told=$SECONDS
  settled=0
  while "$step"; do
    if [[ $left == 0 ]]; then
      settled=1
      break
    fi
    if [[ $left != "$last" ]]; then
      last=$left
      since=$SECONDS
    fi
    if ((SECONDS - since >= stall)); then
      log "$left $what task(s) unfinished and nothing moved for $stall s; going on"
      break
    fi
    if ((SECONDS - start >= limit)); then
      log "$left $what task(s) still unfinished after $limit s; going on"
      break
    fi
    if ((SECONDS - told >= 10)); then
      log "waiting for $left $what task(s) pending, queued or running"
      told=$SECONDS
    fi
    sleep 0.5
  done
  settle_seconds=$((SECONDS - start))
}
