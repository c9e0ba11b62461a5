#!/usr/bin/env bash
# Restores DevOrchestrator's database from a backup made by backup.sh or 'devorch db backup':
#   restore.sh FILE
#   DEVORCH    the devorch command (default "devorch"; may hold arguments, e.g. "dotnet /app/devorch.dll")
# Stop every API and worker process first (docs/deployment/operations.md), then start them again afterwards.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: restore.sh FILE   (a backup made by backup.sh or 'devorch db backup')" >&2
  exit 2
fi

read -r -a devorch <<<"${DEVORCH:-devorch}"
"${devorch[@]}" db restore "$1"
echo "Restored from $1. Start the service again; 'devorch db status' shows the migrations the backup had."
