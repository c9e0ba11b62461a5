#!/usr/bin/env bash
# Backs up DevOrchestrator's database into BACKUP_DIR and deletes backups there older than RETENTION_DAYS.
#   BACKUP_DIR       where backups go (default ./backups; created if missing)
#   RETENTION_DAYS   delete devorch-* backups older than this many days (default 7; 0 keeps every backup)
#   DEVORCH          the devorch command (default "devorch"; may hold arguments, e.g. "dotnet /app/devorch.dll")
#   DATABASE_URL     read by devorch as always; a postgresql:// URL makes a pg_dump archive (.dump), else SQLite (.sqlite)
# Exit code: devorch's (1 when the backup failed, 2 for a bad setting); nothing is deleted when the backup failed.
set -euo pipefail

backup_dir="${BACKUP_DIR:-./backups}"
retention_days="${RETENTION_DAYS:-7}"
read -r -a devorch <<<"${DEVORCH:-devorch}"

if [[ ! "$retention_days" =~ ^[0-9]+$ ]]; then
  echo "RETENTION_DAYS must be a whole number of days (got '$retention_days')." >&2
  exit 2
fi

case "${DATABASE_URL:-}" in
  postgresql://* | postgres://*) extension="dump" ;;
  *) extension="sqlite" ;;
esac

mkdir -p "$backup_dir"
file="$backup_dir/devorch-$(date -u +%Y%m%dT%H%M%SZ).$extension"
"${devorch[@]}" db backup --output "$file"

if [ "$retention_days" -gt 0 ]; then
  # -mmin: whole minutes, so "older than 7 days" means what it says (-mtime rounds down to days).
  find "$backup_dir" -maxdepth 1 -type f -name 'devorch-*' ! -name '*.partial' -mmin "+$((retention_days * 1440))" -print0 |
    while IFS= read -r -d '' old; do
      rm -f -- "$old"
      echo "Deleted $old (older than $retention_days days)."
    done
fi
echo "Kept $(find "$backup_dir" -maxdepth 1 -type f -name 'devorch-*' ! -name '*.partial' | wc -l) backup(s) in $backup_dir."
