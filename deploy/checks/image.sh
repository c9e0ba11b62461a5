#!/usr/bin/env bash
# Builds the Dockerfile for real with buildah (no Docker engine and no registry here) and runs the image:
#   1. base images: the FROM lines' mcr.microsoft.com/dotnet/sdk:10.0 and aspnet:10.0 cannot be pulled, so they are
#      assembled locally from a Debian bookworm root filesystem (debootstrap from the machine's Debian mirror) plus this
#      machine's .NET SDK / runtime, and tagged with those names; kept in buildah's storage and rebuilt only when the
#      host's .NET changes;
#   2. buildah build --isolation chroot --pull=never --format docker (restore from NuGet inside the SDK stage, apt inside
#      the runtime stage);
#   3. the image's configuration (user 1000, /app, entrypoint, health check), the tools tasks need, `devorch --help`,
#      and `devorch serve` answering /health/live from the host (chroot isolation shares the host's network).
# Needs root. Idempotent. Timing of each phase is printed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export DEBIAN_FRONTEND=noninteractive
tag=localhost/devorch:ci
sdk_image=mcr.microsoft.com/dotnet/sdk:10.0
runtime_image=mcr.microsoft.com/dotnet/aspnet:10.0
phase_start=$SECONDS
phase() { echo "image: $1 ($((SECONDS - phase_start))s since start)"; }

need=()
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

dotnet_dir="$(dirname "$(readlink -f "$(command -v dotnet)")")"
sdk_version="$(ls "$dotnet_dir/sdk" | sort -V | tail -n 1)"
runtime_version="$(ls "$dotnet_dir/shared/Microsoft.AspNetCore.App" | sort -V | tail -n 1)"
local_cas="$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum | cut -c1-12)"
fingerprint="bookworm/sdk-$sdk_version/runtime-$runtime_version/ca-$local_cas/v3"

# The Debian mirror this machine uses (deb822 .sources or a classic sources.list).
mirror="$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)"
if [ -z "$mirror" ]; then
  mirror="$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

image_fingerprint() {
  buildah inspect --type image --format '{{index .OCIv1.Config.Labels "devorch.ci-base"}}' "$1" 2>/dev/null || true
}

if [ "$(image_fingerprint "$runtime_image")" != "$fingerprint" ] || [ "$(image_fingerprint "$sdk_image")" != "$fingerprint" ]; then
  echo "image: assembling the base images ($fingerprint) from $mirror"
  buildah rmi -f "$sdk_image" "$runtime_image" >/dev/null 2>&1 || true   # the previous ones, if any
  # Debian bookworm, minimal, with what the .NET runtime loads (OpenSSL, ICU, CA certificates, time zones). The real
  # aspnet:10.0 is Ubuntu 24.04, whose image has a user "ubuntu" with uid 1000: made here too, so that the Dockerfile's
  # handling of it is exercised.
  ctr="$(buildah from scratch)"
  rootfs="$(buildah mount "$ctr")"
  debootstrap --variant=minbase --include=ca-certificates,libssl3,libicu72,tzdata bookworm "$rootfs" "$mirror" >/dev/null
  chroot "$rootfs" sh -c 'groupadd --gid 1000 ubuntu && useradd --uid 1000 --gid 1000 --create-home ubuntu \
    && groupadd --gid 1654 app && useradd --uid 1654 --gid 1654 --no-create-home app'
  # The machine's own certificate authorities (a TLS-inspecting proxy on the way to NuGet, say) are trusted in the
  # base images as on the machine; Microsoft's images trust only the public ones.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
  fi
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  mkdir -p "$rootfs/usr/share/dotnet/shared"
  cp -a "$dotnet_dir/dotnet" "$dotnet_dir/host" "$dotnet_dir/LICENSE.txt" "$dotnet_dir/ThirdPartyNotices.txt" "$rootfs/usr/share/dotnet/"
  mkdir -p "$rootfs/usr/share/dotnet/shared/Microsoft.NETCore.App" "$rootfs/usr/share/dotnet/shared/Microsoft.AspNetCore.App"
  cp -a "$dotnet_dir/shared/Microsoft.NETCore.App/$runtime_version" "$rootfs/usr/share/dotnet/shared/Microsoft.NETCore.App/"
  cp -a "$dotnet_dir/shared/Microsoft.AspNetCore.App/$runtime_version" "$rootfs/usr/share/dotnet/shared/Microsoft.AspNetCore.App/"
  ln -sf /usr/share/dotnet/dotnet "$rootfs/usr/bin/dotnet"
  buildah umount "$ctr" >/dev/null
  # The same environment as Microsoft's images.
  buildah config --env APP_UID=1654 --env ASPNETCORE_HTTP_PORTS=8080 --env DOTNET_RUNNING_IN_CONTAINER=true \
    --env DOTNET_VERSION="$runtime_version" --env ASPNET_VERSION="$runtime_version" \
    --label devorch.ci-base="$fingerprint" "$ctr"
  buildah commit --rm --quiet "$ctr" "$runtime_image" >/dev/null
  phase "runtime base image $runtime_image ready"

  ctr="$(buildah from --pull=never "$runtime_image")"
  rootfs="$(buildah mount "$ctr")"
  for part in sdk sdk-manifests packs templates; do
    [ -e "$dotnet_dir/$part" ] && cp -a "$dotnet_dir/$part" "$rootfs/usr/share/dotnet/"
  done
  buildah umount "$ctr" >/dev/null
  buildah config --env DOTNET_SDK_VERSION="$sdk_version" --env DOTNET_USE_POLLING_FILE_WATCHER=true \
    --env NUGET_XMLDOC_MODE=skip --label devorch.ci-base="$fingerprint" "$ctr"
  buildah commit --rm --quiet "$ctr" "$sdk_image" >/dev/null
  phase "SDK base image $sdk_image ready"
else
  phase "base images $runtime_image and $sdk_image reused ($fingerprint)"
fi

# The real build. --layers keeps the restore layer between runs (it changes only with the project files).
buildah build --isolation chroot --pull=never --layers --force-rm --format docker -t "$tag" . >/tmp/devorch-image-build.log 2>&1 || {
  tail -n 80 /tmp/devorch-image-build.log
  echo "image: buildah build failed (full log: /tmp/devorch-image-build.log)"
  exit 1
}
phase "built $tag"

fail() { echo "image: FAIL: $*"; exit 1; }
expect() { # expect NAME ACTUAL WANTED
  [ "$2" = "$3" ] || fail "$1 is '$2', expected '$3'"
}
expect user "$(buildah inspect --type image --format '{{.Docker.Config.User}}' "$tag")" "1000:1000"
expect workdir "$(buildah inspect --type image --format '{{.Docker.Config.WorkingDir}}' "$tag")" "/app"
expect entrypoint "$(buildah inspect --type image --format '{{.Docker.Config.Entrypoint}}' "$tag")" '[/app/devorch]'
expect cmd "$(buildah inspect --type image --format '{{.Docker.Config.Cmd}}' "$tag")" '[serve]'
expect healthcheck "$(buildah inspect --type image --format '{{.Docker.Config.Healthcheck.Test}}' "$tag")" '[CMD devorch health]'
env_list="$(buildah inspect --type image --format '{{range .Docker.Config.Env}}{{println .}}{{end}}' "$tag")"
for setting in DATA_DIR=/data WORKSPACES_DIR=/workspaces WORKFLOWS_DIR=/workflows URLS=http://0.0.0.0:8000; do
  grep -qx "$setting" <<<"$env_list" || fail "the image's environment lacks $setting: $env_list"
done
echo "image: configuration ok (user 1000:1000, /app, entrypoint /app/devorch, HEALTHCHECK devorch health)"

ctr="$(buildah from --pull=never --name devorch-ci-container-$$ "$tag")"
server_pids=()
cleanup() {
  for pid in "${server_pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  buildah rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT

run() { buildah run --isolation chroot "$ctr" -- "$@"; }
expect "id -u in the container" "$(run id -u)" "1000"
run sh -c 'git --version && ssh -V 2>&1 && bwrap --version && test -f /etc/ssl/certs/ca-certificates.crt' \
  || fail "git, ssh, bwrap or the CA bundle is missing"
run sh -c 'pg_dump --version && pg_restore --version && test -x /app/scripts/backup.sh && test -x /app/scripts/restore.sh' \
  || fail "pg_dump/pg_restore or the backup scripts are missing (devorch db backup on PostgreSQL needs them)"
run sh -c 'touch /data/.w && touch /workspaces/.w' || fail "/data or /workspaces is not writable by uid 1000"
help="$(run devorch --help)" || fail "devorch --help failed"
[[ "$help" == *serve* ]] || fail "devorch --help does not list serve: $help"
echo "image: devorch --help works in the image as uid 1000; git, ssh, bwrap, pg_dump and the backup scripts present"

# start_server NAME PATH [ENV=VALUE ...] -- ARGS...: runs devorch ARGS in the image on a free port of the host's
# network ($port afterwards) and waits until PATH answers 200. Not in a subshell: cleanup needs the pids.
port=""
start_server() {
  local name="$1" path="$2" envs=()
  shift 2
  while [ "$1" != "--" ]; do envs+=(--env "$1"); shift; done
  shift
  port="$(shuf -i 20000-59999 -n 1)"
  setsid buildah run --isolation chroot --env URLS="http://127.0.0.1:$port" "${envs[@]}" "$ctr" -- devorch "$@" \
    >"/tmp/devorch-image-$name.log" 2>&1 &
  server_pids+=($!)
  for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port$path" 2>/dev/null; then return 0; fi
    kill -0 "${server_pids[-1]}" 2>/dev/null || break
    sleep 1
  done
  tail -n 40 "/tmp/devorch-image-$name.log"
  fail "devorch $* in the image did not answer $path"
}

# The default command, serve (role all), on SQLite in /data.
start_server all /health/live -- serve
echo "image: devorch serve in the image answers /health/live: $(curl -fsS "http://127.0.0.1:$port/health/live")"
# /health answers 200 (healthy or degraded). Where bubblewrap cannot make namespaces (as under buildah's chroot
# isolation) the sandbox must have fallen back to plain processes and say so, not fail.
health="$(curl -fsS "http://127.0.0.1:$port/health")" || fail "/health did not answer 200: $health"
echo "image: /health: $health"
[[ "$health" == *'"sandbox":{"status":"healthy"'* || "$health" == *'"mode":"process"'* ]] \
  || fail "/health has neither a working sandbox nor the process fallback"

# The roles of the production Compose file on this machine's PostgreSQL: db migrate, then serve --role api and worker.
admin="${DEVORCH_TEST_POSTGRES:-postgresql://postgres:postgres@127.0.0.1:5432/postgres}"
if psql "$admin" -qtAc 'select 1' >/dev/null 2>&1; then
  database=devorch_image_check
  psql "$admin" -qc "DROP DATABASE IF EXISTS $database" -c "CREATE DATABASE $database" >/dev/null
  database_url="${admin%/*}/$database"
  run_env() { buildah run --isolation chroot --env DATABASE_URL="$database_url" "$ctr" -- "$@"; }
  run_env devorch db migrate >/tmp/devorch-image-migrate.log 2>&1 || { cat /tmp/devorch-image-migrate.log; fail "devorch db migrate failed"; }
  start_server api /health/ready DATABASE_URL="$database_url" -- serve --role api
  api_port="$port"
  start_server worker /health/live DATABASE_URL="$database_url" -- serve --role worker
  worker_port="$port"
  echo "image: on PostgreSQL: db migrate ok, serve --role api ready on $api_port, serve --role worker live on $worker_port"
  for pid in "${server_pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  server_pids=()
  psql "$admin" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
else
  echo "image: FAIL: no PostgreSQL at DEVORCH_TEST_POSTGRES ($admin) for the role checks (.ci/run starts one)"
  exit 1
fi
phase "done"
