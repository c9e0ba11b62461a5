#!/usr/bin/env bash
# Agent benchmarks, in process (no server to start): the real development agent of a real host against the fake
# Anthropic server of tests/DevOrchestrator.FakeVendors.
#   1. agent-tokens: one fixed 30-call trajectory with prompt caching, output cutting and condensing, against a naive
#      full resend (and the two halves); billed input-token equivalents and dollars at claude-sonnet-4-5 prices.
#   2. agent-concurrency: AGENTS agents at once in one process, 5 model calls each, the fake answering after DELAY_MS;
#      on SQLite (the embedded default) and on PostgreSQL (a fresh database, dropped at the end).
# Every run is bounded (the tool's --max-seconds, and a hard `timeout` above it); temporary directories are removed and
# leftover devorch_bench_agents_* databases of this run dropped on exit. Results: bench/results/<UTC time>-agents/
# (agents.md, agents.jsonl, the tools' logs).
#
# Usage: bench/agents.sh
# Knobs (environment): AGENTS (500) DELAY_MS (1000) WARMUP (4) MAX_SECONDS (290) SKIP_TOKENS=1 SKIP_SQLITE=1
#   SKIP_POSTGRES=1 PG_ADMIN_URL (default DEVORCH_TEST_POSTGRES or postgresql://postgres:postgres@127.0.0.1:5432/postgres)
#   QUIET_SECONDS (60) QUIET_BUSY (20, percent) RESULTS_DIR WORK_BASE (TMPDIR or /tmp)
#   GC_SERVER (1: server GC, as `devorch serve` runs; 0: workstation)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

AGENTS=${AGENTS:-500}
DELAY_MS=${DELAY_MS:-1000}
WARMUP=${WARMUP:-4}
MAX_SECONDS=${MAX_SECONDS:-290}
GC_SERVER=${GC_SERVER:-1}
PG_ADMIN_URL=${PG_ADMIN_URL:-${DEVORCH_TEST_POSTGRES:-postgresql://postgres:postgres@127.0.0.1:5432/postgres}}
WORK_BASE=${WORK_BASE:-${TMPDIR:-/tmp}}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR=${RESULTS_DIR:-$root/bench/results/$stamp-agents}

bench_dll=$root/bench/DevOrchestrator.Bench/bin/Release/net10.0/devorch-bench.dll
work=$(mktemp -d "$WORK_BASE/devorch-agentbench.XXXXXX")
report=$RESULTS_DIR/agents.md
jsonl=$RESULTS_DIR/agents.jsonl
databases_before=
status=0

bench_databases() {
  psql "$PG_ADMIN_URL" -Atqc "select datname from pg_database where datname like 'devorch_bench_agents_%' order by 1" 2>/dev/null || true
}

cleanup() {
  local db
  rm -rf "$work"
  if [[ ${SKIP_POSTGRES:-0} != 1 ]]; then
    # A run killed by `timeout` cannot drop its own database: drop those that appeared during this run.
    while read -r db; do
      [[ -n $db ]] || continue
      grep -qx "$db" <<<"$databases_before" && continue
      psql "$PG_ADMIN_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
    done < <(bench_databases)
  fi
}
trap cleanup EXIT

# log, wait_quiet (which sets quiet_busy and quiet_waited). Followed with `shellcheck -x` from the repository root.
quiet_busy=
quiet_waited=
# shellcheck source=bench/lib.sh disable=SC1091
source "$root/bench/lib.sh"

# Waits for a quiet moment (bench/lib.sh: the other work on the machine competes for the same 2 cores) and notes how busy
# the machine was in the report.
note_quiet() {
  wait_quiet
  printf -- '- before this run the machine was %s%% busy with other work (waited %s s for a quiet moment; load average %s)\n\n' \
    "$quiet_busy" "$quiet_waited" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$report"
}

# Runs one devorch-bench subcommand, bounded; its tables go to $report, its JSON line to $jsonl, its log to NAME.log.
run_bench() {
  local name=$1
  shift
  note_quiet
  log "running $name"
  if ! timeout --kill-after=30 $((MAX_SECONDS + 60)) env DOTNET_gcServer="$GC_SERVER" dotnet "$bench_dll" "$@" \
    --max-seconds "$MAX_SECONDS" --work-dir "$work/$name" --markdown "$report" --json "$jsonl" \
    >"$RESULTS_DIR/$name.log" 2>&1; then
    log "$name failed or did not finish every agent (see $RESULTS_DIR/$name.log)"
    printf '**%s did not complete cleanly** (exit status non-zero; see %s.log)\n\n' "$name" "$name" >>"$report"
    status=1
  fi
}

main() {
  mkdir -p "$RESULTS_DIR"
  : >"$report"
  log "building (Release)"
  dotnet build -c Release bench/DevOrchestrator.Bench -v quiet -nologo >/dev/null
  if [[ ${SKIP_POSTGRES:-0} != 1 ]]; then
    databases_before=$(bench_databases)
  fi

  if [[ ${SKIP_TOKENS:-0} != 1 ]]; then
    run_bench tokens agent-tokens
  fi

  local concurrency=(agent-concurrency --agents "$AGENTS" --delay-ms "$DELAY_MS" --warmup "$WARMUP")
  if [[ ${SKIP_SQLITE:-0} != 1 ]]; then
    run_bench concurrency-sqlite "${concurrency[@]}" --database sqlite
  fi

  if [[ ${SKIP_POSTGRES:-0} != 1 ]]; then
    run_bench concurrency-postgresql "${concurrency[@]}" --database postgresql --postgres-admin-url "$PG_ADMIN_URL"
  fi

  log "done: $report"
  cat "$report"
  return "$status"
}

main "$@"
