#!/usr/bin/env bash
# The cost of an API key against a JWT per request: one `devorch serve` (embedded SQLite, role all), one admin user,
# GET /api/v1/auth/me with `Authorization: Bearer <JWT>` and with `Authorization: Bearer dvo_…` (the same user), in two
# rounds (jwt, key, then key, jwt) so that a drift of the machine weighs on both alike. /auth/me does no database work
# once the user (and the key) are cached, so the authentication is a large share of the request. For each: WARMUP
# seconds of load (not recorded), then `wrk --latency` for SECONDS_EACH with one connection (serial latency) and with
# CONNECTIONS connections (under load). Results: bench/results/<UTC time>-apikeys/results.md; about 2 minutes.
#
# Knobs: SECONDS_EACH (10) WARMUP (5) CONNECTIONS (16) ROUNDS (2) PORT (18377) CONFIGURATION (Release) NO_BUILD=1
#   QUIET_SECONDS QUIET_BUSY
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

SECONDS_EACH=${SECONDS_EACH:-10}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-16}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18377}
CONFIGURATION=${CONFIGURATION:-Release}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR=${RESULTS_DIR:-$root/bench/results/$stamp-apikeys}
server_dll=$root/src/DevOrchestrator/bin/$CONFIGURATION/net10.0/devorch.dll
work=$(mktemp -d "${TMPDIR:-/tmp}/devorch-apikeys.XXXXXX")
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
  log "building src/DevOrchestrator ($CONFIGURATION)"
  dotnet build "$root/src/DevOrchestrator" -c "$CONFIGURATION" -v quiet -nologo >/dev/null
fi

use_setup apikeys
create_token
start_server "$PORT"
url="http://127.0.0.1:$PORT"
created=$(curl -s -X POST "$url/api/v1/auth/api-keys" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name": "bench"}')
key=$(jq -r .data.key <<<"$created")
[[ $key == dvo_* ]] || { log "cannot create an API key: $created"; exit 1; }
declare -A bearer_of=([jwt]=$token [key]=$key)
for name in jwt key; do
  log "$name: $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${bearer_of[$name]}" "$url/api/v1/auth/me")"
done

load() { # name connections seconds output
  wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$3"s --latency -H "Authorization: Bearer ${bearer_of[$1]}" "$url/api/v1/auth/me" >"$4"
}

percentile() { # file label → milliseconds
  awk -v p="$2" '$1 == p { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.3f", v }' "$1"
}
rate() { awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$1"; }
non2xx() { awk '/Non-2xx/ { print $5; found = 1 } END { if (!found) print 0 }' "$1"; }

wait_quiet
log "machine ${quiet_busy}% busy before the run"
rows=()
for round in $(seq 1 "$ROUNDS"); do
  order=(jwt key)
  if ((round % 2 == 0)); then order=(key jwt); fi
  for name in "${order[@]}"; do
    load "$name" "$CONNECTIONS" "$WARMUP" /dev/null
    serial=$RESULTS_DIR/wrk-$name-round$round-c1.txt
    loaded=$RESULTS_DIR/wrk-$name-round$round-c$CONNECTIONS.txt
    load "$name" 1 "$SECONDS_EACH" "$serial"
    load "$name" "$CONNECTIONS" "$SECONDS_EACH" "$loaded"
    rows+=("| $round | $name | $(percentile "$serial" 50%) | $(percentile "$serial" 99%) | $(rate "$serial") | $(percentile "$loaded" 50%) | $(percentile "$loaded" 99%) | $(rate "$loaded") | $(($(non2xx "$serial") + $(non2xx "$loaded"))) |")
    log "round $round $name done"
  done
done

{
  echo "# API key vs JWT per request, $stamp"
  echo
  echo "Commit $(git -C "$root" rev-parse --short HEAD) ($CONFIGURATION); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(free -m | awk '/^Mem:/ { print $2 }') MiB;" \
    ".NET $(dotnet --version); machine ${quiet_busy}% busy before the run. GET /api/v1/auth/me, embedded SQLite, --role all;" \
    "${SECONDS_EACH} s per measure after ${WARMUP} s of warm-up; wrk -c1 (serial) and -c$CONNECTIONS."
  echo
  echo "| round | bearer | c1 p50 ms | c1 p99 ms | c1 req/s | c$CONNECTIONS p50 ms | c$CONNECTIONS p99 ms | c$CONNECTIONS req/s | non-2xx |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >"$RESULTS_DIR/results.md"
cat "$RESULTS_DIR/results.md"
