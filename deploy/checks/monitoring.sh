#!/usr/bin/env bash
# Checks deploy/monitoring offline: the Prometheus configurations (Compose and Kubernetes variants), the alert rules
# and their unit tests (promtool 2.42 from Debian's prometheus package), every PromQL expression of the Grafana
# dashboard (as recording rules through promtool), and the dashboard JSON against Grafana's dashboard type
# (@grafana/schema 13.2.3 with TypeScript, installed once into a cache directory). Exits non-zero on the first failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
monitoring="$root/deploy/monitoring"
prometheus="$monitoring/prometheus"
dashboard="$monitoring/grafana/dashboards/devorch.json"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! command -v promtool >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus >/dev/null
fi
command -v node >/dev/null 2>&1 || { echo "node is needed for the dashboard checks (apt-get install nodejs npm)"; exit 1; }

echo "== promtool check config (Compose)"
promtool check config "$prometheus/prometheus.yml"

# Debian builds Prometheus without Kubernetes service discovery, so its promtool rejects kubernetes_sd_configs. Check
# everything else of the Kubernetes variant (relabelling, rule files) with the discovery block replaced by a static
# target; the discovery block itself is the documented `role: pod` form.
echo "== promtool check config (Kubernetes, discovery replaced by a static target)"
cp "$prometheus/alerts.yml" "$work/alerts.yml"
# shellcheck disable=SC2016 # the backticks are text of an error message
node -e '
const fs = require("fs");
const text = fs.readFileSync(process.argv[1], "utf8");
const replaced = text.replace(/kubernetes_sd_configs:\n\s+- role: pod\n/, "static_configs:\n      - targets: [\"pod.example:8000\"]\n");
if (replaced === text) { console.error("no `kubernetes_sd_configs: - role: pod` block found"); process.exit(1); }
fs.writeFileSync(process.argv[2], replaced);
' "$prometheus/prometheus.kubernetes.yml" "$work/prometheus.kubernetes.yml"
promtool check config "$work/prometheus.kubernetes.yml"

echo "== promtool check rules / test rules"
promtool check rules "$prometheus/alerts.yml"
(cd "$prometheus" && promtool test rules alerts.test.yml)

echo "== dashboard: structure and PromQL of every panel"
node - "$dashboard" "$monitoring/grafana/provisioning/datasources/datasource.yml" "$work" <<'JS'
const fs = require("fs");
const [dashboardPath, datasourcePath, work] = process.argv.slice(2);
const dashboard = JSON.parse(fs.readFileSync(dashboardPath, "utf8"));
const uid = /uid:\s*(\S+)/.exec(fs.readFileSync(datasourcePath, "utf8"))?.[1];
const errors = [];
const rules = [];
const ids = new Set();
for (const panel of dashboard.panels ?? []) {
  if (ids.has(panel.id)) errors.push(`panel id ${panel.id} is used twice`);
  ids.add(panel.id);
  if (panel.type === "row") continue;
  const targets = panel.targets ?? [];
  if (targets.length === 0) errors.push(`panel "${panel.title}" has no query`);
  for (const target of targets) {
    if (!target.expr) { errors.push(`panel "${panel.title}" query ${target.refId} has no expr`); continue; }
    const ds = target.datasource ?? panel.datasource;
    if (ds?.uid !== uid) errors.push(`panel "${panel.title}" query ${target.refId} uses data source ${ds?.uid}, not the provisioned "${uid}"`);
    // Grafana's interval variables are not PromQL: give them a value promtool can parse.
    const expr = target.expr.replace(/\$__rate_interval|\$__interval|\$__range/g, "5m");
    rules.push({ record: `dashboard:panel_${panel.id}_${target.refId}`, expr });
  }
}
if (rules.length < 10) errors.push(`only ${rules.length} dashboard queries found`);
if (errors.length) { console.error(errors.join("\n")); process.exit(1); }
// JSON is YAML: one recording rule per query, so that `promtool check rules` parses each expression.
fs.writeFileSync(`${work}/dashboard-queries.rules.yml`, JSON.stringify({ groups: [{ name: "dashboard", rules }] }, null, 2));
console.log(`${rules.length} queries`);
JS
promtool check rules "$work/dashboard-queries.rules.yml"

echo "== dashboard: @grafana/schema Dashboard type (tsc)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/devorch-deploy-checks/grafana"
mkdir -p "$cache"
if [ "$(node -p 'try { require(process.argv[1]).version } catch { "" }' "$cache/node_modules/@grafana/schema/package.json" 2>/dev/null)" != "13.2.3" ] \
  || [ ! -x "$cache/node_modules/.bin/tsc" ]; then
  [ -f "$cache/package.json" ] || echo '{ "private": true }' >"$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund --silent @grafana/schema@13.2.3 typescript@5 >/dev/null)
fi
mkdir -p "$cache/check"
node - "$dashboard" "$cache/check/dashboard.ts" <<'JS'
const fs = require("fs");
const [dashboardPath, out] = process.argv.slice(2);
const text = fs.readFileSync(dashboardPath, "utf8");
const dashboard = JSON.parse(text);
// The schema types panel targets as Record<string, unknown>: type them as Prometheus queries here, so that an unknown
// or misspelt key of a query is an error too (object literals get excess-property checks).
const targets = (dashboard.panels ?? []).filter(p => p.type !== "row").map(p => p.targets ?? []);
fs.writeFileSync(out, `import type { Dashboard } from "@grafana/schema";
interface PrometheusQuery {
  refId: string;
  expr: string;
  datasource: { type: "prometheus"; uid: string };
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  interval?: string;
  hide?: boolean;
}
// The schema's enums (ThresholdsMode, MappingType, ...) are TypeScript string enums, which a JSON string literal cannot
// be assigned to; Json<T> turns each enum into the union of its string values and keeps everything else.
type Json<T> = T extends string ? \`\${T}\` : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
export const dashboard: Json<Dashboard> = ${text.trim()};
export const queries: PrometheusQuery[][] = ${JSON.stringify(targets, null, 2)};
`);
JS
(cd "$cache/check" && ../node_modules/.bin/tsc --noEmit --strict --skipLibCheck --target es2022 --module esnext --moduleResolution bundler dashboard.ts)
rm -rf "$cache/check"
echo "monitoring: all checks passed"
