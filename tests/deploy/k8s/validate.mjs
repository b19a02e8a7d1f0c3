// Validates Kubernetes objects against the API schemas shipped in npm's kubernetes-models (offline).
//
// Input: a JSON array of objects on stdin. Output: one JSON report on stdout,
//   [{"kind": ..., "name": ..., "schema": "IoK8sApi...", "errors": [...], "unknown": [...]}]
// "errors" are schema violations (types, enums, required fields, formats); "unknown" are fields the schema
// does not define. The Kubernetes OpenAPI schemas allow unknown fields, so a misspelt field
// (readOnlyRootFileSystem) would pass them silently while the API server drops or rejects it: the validator is
// run on a proxy that records which properties it reads, and a property it never read is reported.
import { existsSync, readFileSync } from "node:fs";

// The schema modules by file (the package's "exports" map does not list all of them). This script is copied
// next to the node_modules that `npm ci` made.
const schemas = new URL("./node_modules/kubernetes-models/_schemas/", import.meta.url);

function schemaName(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  const g = group.split(".")[0];
  return `IoK8sApi${cap(g)}${cap(version)}${kind}`;
}

function wrap(obj, path, seen) {
  if (obj === null || typeof obj !== "object") return obj;
  const rec = { path, keys: Object.keys(obj), read: new Set(), enumerated: false, array: Array.isArray(obj) };
  seen.push(rec);
  const target = rec.array
    ? obj.map((v, i) => wrap(v, `${path}/${i}`, seen))
    : Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, wrap(v, `${path}/${k}`, seen)]));
  return new Proxy(target, {
    get(t, p, r) { if (typeof p === "string") rec.read.add(p); return Reflect.get(t, p, r); },
    has(t, p) { if (typeof p === "string") rec.read.add(p); return Reflect.has(t, p); },
    ownKeys(t) { rec.enumerated = true; return Reflect.ownKeys(t); },
  });
}

const docs = JSON.parse(readFileSync(0, "utf8"));
const report = [];
for (const doc of docs) {
  const name = schemaName(doc.apiVersion, doc.kind);
  const entry = { kind: doc.kind, name: doc.metadata?.name, schema: name, errors: [], unknown: [] };
  const file = new URL(`${name}.js`, schemas);
  if (!existsSync(file)) {
    entry.errors.push(`no schema ${name} for ${doc.apiVersion} ${doc.kind}`);
    report.push(entry);
    continue;
  }
  const { validate } = await import(file.href);
  const seen = [];
  if (!validate(wrap(doc, "", seen))) {
    entry.errors = validate.errors.map((e) => `${e.instancePath || "/"} ${e.keyword} ${JSON.stringify(e.params)}`);
  }
  // Maps (labels, annotations, data) are enumerated by the validator; objects with a fixed set of fields are not.
  for (const r of seen) {
    if (r.array || r.enumerated) continue;
    for (const k of r.keys) if (!r.read.has(k)) entry.unknown.push(`${r.path}/${k}`);
  }
  report.push(entry);
}
process.stdout.write(JSON.stringify(report));
