#!/usr/bin/env bash
# The dependency vulnerability gate: fails when any project of the solution resolves a NuGet package (direct or
# transitive) with a known High or Critical advisory, as reported by `dotnet list package --vulnerable`.
#
#   bash deploy/checks/vulnerabilities.sh                    # the gate, against the configured NuGet sources
#   NUGET_AUDIT_CONFIG=nuget.config bash deploy/checks/...   # the gate, with that file's <auditSources>
#
# Advisory data comes from a source's VulnerabilityInfo resource (nuget.org has one). A source without it gives no
# data, and the gate then passes without having checked anything: the script says so. That is the case on the
# machines that run our .ci/run, whose NuGet mirror serves packages but no advisories, so the check first proves the
# gate itself: a local audit source (an HTTP server speaking NuGet's documented VulnerabilityInfo/6.7.0 protocol)
# declares a test High advisory for a package the service really resolves, and the gate must fail on it.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# gate [nuget.config]: exit 1 and one line per finding when a High or Critical advisory applies.
gate() {
  local report config=()
  [ -n "${1:-}" ] && config=(--config "$1")
  report="$(mktemp)"
  dotnet list DevOrchestrator.slnx package --vulnerable --include-transitive --format json "${config[@]}" >"$report"
  node - "$report" <<'JS'
const report = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const findings = [];
for (const project of report.projects ?? []) {
  for (const framework of project.frameworks ?? []) {
    for (const pkg of [...(framework.topLevelPackages ?? []), ...(framework.transitivePackages ?? [])]) {
      for (const v of pkg.vulnerabilities ?? []) {
        if (v.severity === 'High' || v.severity === 'Critical') {
          findings.push(`${v.severity} ${pkg.id} ${pkg.resolvedVersion} (${project.path.split('/').pop()}, ${framework.framework}): ${v.advisoryurl}`);
        }
      }
    }
  }
}
console.log(`sources asked for advisories: ${(report.sources ?? []).join(', ')}`);
const unique = [...new Set(findings)];
for (const f of unique) console.log(`VULNERABLE ${f}`);
if (unique.length) {
  console.log(`${unique.length} High/Critical advisories apply: upgrade the package (Directory.Packages.props) or pin a fixed transitive version.`);
  process.exit(1);
}
console.log('no High or Critical advisory applies');
JS
  local status=$?
  rm -f "$report"
  return $status
}

# Does any configured package source publish advisory data? (Only informs the output; the gate runs either way.)
advisory_sources() {
  dotnet nuget list source --format short 2>/dev/null | awk '{print $2}' | grep '^http' | while read -r source; do
    if curl -fsS --max-time 20 "$source" 2>/dev/null | grep -q '"VulnerabilityInfo/'; then echo "$source"; fi
  done
}

if [ "${VULNERABILITIES_SELF_TEST:-1}" = 1 ]; then
  command -v node >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq nodejs >/dev/null; }
  feed="$(mktemp -d)"
  port=$((20000 + RANDOM % 20000))
  mkdir -p "$feed/vulnerability"
  printf '{"version":"3.0.0","resources":[{"@id":"http://127.0.0.1:%s/vulnerability/index.json","@type":"VulnerabilityInfo/6.7.0"}]}' "$port" >"$feed/index.json"
  printf '[{"@name":"base","@id":"http://127.0.0.1:%s/vulnerability/base.json","@updated":"2026-01-01T00:00:00Z"},{"@name":"update","@id":"http://127.0.0.1:%s/vulnerability/update.json","@updated":"2026-01-01T00:00:00Z"}]' "$port" "$port" >"$feed/vulnerability/index.json"
  # A test advisory (not a real one) covering every version of Npgsql, which the service resolves transitively.
  echo '{"npgsql":[{"severity":2,"url":"https://example.invalid/devorch-gate-self-test","versions":"[0.0.0, 999.0.0)"}]}' >"$feed/vulnerability/base.json"
  echo '{}' >"$feed/vulnerability/update.json"
  cat >"$feed/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <auditSources><clear /><add key="gate-self-test" value="http://127.0.0.1:$port/index.json" allowInsecureConnections="true" /></auditSources>
</configuration>
EOF
  (cd "$feed" && exec node -e "
    const http = require('http'), fs = require('fs'), path = require('path');
    http.createServer((q, s) => {
      const file = path.join('$feed', path.normalize(q.url.split('?')[0]));
      if (!file.startsWith('$feed') || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { s.writeHead(404); return s.end(); }
      s.writeHead(200, {'content-type': 'application/json'}); s.end(fs.readFileSync(file));
    }).listen($port, '127.0.0.1');") &
  server=$!
  trap 'kill $server 2>/dev/null; rm -rf "$feed"' EXIT
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$port/index.json" >/dev/null 2>&1 && break; sleep 0.1; done
  if output="$(gate "$feed/nuget.config" 2>&1)"; then
    echo "$output"
    echo "self-test FAILED: the gate passed although a High advisory applies to Npgsql" >&2
    exit 1
  fi
  if ! grep -q 'VULNERABLE High Npgsql' <<<"$output"; then
    echo "$output"
    echo "self-test FAILED: the gate failed without naming the vulnerable package" >&2
    exit 1
  fi
  echo "self-test: the gate fails on a High advisory from an audit source and names the package"
fi

with_data="$(advisory_sources || true)"
if [ -z "${NUGET_AUDIT_CONFIG:-}" ] && [ -z "$with_data" ]; then
  echo "note: no configured NuGet source publishes advisory data (no VulnerabilityInfo resource); the gate below checks nothing."
  echo "      Point NUGET_AUDIT_CONFIG at a nuget.config with <auditSources> (e.g. nuget.org) to check for real."
fi
gate "${NUGET_AUDIT_CONFIG:-}"
