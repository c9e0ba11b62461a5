// Validates the cloud definitions in deploy/cloud/ offline (run by deploy/checks/cloud.sh with the tools' node_modules
// on NODE_PATH): Terraform files parse (@cdktf/hcl2json) and every var.X / resource reference is declared; the Cloud
// Run service passes the Knative Service schema (@kubernetes-models/knative); Cloud Build and Container Apps files
// parse and carry what the service needs. The ECS task definitions are type-checked by tsc in cloud.sh.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.TOOLS, "node_modules", "x.js"));
const { parse } = require("@cdktf/hcl2json");
const YAML = require("yaml");
const { Service } = require("@kubernetes-models/knative/serving.knative.dev/v1/Service");

const root = process.argv[2];
const problems = [];

// ---- Terraform
const tfDir = path.join(root, "aws", "terraform");
const declared = { variable: new Set(), resource: new Set(), data: new Set() };
const texts = [];
for (const file of readdirSync(tfDir).filter((f) => f.endsWith(".tf"))) {
  const text = readFileSync(path.join(tfDir, file), "utf8");
  texts.push([file, text]);
  let json;
  try {
    json = await parse(file, text);
  } catch (error) {
    problems.push(`${file}: does not parse: ${error.message ?? error}`);
    continue;
  }
  for (const name of Object.keys(json.variable ?? {})) declared.variable.add(name);
  for (const [type, byName] of Object.entries(json.resource ?? {})) for (const name of Object.keys(byName)) declared.resource.add(`${type}.${name}`);
  for (const [type, byName] of Object.entries(json.data ?? {})) for (const name of Object.keys(byName)) declared.data.add(`${type}.${name}`);
}
for (const [file, text] of texts) {
  const code = text.replace(/#.*$/gm, "");
  for (const [, name] of code.matchAll(/\bvar\.([a-z_][a-z0-9_]*)/g)) {
    if (!declared.variable.has(name)) problems.push(`${file}: var.${name} is not declared`);
  }
  for (const [, ref] of code.matchAll(/\bdata\.([a-z][a-z0-9_]*\.[a-z_][a-z0-9_]*)/g)) {
    if (!declared.data.has(ref)) problems.push(`${file}: data.${ref} is not declared`);
  }
  for (const [whole, type, name] of code.matchAll(/(?<![.\w"])((?:aws|random)_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)/g)) {
    if (!declared.resource.has(`${type}.${name}`)) problems.push(`${file}: ${whole} is not a declared resource`);
  }
}
if (declared.resource.size < 10) problems.push(`terraform: only ${declared.resource.size} resources found (parse problem?)`);

// ---- Cloud Run (Knative Service)
const runFile = path.join(root, "gcp", "cloud-run-api.yaml");
try {
  new Service(YAML.parse(readFileSync(runFile, "utf8"))).validate();
} catch (error) {
  problems.push(`gcp/cloud-run-api.yaml: ${error.message}`);
}

// ---- Cloud Build
const build = YAML.parse(readFileSync(path.join(root, "gcp", "cloudbuild.yaml"), "utf8"));
if (!Array.isArray(build?.steps) || build.steps.some((s) => typeof s.name !== "string")) problems.push("gcp/cloudbuild.yaml: every step needs a name (the builder image)");

// ---- Azure Container Apps
const app = YAML.parse(readFileSync(path.join(root, "azure", "container-app-api.yaml"), "utf8"));
const containers = app?.properties?.template?.containers ?? [];
if (containers.length === 0) problems.push("azure/container-app-api.yaml: properties.template.containers is empty");
const secretNames = new Set((app?.properties?.configuration?.secrets ?? []).map((s) => s.name));
for (const c of containers) {
  for (const e of c.env ?? []) {
    if (e.secretRef && !secretNames.has(e.secretRef)) problems.push(`azure/container-app-api.yaml: env ${e.name} refers to the undeclared secret ${e.secretRef}`);
  }
}
if (app?.properties?.configuration?.ingress?.targetPort !== 8000) problems.push("azure/container-app-api.yaml: ingress.targetPort must be 8000");

if (problems.length > 0) {
  for (const p of problems) console.log(p);
  process.exit(1);
}
console.log(`ok: terraform (${declared.resource.size} resources, ${declared.variable.size} variables), cloud run, cloud build, container apps`);
