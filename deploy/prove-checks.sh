#!/usr/bin/env bash
# Proves that each deployment check catches a broken artefact: for every check in deploy/checks/, a copy of the
# repository gets one realistic defect in the artefact that check guards, and the check must then fail. Prints
# "caught <check>: <defect>" or "MISSED <check>: <defect>" per line and exits 1 when a defect was missed.
#   bash deploy/prove-checks.sh [check ...]      # e.g. "nginx compose"; no names = all
# The working tree is never changed (each defect goes into a scratch copy of the tracked and untracked files).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 1
selected=("$@")

# check | file | sed expression (must change the file) | what the defect is
defects=(
  "cloud|deploy/cloud/aws/ecs/api-task-definition.json|s/\"cpu\": \"1024\"/\"cpu\": 1024/|ECS task definition: cpu as a number (the AWS type is a string)"
  "compose|docker-compose.prod.yml|0,/restart: unless-stopped/s//restrat: unless-stopped/|Compose: a misspelt service key"
  "dockerfile|Dockerfile|s/^USER 1000:1000/USR 1000:1000/|Dockerfile: an unknown instruction"
  "github-actions|.github/workflows/ci.yml|0,/runs-on:/s//run-on:/|workflow: a job without runs-on"
  "image|Dockerfile|s#^ENTRYPOINT \\[\"/app/devorch\"\\]#ENTRYPOINT [\"/app/devorch-missing\"]#|image: an entrypoint that does not exist"
  "kubernetes|deploy/kubernetes/base/api.yaml|s/^  replicas: 2/  replicas: two/|Deployment: replicas as a string"
  "monitoring|deploy/monitoring/prometheus/alerts.yml|s/up{job=\"devorch\"} == 0/up{job=\"devorch\"} == 1/|alert rule: no-worker alert inverted"
  "nginx|deploy/nginx/nginx.conf|0,/proxy_buffering off;/s//proxy_buffering of;/|nginx: an invalid directive value"
  "scripts|deploy/scripts/backup.sh|s/retention_days \\* 1440/retention_days * 14400/|backup.sh: retention keeps backups ten times too long"
)

missed=0
for defect in "${defects[@]}"; do
  IFS='|' read -r check file expression what <<<"$defect"
  if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " == *" $check "* ]]; then continue; fi
  copy="$(mktemp -d)"
  git ls-files -z --cached --others --exclude-standard | tar --null -cf - -T - 2>/dev/null | tar -xf - -C "$copy"
  before="$(sha256sum "$copy/$file")"
  sed -i -e "$expression" "$copy/$file"
  if [ "$before" = "$(sha256sum "$copy/$file")" ]; then
    echo "MISSED $check: the defect could not be applied to $file (the artefact changed; update deploy/prove-checks.sh)"
    missed=1
  elif (cd "$copy" && bash "deploy/checks/$check.sh") >"$copy.log" 2>&1; then
    echo "MISSED $check: $what ($file) passed the check"
    missed=1
  else
    echo "caught $check: $what ($file) -> $(grep -v '^\s*$' "$copy.log" | tail -n 1 | cut -c1-150)"
  fi
  rm -rf "$copy" "$copy.log"
done
# The vulnerability gate proves itself on every run (a local audit source declares a High advisory; see the script).
exit $missed
