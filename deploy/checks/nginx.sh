#!/usr/bin/env bash
# nginx -t on deploy/nginx/nginx.conf, exactly as the nginx container sees it: inside a private mount namespace (unshare)
# /etc/nginx is a scratch copy of Debian's (mime.types) with our nginx.conf and a self-signed test certificate at
# /etc/nginx/certs, and /etc/hosts names the upstreams (api, grafana) as Docker's DNS would. Nothing on the host changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export DEBIAN_FRONTEND=noninteractive
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/etc-nginx/certs"
cp -a /etc/nginx/mime.types "$work/etc-nginx/"
cp "$root/deploy/nginx/nginx.conf" "$work/etc-nginx/nginx.conf"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=devorch.test \
  -keyout "$work/etc-nginx/certs/privkey.pem" -out "$work/etc-nginx/certs/fullchain.pem" 2>/dev/null
printf '127.0.0.1 localhost\n10.200.0.11 api\n10.200.0.12 grafana\n' >"$work/hosts"

unshare -m sh -c "
  set -e
  mount --make-rprivate /
  mount --bind '$work/hosts' /etc/hosts
  mount --bind '$work/etc-nginx' /etc/nginx
  nginx -t -c /etc/nginx/nginx.conf
"
echo "nginx: deploy/nginx/nginx.conf is valid (nginx $(nginx -v 2>&1 | sed 's/.*\///'))"
