#!/usr/bin/env bash
# The cost of the API rate limiter per request: one run, three `devorch serve` processes (embedded SQLite, role all)
# that differ only in the limiter — off (API_RATE_LIMIT_ENABLED=false), on with in-process counters, on with counters
# in Redis (REDIS_URL) — measured one after the other, in two rounds (off, local, redis, then redis, local, off) so that
# a drift of the machine weighs on every configuration alike. The request is GET /api/v1/auth/me with a token (a
# counted route that does no database work once the user is cached), so the limiter is a large share of the request.
# For each configuration and round: WARMUP seconds of load (not recorded), then `wrk --latency` for SECONDS with one
# connection (serial latency: the added cost of one request) and with CONNECTIONS connections (under load).
# The limits are far above the load (the limiter counts, never refuses).
# Results: bench/results/<UTC time>-ratelimit/results.md and the wrk outputs; about 2-3 minutes.
#
# Knobs: SECONDS_EACH (10) WARMUP (5) CONNECTIONS (16) ROUNDS (2) PORT (18280) REDIS_HOST (127.0.0.1:6379)
#   REDIS_DB (9: flushed of the run's keys at the end only by prefix) NO_BUILD=1 QUIET_SECONDS QUIET_BUSY
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

SECONDS_EACH=${SECONDS_EACH:-10}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-16}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18280}
REDIS_HOST=${REDIS_HOST:-127.0.0.1:6379}
REDIS_DB=${REDIS_DB:-9}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR=${RESULTS_DIR:-$root/bench/results/$stamp-ratelimit}
server_dll=$root/src/DevOrchestrator/bin/Release/net10.0/devorch.dll
work=$(mktemp -d "${TMPDIR:-/tmp}/devorch-ratelimit.XXXXXX")
prefix="devorch-bench-$stamp:"
pids=()
databases=()

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  stop_and_drop
  redis-cli -h "${REDIS_HOST%:*}" -p "${REDIS_HOST#*:}" -n "$REDIS_DB" --scan --pattern "${prefix}*" 2>/dev/null |
    xargs -r redis-cli -h "${REDIS_HOST%:*}" -p "${REDIS_HOST#*:}" -n "$REDIS_DB" del >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$RESULTS_DIR"
if [[ ${NO_BUILD:-0} != 1 ]]; then
  log "building src/DevOrchestrator (Release)"
  dotnet build "$root/src/DevOrchestrator" -c Release -v quiet -nologo >/dev/null
fi

# Three servers, each with its own data directory and JWT secret; one token each.
declare -A port_of token_of
names=(off local redis)
for i in "${!names[@]}"; do
  name=${names[$i]}
  use_setup "$name"
  export API_RATE_LIMIT_PER_HOUR=1000000000 API_RATE_LIMIT_ANONYMOUS_PER_HOUR=1000000000
  unset REDIS_URL REDIS_KEY_PREFIX
  case $name in
    off) export API_RATE_LIMIT_ENABLED=false ;;
    local) export API_RATE_LIMIT_ENABLED=true ;;
    redis) export API_RATE_LIMIT_ENABLED=true REDIS_URL=redis://$REDIS_HOST/$REDIS_DB REDIS_KEY_PREFIX=$prefix ;;
  esac
  create_token
  port_of[$name]=$((PORT + i))
  token_of[$name]=$token
  start_server "${port_of[$name]}"
done
unset API_RATE_LIMIT_ENABLED REDIS_URL REDIS_KEY_PREFIX

# The headers say which limiter answered: none, or a limit of 1000000000.
for name in "${names[@]}"; do
  log "$name: $(curl -s -o /dev/null -D - -H "Authorization: Bearer ${token_of[$name]}" "http://127.0.0.1:${port_of[$name]}/api/v1/auth/me" |
    tr -d '\r' | grep -i '^x-ratelimit-limit' || echo 'no X-RateLimit-Limit')"
done

load() { # name connections seconds output
  wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$3"s --latency -H "Authorization: Bearer ${token_of[$1]}" \
    "http://127.0.0.1:${port_of[$1]}/api/v1/auth/me" >"$4"
}

# wrk's "50%  1.23ms" lines, in milliseconds.
percentile() { # file label
  awk -v p="$2" '$1 == p { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.3f", v }' "$1"
}
rate() { awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$1"; }
non2xx() { awk '/Non-2xx/ { print $5; found = 1 } END { if (!found) print 0 }' "$1"; }

wait_quiet
log "machine ${quiet_busy}% busy before the run"
rows=()
for round in $(seq 1 "$ROUNDS"); do
  order=("${names[@]}")
  if ((round % 2 == 0)); then order=(redis local off); fi
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
  echo "# API rate limiter cost, $stamp"
  echo
  echo "Commit $(git -C "$root" rev-parse --short HEAD); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(free -m | awk '/^Mem:/ { print $2 }') MiB;" \
    "Redis $(redis-cli -h "${REDIS_HOST%:*}" -p "${REDIS_HOST#*:}" info server | tr -d '\r' | awk -F: '$1 == "redis_version" { print $2 }'); .NET $(dotnet --version);" \
    "machine ${quiet_busy}% busy before the run. GET /api/v1/auth/me with a token, embedded SQLite, --role all;" \
    "${SECONDS_EACH} s per measure after ${WARMUP} s of warm-up; wrk -c1 (serial) and -c$CONNECTIONS."
  echo
  echo "| round | limiter | c1 p50 ms | c1 p99 ms | c1 req/s | c$CONNECTIONS p50 ms | c$CONNECTIONS p99 ms | c$CONNECTIONS req/s | non-2xx |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >"$RESULTS_DIR/results.md"
cat "$RESULTS_DIR/results.md"
