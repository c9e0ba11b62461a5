#!/usr/bin/env bash
# deploy/scripts/*.sh: shellcheck-clean, and backup.sh's retention and failure handling, run against a stand-in
# devorch (the real command is exercised by tests/DevOrchestrator.IntegrationTests/Cli/OperationsCliTests.cs).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v shellcheck >/dev/null; then
  apt-get update -qq >/dev/null && apt-get install -y -qq shellcheck >/dev/null
fi
shellcheck --version | sed -n 2p
shellcheck deploy/scripts/*.sh deploy/checks/scripts.sh
# The checks themselves and CI's script: warnings and errors (style notes allowed).
shellcheck -S warning deploy/*.sh deploy/checks/*.sh .ci/run

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A stand-in for devorch: "db backup --output FILE" writes FILE; FAIL=1 makes it fail like a real backup would.
cat >"$work/devorch" <<'STUB'
#!/usr/bin/env bash
[ "${FAIL:-0}" = 1 ] && { echo "pg_dump was not found on PATH" >&2; exit 1; }
[ "$1 $2 $3" = "db backup --output" ] && echo backup >"$4" && echo "Backed up to $4"
STUB
chmod +x "$work/devorch"
backups="$work/backups"
mkdir -p "$backups"
touch -d '10 days ago' "$backups/devorch-old.sqlite"
touch -d '2 days ago' "$backups/devorch-recent.sqlite"
touch -d '10 days ago' "$backups/unrelated.txt"

# A failed backup deletes nothing and passes devorch's exit code on.
if FAIL=1 DEVORCH="$work/devorch" BACKUP_DIR="$backups" RETENTION_DAYS=7 bash deploy/scripts/backup.sh; then
  echo "backup.sh succeeded although devorch failed" >&2
  exit 1
fi
[ -e "$backups/devorch-old.sqlite" ] || { echo "backup.sh deleted old backups after a failed backup" >&2; exit 1; }

DEVORCH="$work/devorch" BACKUP_DIR="$backups" RETENTION_DAYS=7 DATABASE_URL=postgresql://u:p@db/devorch bash deploy/scripts/backup.sh
[ ! -e "$backups/devorch-old.sqlite" ] || { echo "a backup older than RETENTION_DAYS was kept" >&2; exit 1; }
[ -e "$backups/devorch-recent.sqlite" ] || { echo "a backup newer than RETENTION_DAYS was deleted" >&2; exit 1; }
[ -e "$backups/unrelated.txt" ] || { echo "a file that is not a devorch backup was deleted" >&2; exit 1; }
ls "$backups"/devorch-*.dump >/dev/null || { echo "a PostgreSQL DATABASE_URL did not give a .dump file" >&2; exit 1; }

if RETENTION_DAYS=week DEVORCH="$work/devorch" BACKUP_DIR="$backups" bash deploy/scripts/backup.sh 2>"$work/err"; then
  echo "RETENTION_DAYS=week was accepted" >&2
  exit 1
fi
grep -q RETENTION_DAYS "$work/err"

if bash deploy/scripts/restore.sh 2>"$work/err"; then
  echo "restore.sh without FILE succeeded" >&2
  exit 1
fi
grep -q usage "$work/err"
echo "backup.sh and restore.sh behave"
