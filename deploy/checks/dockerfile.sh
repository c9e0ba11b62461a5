#!/usr/bin/env bash
# Lints the Dockerfile with dockerfile-utils (the parser of the Docker language server: unknown instructions, bad flags
# and arguments) and dockerfilelint (image tags, apt hygiene, and the like). The real build is image.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/devorch-deploy-checks/dockerfile-lint"
if [ ! -x "$tools/node_modules/.bin/dockerfile-utils" ] || [ ! -x "$tools/node_modules/.bin/dockerfilelint" ]; then
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" dockerfile-utils@0.16.3 dockerfilelint@1.8.0 >/dev/null
fi

# dockerfile-utils prints one line per problem and exits 0 either way: any output is a failure.
problems="$("$tools/node_modules/.bin/dockerfile-utils" lint Dockerfile 2>&1 || true)"
if [ -n "$problems" ]; then
  echo "$problems"
  echo "dockerfile: dockerfile-utils found problems"
  exit 1
fi
"$tools/node_modules/.bin/dockerfilelint" Dockerfile
# What the deployment relies on.
grep -qx 'ENTRYPOINT \["/app/devorch"\]' Dockerfile || { echo "dockerfile: ENTRYPOINT must be [\"/app/devorch\"]"; exit 1; }
grep -qx 'USER 1000:1000' Dockerfile || { echo "dockerfile: the runtime stage must run as USER 1000:1000"; exit 1; }
echo "dockerfile: Dockerfile passes dockerfile-utils 0.16.3 and dockerfilelint 1.8.0"
