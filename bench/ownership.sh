#!/usr/bin/env bash
# The cost of ownership (issue 15) on a task list: GET /api/v1/tasks?per_page=20 as an admin (no filter) and as a
# member (filtered in SQL by project_members), on one `devorch serve` (role all) on a fresh PostgreSQL database seeded
# with PROJECTS projects of TASKS_PER_PROJECT tasks each; the member belongs to MEMBER_OF of the projects. For each
# caller: WARMUP seconds of load (not recorded), then `wrk --latency` for SECONDS_EACH with one connection (serial
# latency) and with CONNECTIONS connections, in two rounds (admin, member, then member, admin). Also records the
# PostgreSQL plan of the member's page query.
# Results: bench/results/<UTC time>-ownership/results.md and the wrk outputs; about 2 minutes.
#
# Knobs: PROJECTS (100) TASKS_PER_PROJECT (200) MEMBER_OF (10) SECONDS_EACH (10) WARMUP (5) CONNECTIONS (8) PORT (18290)
#   PG_ADMIN_URL (postgresql://postgres:postgres@127.0.0.1:5432) NO_BUILD=1 QUIET_SECONDS QUIET_BUSY
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

PROJECTS=${PROJECTS:-100}
TASKS_PER_PROJECT=${TASKS_PER_PROJECT:-200}
MEMBER_OF=${MEMBER_OF:-10}
SECONDS_EACH=${SECONDS_EACH:-10}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-8}
PORT=${PORT:-18290}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql://postgres:postgres@127.0.0.1:5432}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR=${RESULTS_DIR:-$root/bench/results/$stamp-ownership}
server_dll=$root/src/DevOrchestrator/bin/Release/net10.0/devorch.dll
work=$(mktemp -d "${TMPDIR:-/tmp}/devorch-ownership.XXXXXX")
pids=()
databases=()

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  stop_and_drop
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$RESULTS_DIR"
if [[ ${NO_BUILD:-0} != 1 ]]; then
  log "building src/DevOrchestrator (Release)"
  dotnet build "$root/src/DevOrchestrator" -c Release -v quiet -nologo >/dev/null
fi

postgres_setup ownership # migrated, admin bench@example.com with $token
admin_token=$token
devorch user create --email member@example.com --role operator --password benchpass123 >/dev/null
member_token=$(devorch token create --email member@example.com)
db_url=$PG_ADMIN_URL/${databases[0]}

log "seeding $PROJECTS projects x $TASKS_PER_PROJECT tasks; the member is in $MEMBER_OF of them"
psql "$db_url" -q -v ON_ERROR_STOP=1 <<SQL
insert into projects (name, default_branch, tech_stack, setup_commands, created_at, updated_at)
  select 'project-' || p, 'main', '{}', '{}', now(), now() from generate_series(1, $PROJECTS) p;
insert into tasks (project_id, title, status, source, priority, workflow, agent_type, kind, cost_micros, cost_reserved_micros,
                   attempts, created_by_user_id, created_at, updated_at)
  select p.id, 'task ' || t, 'completed', 'api', 'medium', 'standard_dev_workflow', 'development', 'task', 0, 0, 1,
         (select id from users where email = 'bench@example.com'), now() - (t || ' seconds')::interval, now()
  from projects p cross join generate_series(1, $TASKS_PER_PROJECT) t;
insert into project_members (project_id, user_id, role, created_at, updated_at)
  select p.id, u.id, 'developer', now(), now() from (select id from projects order by id limit $MEMBER_OF) p, users u where u.email = 'member@example.com';
analyze;
SQL

start_server "$PORT"
url="http://127.0.0.1:$PORT/api/v1/tasks?per_page=20"
admin_total=$(curl -s -H "Authorization: Bearer $admin_token" "$url" | jq .pagination.total)
member_total=$(curl -s -H "Authorization: Bearer $member_token" "$url" | jq .pagination.total)
log "admin sees $admin_total tasks, the member $member_total"

member_id=$(psql "$db_url" -Atc "select id from users where email = 'member@example.com'")
psql "$db_url" -Atc "explain (analyze, costs off, timing off, summary on) select * from tasks t
  where (t.project_id is null and t.created_by_user_id = $member_id)
     or t.project_id in (select project_id from project_members where user_id = $member_id)
  order by t.created_at desc, t.id desc limit 20" >"$RESULTS_DIR/member-plan.txt"

load() { # token connections seconds output
  wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$3"s --latency -H "Authorization: Bearer $1" "$url" >"$4"
}
percentile() { # file label
  awk -v p="$2" '$1 == p { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.3f", v }' "$1"
}
rate() { awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$1"; }
non2xx() { awk '/Non-2xx/ { print $5; found = 1 } END { if (!found) print 0 }' "$1"; }

wait_quiet
log "machine ${quiet_busy}% busy before the run"
declare -A token_of=([admin]=$admin_token [member]=$member_token)
rows=()
for round in 1 2; do
  order=(admin member)
  if ((round == 2)); then order=(member admin); fi
  for who in "${order[@]}"; do
    load "${token_of[$who]}" "$CONNECTIONS" "$WARMUP" /dev/null
    serial=$RESULTS_DIR/wrk-$who-round$round-c1.txt
    loaded=$RESULTS_DIR/wrk-$who-round$round-c$CONNECTIONS.txt
    load "${token_of[$who]}" 1 "$SECONDS_EACH" "$serial"
    load "${token_of[$who]}" "$CONNECTIONS" "$SECONDS_EACH" "$loaded"
    rows+=("| $round | $who | $(percentile "$serial" 50%) | $(percentile "$serial" 99%) | $(rate "$serial") | $(percentile "$loaded" 50%) | $(percentile "$loaded" 99%) | $(rate "$loaded") | $(($(non2xx "$serial") + $(non2xx "$loaded"))) |")
    log "round $round $who done"
  done
done

{
  echo "# Task list as admin and as member, $stamp"
  echo
  echo "Commit $(git -C "$root" rev-parse --short HEAD); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(free -m | awk '/^Mem:/ { print $2 }') MiB;" \
    "PostgreSQL $(psql "$db_url" -Atc 'show server_version'); .NET $(dotnet --version); machine ${quiet_busy}% busy before the run." \
    "GET /api/v1/tasks?per_page=20, --role all; $PROJECTS projects x $TASKS_PER_PROJECT tasks ($admin_total seen by the admin," \
    "$member_total by the member, who is in $MEMBER_OF projects); ${SECONDS_EACH} s per measure after ${WARMUP} s of warm-up; wrk -c1 and -c$CONNECTIONS."
  echo
  echo "| round | caller | c1 p50 ms | c1 p99 ms | c1 req/s | c$CONNECTIONS p50 ms | c$CONNECTIONS p99 ms | c$CONNECTIONS req/s | non-2xx |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "The member's page query in PostgreSQL:"
  echo
  echo '```'
  cat "$RESULTS_DIR/member-plan.txt"
  echo '```'
} >"$RESULTS_DIR/results.md"
cat "$RESULTS_DIR/results.md"
