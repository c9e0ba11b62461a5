# shellcheck shell=bash
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
