#!/usr/bin/env bash
# The GitHub Actions workflows for teams that fork the project (.github/workflows/*.yml) against the workflow schema
# (npm @action-validator/cli: unknown keys, wrong types, bad `on`/`needs`/`uses` shapes).
set -euo pipefail
cd "$(dirname "$0")/../.."
tools="${XDG_CACHE_HOME:-$HOME/.cache}/devorch-deploy-checks/actions"
if [ ! -x "$tools/node_modules/.bin/action-validator" ]; then
  mkdir -p "$tools"
  npm install --prefix "$tools" --silent --no-audit --no-fund @action-validator/cli@0.6.0 @action-validator/core@0.6.0 >/dev/null
fi
status=0
for workflow in .github/workflows/*.yml; do
  if "$tools/node_modules/.bin/action-validator" "$workflow"; then
    echo "ok $workflow"
  else
    status=1
  fi
done
exit $status
