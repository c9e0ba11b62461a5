#!/usr/bin/env bash
# The cloud definitions in deploy/cloud/: the ECS Fargate task definitions type-checked against the AWS SDK's own
# RegisterTaskDefinitionCommandInput (tsc --strict), the Terraform configuration parsed and its references resolved,
# the Cloud Run service against the Knative schema, Cloud Build and Container Apps parsed (cloud-validate.mjs).
set -euo pipefail
cd "$(dirname "$0")/../.."
tools="${XDG_CACHE_HOME:-$HOME/.cache}/devorch-deploy-checks/cloud"
if [ ! -d "$tools/node_modules/@aws-sdk/client-ecs" ] || [ ! -d "$tools/node_modules/@kubernetes-models/knative" ]; then
  mkdir -p "$tools"
  npm install --prefix "$tools" --silent --no-audit --no-fund @aws-sdk/client-ecs@3.1178.0 @cdktf/hcl2json@0.21.0 \
    typescript@5 @kubernetes-models/knative@2.4.4 kubernetes-models@4.5.1 yaml@2 >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
{
  echo 'import type { RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";'
  for file in deploy/cloud/aws/ecs/*-task-definition.json; do
    name="$(basename "$file" .json | tr -c 'a-zA-Z0-9\n' '_')"
    echo "export const ${name}: RegisterTaskDefinitionCommandInput = $(cat "$file");"
  done
} > "$work/ecs.ts"
ln -s "$tools/node_modules" "$work/node_modules"
"$tools/node_modules/.bin/tsc" --noEmit --strict --skipLibCheck --target es2022 --module nodenext --moduleResolution nodenext "$work/ecs.ts"
echo "ok: ECS task definitions ($(ls deploy/cloud/aws/ecs/*-task-definition.json | wc -l)) match RegisterTaskDefinitionCommandInput"

TOOLS="$tools" node deploy/checks/cloud-validate.mjs deploy/cloud
