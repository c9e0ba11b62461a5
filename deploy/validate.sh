#!/usr/bin/env bash
# Runs every deployment check in deploy/checks/ (each installs what it needs from Debian or npm) and prints one line
# per check: "PASS <name> (<seconds>s)" or "FAIL <name> (<seconds>s)" followed by the check's output. Exits 1 when any
# check fails. Run from anywhere: bash deploy/validate.sh [name ...] (names select checks, e.g. "compose").
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 1
failed=0
selected=("$@")
for check in deploy/checks/*.sh; do
  [ -e "$check" ] || continue
  name="$(basename "$check" .sh)"
  if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " == *" $name "* ]]; then
    continue
  fi
  log="$(mktemp)"
  start=$SECONDS
  if bash "$check" >"$log" 2>&1; then
    echo "PASS $name ($((SECONDS - start))s)"
  else
    echo "FAIL $name ($((SECONDS - start))s)"
    sed 's/^/    /' "$log" | tail -n 60
    failed=1
  fi
  rm -f "$log"
done
exit $failed
