#!/usr/bin/env bash
# Workspace preparation benchmark: the workspace plugin's `prepare` for a project's second task (the repository's
# mirror already cached under WORKSPACES_DIR and the first task's worktree released into the pool, so: fetch + the
# pooled worktree reset to the new base with checkout -f -B + clean -ffdx) against a fresh `git clone` per task
# (file://, --local, --depth 1), on a generated repository (FILES files, COMMITS commits, made with git fast-import).
# Reports median and p90 of each, the ratio, and the disk each workspace adds. Runs `devorch-bench workspaces` in a
# temporary directory under WORK_BASE, removed at the end; bounded by MAX_SECONDS (the tool gives up and kills git) and
# a hard `timeout` above it. Results: bench/results/<UTC time>-workspaces/ (workspaces.md, workspaces.jsonl).
#
# Usage: bench/workspaces.sh [more devorch-bench workspaces options]
# Knobs (environment): FILES (20000) COMMITS (3000) REPEAT (10) APPROACHES (all: worktree,worktree_add,clone_file,
#   clone_local,clone_shallow) WORK_BASE (TMPDIR or /tmp; put it on the disk WORKSPACES_DIR would use, or /dev/shm to
#   take file creation out) MAX_SECONDS (600) QUIET_SECONDS (60) QUIET_BUSY (20, percent) RESULTS_DIR
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

FILES=${FILES:-20000}
COMMITS=${COMMITS:-3000}
REPEAT=${REPEAT:-10}
APPROACHES=${APPROACHES:-worktree,worktree_add,clone_file,clone_local,clone_shallow}
WORK_BASE=${WORK_BASE:-${TMPDIR:-/tmp}}
MAX_SECONDS=${MAX_SECONDS:-600}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR=${RESULTS_DIR:-$root/bench/results/$stamp-workspaces}

bench_dll=$root/bench/DevOrchestrator.Bench/bin/Release/net10.0/devorch-bench.dll
work=$(mktemp -d "$WORK_BASE/devorch-wsbench.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

quiet_note=
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

# Waits for a quiet moment (bench/lib.sh) and records how busy the machine was.
record_quiet() {
  wait_quiet
  quiet_note=$(printf -- '- machine busy with other work before the start: %s%% of all cores (waited %s s for a quiet moment)' "$quiet_busy" "$quiet_waited")
}

main() {
  mkdir -p "$RESULTS_DIR"
  log "building (Release)"
  dotnet build -c Release bench/DevOrchestrator.Bench -v quiet -nologo >/dev/null
  record_quiet
  log "running in $work (files=$FILES commits=$COMMITS repeat=$REPEAT approaches=$APPROACHES)"
  # Exit 1 with a report of the completed repetitions when MAX_SECONDS ran out; nothing written if none completed.
  local rc=0
  timeout --kill-after=30 $((MAX_SECONDS + 60)) dotnet "$bench_dll" workspaces --files "$FILES" --commits "$COMMITS" \
    --repeat "$REPEAT" --approaches "$APPROACHES" --work-dir "$work/run" --max-seconds "$MAX_SECONDS" \
    --markdown "$RESULTS_DIR/workspaces.md" --json "$RESULTS_DIR/workspaces.jsonl" "$@" >/dev/null || rc=$?
  printf '%s\n\n' "$quiet_note" >>"$RESULTS_DIR/workspaces.md"
  log "done (exit $rc): $RESULTS_DIR/workspaces.md"
  cat "$RESULTS_DIR/workspaces.md"
  return "$rc"
}

main "$@"
