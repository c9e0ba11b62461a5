#!/usr/bin/env bash
# Intake benchmark: how fast a real `devorch serve` acknowledges signed deliveries — Slack slash commands (Slack gives
# up after 3 s), GitHub "issue labelled" deliveries (each a new task, queued to the workers) and the same deliveries
# again (duplicates) — on the embedded default (SQLite, in-memory queue) and on PostgreSQL. No AI provider is
# configured, so the queued tasks fail at once in the workers (which still compete for the cores, as they would).
# Results: bench/results/<UTC time>/intake.md and intake.jsonl, and the servers' logs.
#
# Usage: bench/intake.sh     Knobs: INTAKE_COUNT (500) INTAKE_CONCURRENCY (8) PORT (18090) SKIP_POSTGRES=1
#   PG_ADMIN_URL (postgresql://postgres:postgres@127.0.0.1:5432) QUIET_SECONDS QUIET_BUSY RESULTS_DIR
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

INTAKE_COUNT=${INTAKE_COUNT:-500}
INTAKE_CONCURRENCY=${INTAKE_CONCURRENCY:-8}
PORT=${PORT:-18090}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql://postgres:postgres@127.0.0.1:5432}
RESULTS_DIR=${RESULTS_DIR:-$root/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
server_dll=$root/src/DevOrchestrator/bin/Release/net10.0/devorch.dll
bench_dll=$root/bench/DevOrchestrator.Bench/bin/Release/net10.0/devorch-bench.dll
work=$(mktemp -d "${TMPDIR:-/tmp}/devorch-intake.XXXXXX")
server_pid=""
database=""
mkdir -p "$RESULTS_DIR"

cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ -n $database ]]; then
    psql "$PG_ADMIN_URL/postgres" -qc "drop database if exists \"$database\" with (force)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

log "building (Release)"
dotnet build -c Release -v q --nologo src/DevOrchestrator >/dev/null
dotnet build -c Release -v q --nologo bench/DevOrchestrator.Bench >/dev/null

run_setup() {
  local name=$1 database_url=${2:-}
  local dir=$work/$name
  mkdir -p "$dir/data" "$dir/workspaces"
  export DATA_DIR=$dir/data WORKSPACES_DIR=$dir/workspaces LOG_LEVEL=warning
  export SLACK_SIGNING_SECRET=bench-slack-secret GITHUB_WEBHOOK_SECRET=bench-github-secret
  JWT_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  export JWT_SECRET_KEY
  if [[ -n $database_url ]]; then export DATABASE_URL=$database_url DB_AUTO_MIGRATE=true; else unset DATABASE_URL DB_AUTO_MIGRATE; fi
  dotnet "$server_dll" serve --urls "http://127.0.0.1:$PORT" >"$RESULTS_DIR/intake-server-$name.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break
    sleep 0.5
  done
  dotnet "$server_dll" user create --email bench@example.com --role admin --password benchpass123 >/dev/null
  local token
  token=$(dotnet "$server_dll" token create --email bench@example.com)
  curl -fs -X POST "http://127.0.0.1:$PORT/api/v1/projects" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"name":"bench","repository_url":"https://github.com/acme/bench","slack_channel":"C0BENCH"}' >/dev/null
  quiet_busy=0
  wait_quiet
  log "$name: ${INTAKE_COUNT} deliveries per kind, concurrency ${INTAKE_CONCURRENCY} (machine ${quiet_busy}% busy before)"
  dotnet "$bench_dll" intake --server "http://127.0.0.1:$PORT" --slack-secret bench-slack-secret --github-secret bench-github-secret \
    --channel C0BENCH --repository acme/bench --count "$INTAKE_COUNT" --concurrency "$INTAKE_CONCURRENCY" \
    --label "intake, $name (machine ${quiet_busy}% busy before)" --json "$RESULTS_DIR/intake.jsonl" --markdown "$RESULTS_DIR/intake.md"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

run_setup "embedded SQLite"
if [[ ${SKIP_POSTGRES:-0} != 1 ]]; then
  database="devorch_intake_$(date +%s)"
  psql "$PG_ADMIN_URL/postgres" -qc "create database \"$database\"" >/dev/null
  run_setup "PostgreSQL" "$PG_ADMIN_URL/$database"
fi
log "results: $RESULTS_DIR/intake.md"
