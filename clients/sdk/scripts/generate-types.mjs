#!/usr/bin/env node
// Generates src/generated/protocol.ts from the server's pydantic models:
//   `python -m realtime.schema` (one JSON Schema document) → json-schema-to-typescript.
//
//   node scripts/generate-types.mjs           write the file
//   node scripts/generate-types.mjs --check   exit 1 when the committed file differs (drift)
//
// The interpreter is $REALTIME_PYTHON, else the repository's .venv; PYTHONPATH is set here
// so the script runs from any directory.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../..");
export const OUTPUT = resolve(here, "../src/generated/protocol.ts");

export function readSchema() {
  const python = process.env.REALTIME_PYTHON ?? join(repo, ".venv/bin/python");
  if (!existsSync(python)) throw new Error(`no Python at ${python}: run \`make install\` (or set REALTIME_PYTHON)`);
  const pythonPath = [join(repo, "layers/realtime/python"), repo, process.env.PYTHONPATH].filter(Boolean).join(":");
  const out = execFileSync(python, ["-m", "realtime.schema"], {
    cwd: repo,
    env: { ...process.env, PYTHONPATH: pythonPath },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out);
}

/** The wire, not the model: the server serialises with `exclude_none`, so a field whose
 * default is null is absent rather than null (optional, not `| null`), and a constant with
 * a default (every reply's `type`) is always sent (required, so unions narrow on it).
 * Property titles are dropped: they would each become a type alias of their own. */
function wire(node, isDef = false) {
  if (Array.isArray(node)) return node.map((item) => wire(item));
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "title" && !isDef) continue;
    if (key === "$defs") {
      out.$defs = Object.fromEntries(Object.entries(value).map(([name, def]) => [name, wire(def, true)]));
    } else if (key === "properties" && node.type === "object") {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, prop]) => [name, wire(prop)]));
    } else {
      out[key] = wire(value);
    }
  }
  // Keys constrained by a pattern are just string keys in TypeScript.
  const patterns = out.patternProperties && Object.values(out.patternProperties);
  if (patterns?.length === 1 && out.additionalProperties === undefined) {
    out.additionalProperties = patterns[0];
    delete out.patternProperties;
  }
  if (out.properties) {
    const required = new Set(out.required ?? []);
    for (const [name, prop] of Object.entries(out.properties)) {
      if (required.has(name)) continue;
      if (prop.default === null && Array.isArray(prop.anyOf)) {
        const rest = prop.anyOf.filter((option) => option.type !== "null");
        const { anyOf: _anyOf, default: _default, ...keep } = prop;
        out.properties[name] = rest.length === 1 ? { ...keep, ...rest[0] } : { ...keep, anyOf: rest };
      } else if ("const" in prop && prop.default === prop.const) {
        required.add(name);
      }
    }
    if (required.size) out.required = [...required];
  }
  return out;
}

export async function generate() {
  const raw = readSchema();
  const { events, errorCodes } = raw.properties;
  const schema = wire(raw);
  // Name the roots, so each becomes one exported type; plain refs, so none is emitted twice.
  for (const ref of Object.values(schema.properties.events.properties)) delete ref["x-group"];
  Object.assign(schema.properties.events, { title: "EventDataMap", additionalProperties: false });
  schema.$defs.ErrorReply.properties.code = { tsType: "ErrorCode" };
  Object.assign(schema.properties.actions, { title: "ClientAction" });
  Object.assign(schema.properties.replies, { title: "ServerReply" });
  Object.assign(schema.properties.errorCodes, { title: "ErrorCode", type: "string" });
  const types = await compile(schema, "RealtimeProtocol", {
    bannerComment: "",
    additionalProperties: false,
    unreachableDefinitions: false,
    strictIndexSignatures: true,
    format: true,
    style: { printWidth: 110 },
  });
  // json-schema-to-typescript notes where each interface came from; the models say it better.
  const cleaned = types.replace(/\n\s*\*?\s*\n?\s*\* This interface was referenced by [^*]*\*\//g, "\n */");
  const groups = Object.fromEntries(Object.entries(events.properties).map(([type, ref]) => [type, ref["x-group"]]));
  const list = (values) => values.map((value) => `  ${JSON.stringify(value)},`).join("\n");
  const constants = [
    "/** Every event type, in the server's order. */",
    `export const EVENT_TYPES = [\n${list(Object.keys(groups))}\n] as const;`,
    "",
    "/** The group each event type is published to by default (REST broadcast routes, the SignalR façade). */",
    "export const DEFAULT_GROUPS: { readonly [T in keyof EventDataMap]: string } = {",
    ...Object.entries(groups).map(([type, group]) => `  ${type}: ${JSON.stringify(group)},`),
    "};",
    "",
    "/** Every `code` an Error frame or a REST error can carry. */",
    `export const ERROR_CODES: readonly ErrorCode[] = [\n${list(errorCodes.enum)}\n];`,
    "",
  ].join("\n");
  return [
    "// Generated by scripts/generate-types.mjs from `python -m realtime.schema` (the server's",
    "// pydantic models). Do not edit: run `npm run generate -w @realtime-hub/client`.",
    "/* eslint-disable */",
    "",
    cleaned.trimEnd(),
    "",
    constants,
  ].join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = await generate();
  if (process.argv.includes("--check")) {
    const committed = existsSync(OUTPUT) ? readFileSync(OUTPUT, "utf8") : "";
    if (committed !== text) {
      console.error(`${OUTPUT} differs from the server's models: run \`npm run generate -w @realtime-hub/client\``);
      process.exit(1);
    }
  } else {
    writeFileSync(OUTPUT, text);
    console.error(`wrote ${OUTPUT}`);
  }
}
