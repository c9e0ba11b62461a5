#!/usr/bin/env bash
# docker-compose.yml and docker-compose.prod.yml: parsed and interpolated by Debian's docker-compose 1.29 (`config -q`:
# unknown keys, undefined services, volumes and networks, a missing required ${VAR:?}), every service's secrets defined
# (1.29 does not check that), and the compose-spec schema by dclint. The production file must refuse to render without
# DEVORCH_DOMAIN.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export DEBIAN_FRONTEND=noninteractive
if ! command -v docker-compose >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq docker-compose >/dev/null
fi
tools="${XDG_CACHE_HOME:-$HOME/.cache}/devorch-deploy-checks/dclint-3.1.0"
dclint="$tools/node_modules/.bin/dclint"
if [ ! -x "$dclint" ]; then
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" dclint@3.1.0 >/dev/null
fi

# Only the variables a user must set; everything else has a default in the files.
compose() { env -i PATH="$PATH" HOME="$HOME" "$@"; }
compose docker-compose -f docker-compose.yml config -q
compose DEVORCH_DOMAIN=devorch.test docker-compose -f docker-compose.prod.yml config -q
if compose docker-compose -f docker-compose.prod.yml config -q 2>/dev/null; then
  echo "compose: docker-compose.prod.yml rendered without DEVORCH_DOMAIN (it must be required)"
  exit 1
fi

compose DEVORCH_DOMAIN=devorch.test docker-compose -f docker-compose.prod.yml config |
  NODE_PATH="$tools/node_modules" node -e '
    const doc = require("yaml").parse(require("fs").readFileSync(0, "utf8"));
    const defined = new Set(Object.keys(doc.secrets || {}));
    const missing = Object.entries(doc.services).flatMap(([name, service]) => (service.secrets || [])
      .map(s => typeof s === "string" ? s : s.source).filter(s => !defined.has(s)).map(s => `${name}: ${s}`));
    if (missing.length) { console.error("compose: undefined secrets: " + missing.join(", ")); process.exit(1); }'

"$dclint" docker-compose.yml docker-compose.prod.yml -q \
  --disable-rule service-keys-order --disable-rule services-alphabetical-order
echo "compose: docker-compose.yml and docker-compose.prod.yml are valid (docker-compose $(docker-compose version --short), dclint 3.1.0)"
