// Validates every object of one or more multi-document YAML files (kubectl kustomize / helm template output) against
// the Kubernetes OpenAPI schemas shipped in npm kubernetes-models (4.5.x, offline): wrong types, bad enums, missing
// required fields, unknown apiVersion/kind. Also rejects API versions removed from or deprecated in Kubernetes.
// With --ts FILE it also writes every object as a TypeScript constant typed with npm kubernetes-types, so that
// `tsc --strict` rejects unknown fields (misspelt keys), which the OpenAPI schemas above let through.
// Usage: NODE_PATH=<dir with node_modules> node k8s-validate.mjs [--ts out.ts] rendered.yaml ...
// (run by deploy/checks/kubernetes.sh).
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? process.cwd(), "noop.js"));
const YAML = require("yaml");

// Removed or deprecated API versions that kubernetes-models 4.5 still knows (it covers old clusters too).
const deprecated = new Set([
  "extensions/v1beta1", "apps/v1beta1", "apps/v1beta2", "policy/v1beta1", "batch/v1beta1", "batch/v2alpha1",
  "autoscaling/v2beta1", "autoscaling/v2beta2", "networking.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1beta1",
  "storage.k8s.io/v1beta1", "scheduling.k8s.io/v1beta1", "discovery.k8s.io/v1beta1", "events.k8s.io/v1beta1",
  "node.k8s.io/v1beta1", "flowcontrol.apiserver.k8s.io/v1beta1", "flowcontrol.apiserver.k8s.io/v1beta2",
  "admissionregistration.k8s.io/v1beta1", "apiextensions.k8s.io/v1beta1", "certificates.k8s.io/v1beta1",
  "coordination.k8s.io/v1beta1",
]);
// Custom resources whose schemas kubernetes-models does not ship: checked for shape only (apiVersion, kind, name, spec).
const customResources = new Set(["monitoring.coreos.com/v1/ServiceMonitor"]);

// --same-objects A B: the two renderings must hold the same kind/name pairs (kustomize prod vs Helm prod), apart from
// what only one of them has by design (the Namespace: Helm leaves it to --create-namespace; the ServiceMonitor: Helm only).
if (process.argv[2] === "--same-objects") {
  const names = file => new Set(YAML.parseAllDocuments(readFileSync(file, "utf8")).map(d => d.toJS())
    .filter(o => o && !["Namespace", "ServiceMonitor"].includes(o.kind)).map(o => `${o.kind}/${o.metadata.name}`));
  const [a, b] = [names(process.argv[3]), names(process.argv[4])];
  const onlyA = [...a].filter(x => !b.has(x)), onlyB = [...b].filter(x => !a.has(x));
  for (const x of onlyA) console.error(`only in ${path.basename(process.argv[3])}: ${x}`);
  for (const x of onlyB) console.error(`only in ${path.basename(process.argv[4])}: ${x}`);
  console.log(`${a.size} object(s) compared, ${onlyA.length + onlyB.length} difference(s)`);
  process.exit(onlyA.length + onlyB.length > 0 ? 1 : 0);
}

let failures = 0;
let checked = 0;
const skipped = new Map();
const args = process.argv.slice(2);
let tsFile = null;
if (args[0] === "--ts") { tsFile = args[1]; args.splice(0, 2); }
const tsImports = new Map();
const tsConstants = [];
// kubernetes-types module of an apiVersion: "v1" -> core/v1, "networking.k8s.io/v1" -> networking/v1.
const typesModule = apiVersion => apiVersion.includes("/")
  ? `kubernetes-types/${apiVersion.split("/")[0].replace(/\.k8s\.io$/, "").replace(/\.authorization$/, "")}/${apiVersion.split("/")[1]}`
  : `kubernetes-types/core/${apiVersion}`;
for (const file of args) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      console.error(`${file}: YAML error: ${doc.errors.map(e => e.message).join("; ")}`);
      failures++;
      continue;
    }
    const obj = doc.toJS();
    if (obj == null) continue;
    const where = `${path.basename(file)}: ${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
    const fail = message => { console.error(`${where}: ${message}`); failures++; };
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") { fail("missing apiVersion or kind"); continue; }
    if (!obj.metadata?.name) { fail("missing metadata.name"); continue; }
    if (deprecated.has(obj.apiVersion)) { fail(`deprecated or removed apiVersion ${obj.apiVersion}`); continue; }
    const key = `${obj.apiVersion}/${obj.kind}`;
    if (customResources.has(key)) {
      if (typeof obj.spec !== "object" || obj.spec === null) fail("custom resource without spec");
      skipped.set(key, (skipped.get(key) ?? 0) + 1);
      continue;
    }
    const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["v1", obj.apiVersion];
    const modulePath = group === "v1" && !obj.apiVersion.includes("/") ? `kubernetes-models/${version}/${obj.kind}`
      : `kubernetes-models/${group}/${version}/${obj.kind}`;
    let Model;
    try {
      Model = require(modulePath)[obj.kind];
    } catch {
      fail(`unknown apiVersion/kind ${key} (no schema in kubernetes-models)`);
      continue;
    }
    // kustomize wraps long base64 values in Secret data over lines; the API server's decoder ignores the newlines.
    if (key === "v1/Secret" && obj.data) {
      for (const k of Object.keys(obj.data)) if (typeof obj.data[k] === "string") obj.data[k] = obj.data[k].replace(/\s+/g, "");
    }
    if (tsFile) {
      const module = typesModule(obj.apiVersion);
      const alias = `${module.replace(/[^A-Za-z0-9]/g, "_")}_${obj.kind}`;
      tsImports.set(alias, `import type { ${obj.kind} as ${alias} } from "${module}";`);
      tsConstants.push(`// ${where}\nexport const o${tsConstants.length}: ${alias} = ${JSON.stringify(obj, null, 2)};`);
    }
    try {
      new Model(obj).validate();
      checked++;
    } catch (e) {
      fail(e.message ?? String(e));
    }
  }
}
if (tsFile) writeFileSync(tsFile, [...tsImports.values(), ...tsConstants].join("\n") + "\n");
for (const [key, count] of skipped) console.log(`note: ${count} ${key} object(s): no schema in kubernetes-models, shape checked only`);
console.log(`${checked} object(s) valid, ${failures} problem(s)`);
process.exit(failures > 0 || checked === 0 ? 1 : 0);
