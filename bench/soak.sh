#!/usr/bin/env bash
# The fault soak of issue 10: TASKS tasks on PostgreSQL + Redis with one `devorch serve --role api` process and
# WORKERS `--role worker` processes, while the script
#   - kills a worker with SIGKILL every KILL_EVERY seconds (the next ready one, round robin) and starts it again at once,
#   - restarts Redis once (a redis-server of its own on REDIS_PORT, stopped for REDIS_DOWN seconds, its data lost),
#   - drops every PostgreSQL connection to the soak's database once (pg_terminate_backend);
# then waits for the tasks to settle and checks, black-box (the API, the database, the git repository, the processes):
#   1. every create was answered 201 in the end (each with an Idempotency-Key, retried on errors and time-outs) and
#      made exactly one task;
#   2. every task is completed: none failed, none left pending, queued or running;
#   3. none finished twice: exactly one task.status_update event with status completed per task;
#   4. no duplicate side effect: each task's workflow (the built-in run_command_workflow: prepare, run a command that
#      writes a file, commit, push) pushed its branch to a local bare repository exactly once — the branch exists and
#      holds exactly one commit above main — and the repository has no other task branch;
#   5. no crash loop: no worker or api process exited by itself, every restarted worker became ready, and no log has
#      an unhandled exception or a fatal entry.
# Any violation: a clear message and exit status 1. It does not depend on how the queue works inside.
# Everything listens on 127.0.0.1; every wait is bounded; on exit the processes it started are stopped, the database
# dropped and the temporary files (repository, workspaces) removed. Results: bench/results/<UTC time>-soak/
# (summary.md, the processes' logs, creates.tsv, tasks.tsv, steps.tsv).
#
# Usage: bench/soak.sh                        (300 tasks, 3 minutes of faults, then the settle; about 6-10 minutes)
#        TASKS=60 DURATION=60 bench/soak.sh   (the short form, for CI)
# Knobs (environment): TASKS (300) DURATION (180: seconds of faults; tasks are created over the first 3/4 of it)
#   WORKERS (3) KILL_EVERY (5 s) REDIS_DOWN (3 s) READY_SECONDS (60: a started worker must answer /health/ready
#   by then) SETTLE_SECONDS (300) STALL_SECONDS (120: give up settling when
#   nothing moved for that long) PORT (18400; uses PORT..PORT+WORKERS) REDIS_PORT (16390) NO_BUILD=1
#   KEEP_DATABASES=1 PG_ADMIN_URL (postgresql://postgres:postgres@127.0.0.1:5432) PG_URL_QUERY (Npgsql settings
#   appended to DATABASE_URL) RESULTS_DIR. (Not SECONDS: bash's own variable.)
# Needs: psql, redis-server, redis-cli, git, curl.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

TASKS=${TASKS:-300}
DURATION=${DURATION:-180}
WORKERS=${WORKERS:-3}
KILL_EVERY=${KILL_EVERY:-5}
REDIS_DOWN=${REDIS_DOWN:-3}
SETTLE_SECONDS=${SETTLE_SECONDS:-300}
READY_SECONDS=${READY_SECONDS:-60}
STALL_SECONDS=${STALL_SECONDS:-120}
PORT=${PORT:-18400}
REDIS_PORT=${REDIS_PORT:-16390}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql://postgres:postgres@127.0.0.1:5432}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
RESULTS_DIR=${RESULTS_DIR:-$root/bench/results/$stamp-soak}
server_dll=$root/src/DevOrchestrator/bin/Release/net10.0/devorch.dll
work=$(mktemp -d "${TMPDIR:-/tmp}/devorch-soak.XXXXXX")
pids=()
databases=()
redis_pid=
creator_pid=
worker_pid=()
worker_runs=()
worker_since=()
worker_ready=()
violations=()
kills=0
self_exits=0
failed_starts=0
unset REDIS_URL DATABASE_URL

cleanup() {
  if [[ -n $creator_pid ]]; then
    kill "$creator_pid" 2>/dev/null || true
    wait "$creator_pid" 2>/dev/null || true
  fi
  stop_and_drop
  stop_redis
  rm -rf "$work"
}
trap cleanup EXIT

violation() {
  violations+=("$*")
  log "VIOLATION: $*"
}

sql() { psql "$db_url" -XAtq -F $'\t' -c "$1"; }

# --- Redis of its own, so that restarting it disturbs nobody ---
start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    >>"$RESULTS_DIR/redis.log" 2>&1 &
  redis_pid=$!
  local _
  for _ in $(seq 1 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "redis-server on :$REDIS_PORT did not start; its log:"
  tail -n 5 "$RESULTS_DIR/redis.log" >&2
  exit 1
}

stop_redis() {
  if [[ -n $redis_pid ]]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=
  fi
}

# --- processes ---
forget_pid() {
  local pid=$1 kept=() p
  for p in "${pids[@]}"; do
    [[ $p == "$pid" ]] || kept+=("$p")
  done
  pids=("${kept[@]}")
}

# Starts worker $1 (again) without waiting for it: a log per run, worker-N-RUN.log; watch_processes sees it ready.
start_worker() {
  local n=$1
  worker_runs[n]=$((${worker_runs[n]:-0} + 1))
  dotnet "$server_dll" serve --urls "http://127.0.0.1:$((PORT + n))" --role worker \
    >"$RESULTS_DIR/worker-$n-${worker_runs[n]}.log" 2>&1 &
  worker_pid[n]=$!
  pids+=("$!")
  worker_since[n]=$SECONDS
  worker_ready[n]=0
}

kill_worker() {
  local n=$1 pid=${worker_pid[$1]:-}
  [[ -n $pid ]] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
  worker_pid[n]=
}

# A worker or the api process that is gone although the script did not kill it is a violation, and so is a worker
# not ready READY_SECONDS after its start; such a worker is started again (the soak goes on). The api process is not
# restarted (nothing could be created or read): returns 1.
watch_processes() {
  local n status
  for n in $(seq 1 "$WORKERS"); do
    if [[ -n ${worker_pid[n]:-} ]] && ! kill -0 "${worker_pid[n]}" 2>/dev/null; then
      status=0
      wait "${worker_pid[n]}" 2>/dev/null || status=$?
      self_exits=$((self_exits + 1))
      violation "worker $n (run ${worker_runs[n]}) exited by itself with status $status (worker-$n-${worker_runs[n]}.log): $(tail -n 1 "$RESULTS_DIR/worker-$n-${worker_runs[n]}.log" | cut -c1-300)"
      forget_pid "${worker_pid[n]}"
      worker_pid[n]=
    elif [[ -n ${worker_pid[n]:-} && ${worker_ready[n]} == 0 ]]; then
      if curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$((PORT + n))/health/ready"; then
        worker_ready[n]=1
        log "worker $n (run ${worker_runs[n]}, pid ${worker_pid[n]}) ready after $((SECONDS - worker_since[n])) s"
      elif ((SECONDS - worker_since[n] > READY_SECONDS)); then
        failed_starts=$((failed_starts + 1))
        violation "worker $n (run ${worker_runs[n]}) not ready $READY_SECONDS s after its start: see worker-$n-${worker_runs[n]}.log"
        kill_worker "$n"
      fi
    fi
    if [[ -z ${worker_pid[n]:-} ]]; then
      start_worker "$n"
    fi
  done
  if ! kill -0 "$api_pid" 2>/dev/null; then
    violation "the api process exited by itself: see api.log"
    return 1
  fi
}

# Waits (at most READY_SECONDS) until every worker is ready.
workers_ready() {
  local n all _
  for _ in $(seq 1 $((READY_SECONDS * 2))); do
    watch_processes
    all=1
    for n in $(seq 1 "$WORKERS"); do
      [[ ${worker_ready[n]} == 1 ]] || all=0
    done
    ((all == 1)) && return 0
    sleep 0.5
  done
  log "the workers did not all become ready in $READY_SECONDS s"
  return 1
}

# --- the tasks: a project on a local bare repository, the built-in run_command_workflow ---
make_repository() {
  origin=$work/origin.git
  git init -q --bare -b main "$origin"
  git clone -q "$origin" "$work/seed" 2>/dev/null
  printf 'soak\n' >"$work/seed/README.md"
  git -C "$work/seed" add README.md
  git -C "$work/seed" -c user.name=soak -c user.email=soak@localhost commit -qm "initial"
  git -C "$work/seed" push -q origin HEAD:main
  rm -rf "$work/seed"
}

api() {
  local method=$1 path=$2
  shift 2
  curl -s --max-time 30 -X "$method" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@" \
    "http://127.0.0.1:$PORT$path"
}

create_project() {
  local answer
  answer=$(api POST /api/v1/projects -d "{\"name\":\"soak\",\"repository_url\":\"$origin\",\"default_branch\":\"main\"}")
  project_id=$(printf '%s' "$answer" | sed -nE 's/.*"data":\{"id":([0-9]+).*/\1/p')
  if [[ -z $project_id ]]; then
    log "could not create the project: $answer"
    exit 1
  fi
}

# Creates the tasks at an even pace over the first 3/4 of DURATION, each with an Idempotency-Key and up to 6 tries
# (errors and time-outs are what the faults cause). One line per task in creates.tsv: N, last HTTP status, tries, id.
create_tasks() {
  local pause n try code answer id
  pause=$(awk -v d="$DURATION" -v n="$TASKS" 'BEGIN { printf "%.3f", d * 0.75 / n }')
  for n in $(seq 1 "$TASKS"); do
    code=000 id=
    for try in 1 2 3 4 5 6; do
      answer=$(api POST /api/v1/tasks -H "Idempotency-Key: soak-$stamp-$n" -w '\n%{http_code}' -d \
        "{\"title\":\"soak $n\",\"project_id\":$project_id,\"workflow\":\"run_command_workflow\",\"variables\":{\"command\":\"date +%s%N > soak-effect.txt\"},\"auto_start\":true}" ||
        true)
      code=${answer##*$'\n'}
      if [[ $code == 201 ]]; then
        id=$(printf '%s' "$answer" | sed -nE 's/.*"data":\{"id":([0-9]+).*/\1/p' | head -n1)
        break
      fi
      sleep "$try"
    done
    printf '%s\t%s\t%s\t%s\n' "$n" "$code" "$try" "$id" >>"$RESULTS_DIR/creates.tsv"
    sleep "$pause"
  done
}

unfinished() { sql "select count(*) from tasks where status in ('pending', 'queued', 'running')"; }

# --- the soak ---
# The next worker after $1, round robin, that is ready (up and serving); fails when none is. Starting workers are
# spared: a start takes 10-20 s on a loaded 2-core machine, and killing them too would leave no worker at all.
next_victim() {
  local n=$1 _
  for _ in $(seq 1 "$WORKERS"); do
    n=$((n % WORKERS + 1))
    if [[ ${worker_ready[n]} == 1 ]]; then
      echo "$n"
      return 0
    fi
  done
  return 1
}

faults() {
  local start=$SECONDS next_kill=$((SECONDS + KILL_EVERY)) victim=0 redis_at=$((SECONDS + DURATION / 3))
  local pg_at=$((SECONDS + 2 * DURATION / 3)) redis_done=0 pg_done=0 now pick
  while :; do
    now=$SECONDS
    watch_processes || return 1
    if ((now >= next_kill && now - start < DURATION)) && pick=$(next_victim "$victim"); then
      victim=$pick
      log "SIGKILL worker $victim (pid ${worker_pid[victim]}); $(unfinished) task(s) unfinished"
      kill_worker "$victim"
      kills=$((kills + 1))
      start_worker "$victim"
      next_kill=$((now + KILL_EVERY))
    fi
    if ((redis_done == 0 && now >= redis_at)); then
      log "restarting Redis (down for $REDIS_DOWN s, its data lost)"
      redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
      wait "$redis_pid" 2>/dev/null || true
      sleep "$REDIS_DOWN"
      start_redis
      redis_done=1
    fi
    if ((pg_done == 0 && now >= pg_at)); then
      terminated=$(sql "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = '$db_name' and pid <> pg_backend_pid()")
      log "dropped $terminated PostgreSQL connection(s) to $db_name"
      pg_done=1
    fi
    if ((now - start >= DURATION && redis_done == 1 && pg_done == 1)) && ! kill -0 "$creator_pid" 2>/dev/null; then
      break
    fi
    if ((now - start >= DURATION + 300)); then
      violation "creating $TASKS tasks took more than DURATION + 300 s"
      break
    fi
    sleep 1
  done
}

# One look while settling: the processes are watched (and restarted), `left` counts the unfinished tasks.
settle_step() {
  watch_processes || return 1
  left=$(unfinished)
}

# --- the checks ---
# The steps of the tasks $@ as "task N: name status (attempts, committed/pushed), …".
steps_of() {
  local ids
  ids=$(IFS=,; echo "$*")
  sql "select string_agg(line, '; ') from (select 'task ' || e.task_id || ': ' || string_agg(s.name || ' ' || s.status || ' (' || s.attempts
         || coalesce(', committed=' || (s.outputs::jsonb ->> 'committed'), '') || coalesce(', pushed=' || (s.outputs::jsonb ->> 'pushed'), '')
         || ')', ', ' order by e.id, s.index) line
       from workflow_executions e join workflow_steps s on s.workflow_execution_id = e.id where e.task_id in ($ids) group by e.task_id) t"
}

check() {
  local bad
  # 1. every create answered 201 in the end, and made one task
  bad=$(awk -F'\t' '$2 != 201 { printf "%s (HTTP %s after %s tries) ", $1, $2, $3 }' "$RESULTS_DIR/creates.tsv")
  [[ -z $bad ]] || violation "creates not answered 201 after retries: $bad"
  local answered
  answered=$(wc -l <"$RESULTS_DIR/creates.tsv")
  ((answered == TASKS)) || violation "only $answered of $TASKS creates were attempted"
  bad=$(sql "select string_agg(title || ' x' || n, ', ') from (select title, count(*) n from tasks group by title having count(*) > 1) d")
  [[ -z $bad ]] || violation "a create made more than one task: $bad"

  # 2. every task completed
  sql "select id, title, status, attempts, coalesce(branch, ''), created_at, started_at, completed_at, coalesce(left(replace(error, E'\n', ' '), 300), '')
       from tasks order by id" >"$RESULTS_DIR/tasks.tsv"
  sql "select e.task_id, e.id, s.index, s.name, s.status, s.attempts, s.started_at, s.completed_at, coalesce(left(replace(s.error, E'\n', ' '), 300), ''),
         coalesce(s.outputs::jsonb ->> 'committed', ''), coalesce(s.outputs::jsonb ->> 'commit_sha', ''), coalesce(s.outputs::jsonb ->> 'pushed', '')
       from workflow_executions e join workflow_steps s on s.workflow_execution_id = e.id order by e.task_id, e.id, s.index" >"$RESULTS_DIR/steps.tsv"
  statuses=$(sql "select string_agg(status || ' ' || n, ', ') from (select status, count(*) n from tasks group by status order by status) s")
  bad=$(sql "select string_agg(id || ' ' || status, ', ') from tasks where status in ('pending', 'queued', 'running')")
  [[ -z $bad ]] || violation "tasks left unfinished (id status): $bad"
  bad=$(sql "select string_agg(id || ' ' || status || ': ' || coalesce(left(error, 200), ''), '; ') from tasks where status not in ('pending', 'queued', 'running', 'completed')")
  [[ -z $bad ]] || violation "tasks that did not complete (id status: error): $bad"

  # 3. none completed twice
  bad=$(sql "select string_agg(task_id || ' x' || n, ', ') from (select t.id task_id, count(e.id) n from tasks t
               left join events e on e.task_id = t.id and e.type = 'task.status_update' and (e.payload::jsonb ->> 'status') = 'completed'
               where t.status = 'completed' group by t.id having count(e.id) <> 1) d")
  [[ -z $bad ]] || violation "completed tasks without exactly one 'completed' status event (task xN): $bad"

  # 4. each task's branch pushed once, with exactly one commit above main; no other task branch
  local id branch count missing=() extra=() branches
  while IFS=$'\t' read -r id branch; do
    if [[ -z $branch ]] || ! git -C "$origin" rev-parse -q --verify "refs/heads/$branch" >/dev/null; then
      missing+=("$id${branch:+ ($branch)}")
      continue
    fi
    count=$(git -C "$origin" rev-list --count "main..refs/heads/$branch")
    ((count == 1)) || extra+=("$id: $count commits on $branch")
  done < <(sql "select id, coalesce(branch, '') from tasks where status = 'completed' order by id")
  ((${#missing[@]} == 0)) || violation "completed tasks whose branch is not in the repository: ${missing[*]}; their steps: $(steps_of "${missing[@]%% *}")"
  ((${#extra[@]} == 0)) || violation "task branches with other than one commit above main: ${extra[*]}; their steps: $(steps_of "${extra[@]%%:*}")"
  branches=$(git -C "$origin" for-each-ref --format='%(refname:short)' refs/heads | grep -cv '^main$' || true)
  tasks=$(sql "select count(*) from tasks")
  ((branches == tasks)) || violation "the repository has $branches task branches for $tasks tasks"
  pushes=$branches

  # 5. no crash loop, no unhandled exception
  local file
  for file in "$RESULTS_DIR"/api.log "$RESULTS_DIR"/worker-*.log; do
    [[ -f $file ]] || continue
    if grep -qE 'Unhandled exception|"@l":"Fatal"|Host terminated unexpectedly' "$file"; then
      violation "$(basename "$file") logs an unhandled exception or a fatal error: $(grep -m1 -E 'Unhandled exception|"@l":"Fatal"|Host terminated unexpectedly' "$file" | cut -c1-300)"
    fi
  done
}

summary() {
  local executions attempts latency
  executions=$(sql "select count(*) from workflow_executions")
  attempts=$(sql "select coalesce(max(attempts), 0) || ' (max), ' || coalesce(sum(attempts), 0) || ' (sum)' from tasks")
  latency=$(sql "select coalesce(round(extract(epoch from percentile_cont(0.5) within group (order by completed_at - created_at))::numeric, 1)::text, '?')
      || ' s p50, ' || coalesce(round(extract(epoch from max(completed_at - created_at))::numeric, 1)::text, '?') || ' s max' from tasks where status = 'completed'")
  {
    printf '# DevOrchestrator fault soak — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf -- '- commit %s; %s cores; PostgreSQL + Redis (own redis-server :%s); 1 api process, %s worker processes\n' \
      "$commit" "$(nproc)" "$REDIS_PORT" "$WORKERS"
    printf -- '- %s tasks (run_command_workflow: prepare, run, commit, push to a local bare repository), created over %s s\n' \
      "$TASKS" $((DURATION * 3 / 4))
    printf -- '- faults for %s s: %s worker SIGKILLs (every %s s, restarted at once), Redis restarted once (down %s s), %s PostgreSQL connection(s) terminated once\n' \
      "$DURATION" "$kills" "$KILL_EVERY" "$REDIS_DOWN" "${terminated:-0}"
    printf -- '- settled %s s after the faults; tasks by status: %s\n' "${settle_seconds:-?}" "${statuses:-?}"
    printf -- '- create tries beyond the first: %s; claims (attempts): %s; workflow executions: %s; task branches pushed: %s\n' \
      "$(awk -F'\t' '{ s += $3 - 1 } END { print s + 0 }' "$RESULTS_DIR/creates.tsv")" "$attempts" "$executions" "${pushes:-?}"
    printf -- '- created → completed: %s\n' "$latency"
    printf -- '- workers that exited by themselves: %s; worker starts that failed: %s\n\n' "$self_exits" "$failed_starts"
    if ((${#violations[@]} == 0)); then
      printf '**PASS**: every task completed once, one push each, no crash loop.\n'
    else
      printf '**FAIL**: %s violation(s)\n\n' "${#violations[@]}"
      printf -- '- %s\n' "${violations[@]}"
    fi
  } >"$RESULTS_DIR/summary.md"
  cat "$RESULTS_DIR/summary.md"
}

main() {
  mkdir -p "$RESULTS_DIR"
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    log "something already listens on :$REDIS_PORT; choose another REDIS_PORT"
    exit 1
  fi
  if [[ ${NO_BUILD:-0} != 1 ]]; then
    log "building (Release)"
    dotnet build -c Release src/DevOrchestrator -v quiet -nologo >/dev/null
  fi
  start_redis
  export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
  postgres_setup soak
  db_name=${databases[-1]}
  db_url=$PG_ADMIN_URL/$db_name
  make_repository

  server_log=$RESULTS_DIR/api.log
  start_server "$PORT" --role api
  unset server_log
  api_pid=$server_pid
  local n
  for n in $(seq 1 "$WORKERS"); do
    start_worker "$n"
  done
  workers_ready || exit 1
  create_project
  log "soak: $TASKS tasks over $((DURATION * 3 / 4)) s, faults for $DURATION s, $WORKERS workers"
  create_tasks &
  creator_pid=$!
  if faults; then
    wait "$creator_pid" 2>/dev/null || true
    creator_pid=
    log "faults over; waiting for $(unfinished) unfinished task(s) to settle (at most $SETTLE_SECONDS s)"
    wait_done "$SETTLE_SECONDS" "$STALL_SECONDS" soak settle_step
  fi
  check
  summary
  ((${#violations[@]} == 0))
}

main "$@"
