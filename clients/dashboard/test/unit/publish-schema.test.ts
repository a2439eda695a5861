/** The publish form's fields and checks, and their agreement with the server's models
 * (`python -m realtime.schema`): a field, a limit or an enum member that changes on the server
 * fails here until the form follows. */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EVENT_TYPES, type EventType } from "@realtime-hub/client";
import { describe, expect, it } from "vitest";
import { EVENT_SPECS, PAYLOAD, exampleValues, fieldsOf, validate, type AnyValues, type FormValues, type NameRule } from "../../src/publish/schema";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

describe("validation", () => {
  it("every example is valid", () => {
    for (const type of EVENT_TYPES) {
      const result = validate(type, exampleValues(type));
      expect(result.issues, type).toEqual({});
      expect(result.data, type).toEqual(EVENT_SPECS[type].example);
    }
  });

  it("names every missing required field", () => {
    expect(validate("Alert", { title: "", message: " ", severity: "info" }).issues).toEqual({
      title: "Title is required.",
      message: "Message is required.",
    });
    expect(validate("PerformanceAlert", {}).issues).toMatchObject({ metric: expect.any(String), value: expect.any(String), threshold: expect.any(String) });
  });

  it("leaves empty optional fields out", () => {
    expect(validate("Alert", { title: "Disk", message: "full", severity: "", source: "" }).data).toEqual({ title: "Disk", message: "full" });
  });

  it("checks numbers, integers, minimums and the cross-field rule", () => {
    expect(validate("UserCountUpdate", { totalUsers: "ten", activeUsers: "1" }).issues.totalUsers).toBe("Enter a number.");
    expect(validate("UserCountUpdate", { totalUsers: "1.5", activeUsers: "1" }).issues.totalUsers).toBe("Enter a whole number.");
    expect(validate("UserCountUpdate", { totalUsers: "-1", activeUsers: "0" }).issues.totalUsers).toBe("At least 0.");
    expect(validate("UserCountUpdate", { totalUsers: "10", activeUsers: "11" }).issues).toEqual({ activeUsers: "Active users cannot exceed total users." });
    expect(validate("UserCountUpdate", { totalUsers: "10", activeUsers: "3" }).data).toEqual({ totalUsers: 10, activeUsers: 3 });
    expect(validate("RevenueUpdate", { totalRevenue: "-12.5", currency: "EUR" }).data).toEqual({ totalRevenue: -12.5, currency: "EUR" });
  });

  it("checks patterns, lengths and enums", () => {
    expect(validate("RevenueUpdate", { totalRevenue: "1", currency: "eur" }).issues.currency).toMatch(/three capital letters/);
    expect(validate("TestMessage", { message: "x".repeat(8193) }).issues.message).toBe("At most 8192 characters.");
    expect(validate("SystemEvent", { eventType: "x".repeat(257), message: "m" }).issues.eventType).toBe("At most 256 characters.");
    expect(validate("RoleAssignment", { userId: "u", role: "r", change: "promoted" }).issues.change).toMatch(/assigned, revoked/);
  });

  it("checks JSON maps: an object, value types, entry counts", () => {
    expect(validate("AnalyticsUpdate", { metrics: "[1]" }).issues.metrics).toBe("Enter a JSON object.");
    expect(validate("AnalyticsUpdate", { metrics: "{cpu: 1}" }).issues.metrics).toMatch(/JSON object/);
    expect(validate("AnalyticsUpdate", { metrics: "{}" }).issues.metrics).toBe("At least 1 entry.");
    expect(validate("AnalyticsUpdate", { metrics: '{"cpu": "high"}' }).issues.metrics).toBe("cpu: expected a number.");
    expect(validate("PlatformStatus", { status: "healthy", services: '{"db": "fine"}' }).issues.services).toMatch(/db: one of healthy, degraded, down/);
    expect(validate("UserAction", { userId: "u", action: "a", details: '{"nested": {"ok": [1]}}' }).data).toEqual({ userId: "u", action: "a", details: { nested: { ok: [1] } } });
  });

  it("blank text as the server sees it: required, or left out", () => {
    // Whitespace to Python (U+001C-U+001F, U+0085) or to JavaScript (U+FEFF), not to both.
    for (const blank of [" \t\n", "\x85", "\x1c\x1f", "\ufeff", "\u3000\u2028"]) {
      expect(validate("TestMessage", { message: blank }).issues, JSON.stringify(blank)).toEqual({ message: "Message is required." });
      expect(validate("Alert", { title: "t", message: "m", source: blank }).data, JSON.stringify(blank)).toEqual({ title: "t", message: "m" });
    }
    expect(validate("TestMessage", { message: "\x85hi" }).data).toEqual({ message: "\x85hi" });
    expect(validate("TestMessage", { message: "😀".repeat(8192) }).issues).toEqual({}); // 8192 characters, 16384 UTF-16 units
  });

  it("checks maximums: numbers within JavaScript's safe range", () => {
    expect(validate("UserCountUpdate", { totalUsers: "9007199254740991", activeUsers: "0" }).data).toEqual({ totalUsers: 9007199254740991, activeUsers: 0 });
    expect(validate("UserCountUpdate", { totalUsers: "9007199254740993", activeUsers: "0" }).issues.totalUsers).toBe("At most 9007199254740991.");
    expect(validate("PerformanceAlert", { metric: "m", value: "-1e300", threshold: "1" }).issues.value).toBe("At least -9007199254740991.");
    expect(validate("AnalyticsUpdate", { metrics: '{"cpu": 1e300}' }).issues.metrics).toBe("cpu: at most 9007199254740991.");
  });

  it("checks the names of maps and the JSON values of free-form objects", () => {
    expect(validate("PlatformStatus", { status: "down", services: '{" ": "down"}' }).issues.services).toBe('Names must be text, not only spaces: " ".');
    expect(validate("AnalyticsUpdate", { metrics: '{"": 1}' }).issues.metrics).toBe('Names are 1–256 characters: "".');
    expect(validate("AnalyticsUpdate", { metrics: `{"${"n".repeat(257)}": 1}` }).issues.metrics).toMatch(/^Names are 1–256 characters: "n+…"\.$/);
    expect(validate("UserAction", { userId: "u", action: "a", details: '{"": 1}' }).data).toEqual({ userId: "u", action: "a", details: { "": 1 } });
    const details = (json: string) => validate("UserAction", { userId: "u", action: "a", details: json }).issues.details;
    expect(details('{"a": {"b": [1, 9007199254740992]}}')).toBe("a.b[1]: at most 9007199254740991.");
    expect(details(`{"a": {"${"k".repeat(257)}": 1}}`)).toMatch(/^a: names are at most 256 characters/);
    expect(details(`{"a": ${"[".repeat(30)}1${"]".repeat(30)}}`)).toBeUndefined();
    expect(details(`{"a": ${"[".repeat(31)}1${"]".repeat(31)}}`)).toMatch(/nested too deeply/);
    expect(details(JSON.stringify({ a: Object.fromEntries(Array.from({ length: 1001 }, (_, index) => [`k${index}`, index])) }))).toBe("a: at most 1000 names in one object.");
    expect(details(JSON.stringify({ a: Array.from({ length: 9995 }, (_, index) => index) }))).toBeUndefined(); // 10,000 values with the data's own
    expect(details(JSON.stringify({ a: Array.from({ length: 9996 }, (_, index) => index) }))).toBe("Too many values: an event holds at most 10000 in all.");
  });
});

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  type?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  patternProperties?: Record<string, JsonSchema>;
  propertyNames?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minProperties?: number;
  maxProperties?: number;
  default?: unknown;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
};

function python(args: string[], input?: string): string {
  const python = process.env.REALTIME_PYTHON ?? join(repo, ".venv/bin/python");
  if (!existsSync(python)) throw new Error(`no Python at ${python}: run \`make install\``);
  return execFileSync(python, args, {
    cwd: repo,
    env: { ...process.env, PYTHONPATH: `${join(repo, "layers/realtime/python")}:${repo}` },
    encoding: "utf8",
    ...(input === undefined ? {} : { input }),
    maxBuffer: 16 * 1024 * 1024,
  });
}

function serverSchema(): Record<string, JsonSchema> {
  return (JSON.parse(python(["-m", "realtime.schema"])) as JsonSchema).$defs ?? {};
}

/** A map's names: the document's `propertyNames` (every map says them: no unconstrained keys). */
function expectNames(names: NameRule | undefined, schema: JsonSchema | undefined, where: string) {
  expect(schema, `${where}: propertyNames`).toBeDefined();
  expect(schema!.type ?? "string", where).toBe("string");
  expect(names?.minLength, where).toBe(schema!.minLength);
  expect(names?.maxLength, where).toBe(schema!.maxLength);
  expect(names?.pattern?.regex, where).toBe(schema!.pattern);
}

/** A map's values: an enum, bounded numbers, or the server's JsonValue (any JSON value, its
 * numbers bounded and the names of its objects constrained). */
function expectValues(values: AnyValues | undefined, schema: JsonSchema | boolean | undefined, defs: Record<string, JsonSchema>, where: string) {
  if (typeof schema !== "object") throw new Error(`${where}: a map whose values the document leaves open (${JSON.stringify(schema)})`);
  if (schema.enum) {
    expect(values?.kind, where).toBe("enum");
    expect(Object.keys(values?.options ?? {}).sort(), where).toEqual([...schema.enum].sort());
  } else if (schema.type === "number") {
    expect(values?.kind, where).toBe("number");
    expect(values?.minimum, where).toBe(schema.minimum);
    expect(values?.maximum, where).toBe(schema.maximum);
  } else if (schema.$ref === "#/$defs/JsonValue") {
    expect(values?.kind, where).toBe("json");
    const options = defs.JsonValue?.anyOf ?? [];
    expect(options.map((option) => option.type).sort(), where).toEqual(["array", "boolean", "integer", "null", "number", "object", "string"]);
    for (const option of options) {
      if (option.type === "integer" || option.type === "number") {
        expect(values?.minimum, `${where} (${option.type})`).toBe(option.minimum);
        expect(values?.maximum, `${where} (${option.type})`).toBe(option.maximum);
      } else if (option.type === "object") {
        expectNames(values?.names, option.propertyNames, `${where} (nested objects)`);
        expect(option.additionalProperties, where).toEqual({ $ref: "#/$defs/JsonValue" });
      } else if (option.type === "array") {
        expect(option.items, where).toEqual({ $ref: "#/$defs/JsonValue" });
      } else {
        expect(Object.keys(option), `${where} (${option.type})`).toEqual(["type"]); // unconstrained: true, false, null, any text
      }
    }
  } else {
    throw new Error(`${where}: map values the form does not know (${JSON.stringify(schema)})`);
  }
}

describe("the form agrees with the server's models", () => {
  it("fields, required, kinds, limits, patterns and enum members of every event type", () => {
    const defs = serverSchema();
    for (const type of EVENT_TYPES) {
      const model = defs[type];
      expect(model, type).toBeDefined();
      const fields = Object.fromEntries(fieldsOf(type));
      expect(Object.keys(fields).sort(), type).toEqual(Object.keys(model!.properties ?? {}).sort());
      expect(Object.entries(fields).filter(([, field]) => field.required).map(([name]) => name).sort(), type).toEqual([...(model!.required ?? [])].sort());
      for (const [name, property] of Object.entries(model!.properties ?? {})) {
        const schema = property.anyOf?.find((option) => option.type !== "null") ?? property;
        const field = fields[name]!;
        const where = `${type}.${name}`;
        if (schema.enum) {
          expect(field.kind, where).toBe("enum");
          expect(Object.keys(field.options ?? {}).sort(), where).toEqual([...schema.enum].sort());
          if (typeof property.default === "string") expect(field.default, where).toBe(property.default);
        } else if (schema.type === "integer" || schema.type === "number") {
          expect(field.kind, where).toBe("number");
          expect(field.integer ?? false, where).toBe(schema.type === "integer");
          expect(field.minimum, where).toBe(schema.minimum);
          expect(field.maximum, where).toBe(schema.maximum);
        } else if (schema.type === "string") {
          expect(field.kind, where).toBe("text");
          if (schema.maxLength !== undefined) expect(field.maxLength, where).toBe(schema.maxLength);
          expect(field.pattern?.regex, where).toBe(schema.pattern);
          // The form sends no empty text (blank is required or left out): a minimum of 1 at most.
          expect(schema.minLength ?? 0, where).toBeLessThanOrEqual(1);
        } else if (schema.type === "object") {
          expect(field.kind, where).toBe("map");
          expect(schema.patternProperties, `${where}: names the document leaves unconstrained`).toBeUndefined();
          expectNames(field.names, schema.propertyNames, where);
          expectValues(field.values, schema.additionalProperties, defs, where);
          expect(field.minEntries, where).toBe(schema.minProperties);
          expect(field.maxEntries, where).toBe(schema.maxProperties);
        } else {
          throw new Error(`${where}: a kind of field the form does not know (${JSON.stringify(schema)})`);
        }
      }
    }
  }, 60_000);

  it("refuses what the server refuses and accepts what it accepts", () => {
    const nested = (levels: number) => `{"a": ${"[".repeat(levels)}1${"]".repeat(levels)}}`;
    const list = (length: number) => JSON.stringify({ a: Array.from({ length }, (_, index) => index) });
    const cases: [EventType, FormValues][] = [
      ...[" ", "\x85", "\x1c\x1d", "\ufeff", "\u3000\u2028", "\x1cx", "😀".repeat(256), "x".repeat(257)].map((title): [EventType, FormValues] => ["Alert", { title, message: "m" }]),
      ["Alert", { title: "t", message: "m", source: "\x85" }],
      ["TestMessage", { message: "😀".repeat(8192) }],
      ["TestMessage", { message: "x".repeat(8193) }],
      ["RevenueUpdate", { totalRevenue: "1", currency: "eur" }],
      ...["9007199254740991", "9007199254740992", "-1", "1.5"].map((totalUsers): [EventType, FormValues] => ["UserCountUpdate", { totalUsers, activeUsers: "0" }]),
      ...["-9007199254740991", "-9007199254740992", "1e300"].map((value): [EventType, FormValues] => ["PerformanceAlert", { metric: "m", value, threshold: "0" }]),
      ...['{"cpu": 9007199254740991}', '{"cpu": 1e300}', '{" ": 1}', '{"": 1}', '{"\\u0085": 1}', `{"${"n".repeat(257)}": 1}`].map((metrics): [EventType, FormValues] => ["AnalyticsUpdate", { metrics }]),
      ...['{"db": "down"}', '{"\\ufeff": "down"}', '{"db": "fine"}'].map((services): [EventType, FormValues] => ["PlatformStatus", { status: "down", services }]),
      ...['{"": 1, " ": true, "x": null}', '{"a": {"b": [9007199254740992]}}', '{"a": [-1e300]}', `{"a": {"${"k".repeat(256)}": 1}}`, `{"a": {"${"k".repeat(257)}": 1}}`, nested(30), nested(31), list(9995), list(9996)].map(
        (details): [EventType, FormValues] => ["UserAction", { userId: "u", action: "a", details }],
      ),
      ["UserAction", { userId: "u", action: "a", details: JSON.stringify({ a: Object.fromEntries(Array.from({ length: 1001 }, (_, index) => [`k${index}`, 1])) }) }],
    ];
    // What the form sends when it accepts; what was typed (as JSON) when it refuses.
    const bodies = cases.map(([type, values]) => {
      const { data } = validate(type, values);
      if (data) return JSON.stringify(data);
      const typed = fieldsOf(type)
        .filter(([name]) => (values[name] ?? "") !== "")
        .map(([name, field]) => `${JSON.stringify(name)}: ${field.kind === "number" || field.kind === "map" ? values[name] : JSON.stringify(values[name])}`);
      return `{${typed.join(", ")}}`;
    });
    const script = [
      "import json, sys",
      "from realtime import payload",
      "from realtime.domain.event_types import validate_event_data",
      "from realtime.errors import ValidationFailed",
      "def accepts(type, body):",
      "    try:",
      "        validate_event_data(type, payload.loads(body))",
      "        return True",
      "    except ValidationFailed:",
      "        return False",
      "print(json.dumps([accepts(type, body) for type, body in json.load(sys.stdin)]))",
    ].join("\n");
    const server = JSON.parse(python(["-c", script], JSON.stringify(cases.map(([type], index) => [type, bodies[index]])))) as boolean[];
    const disagreements = cases
      .map(([type, values], index) => ({ type, values, form: validate(type, values).data !== undefined, server: server[index] }))
      .filter(({ form, server }) => form !== server)
      .map(({ type, values, form, server }) => `${type} ${JSON.stringify(values).slice(0, 120)}: the form ${form ? "accepts" : "refuses"}, the server ${server ? "accepts" : "refuses"}`);
    expect(disagreements).toEqual([]);
    expect(server.filter(Boolean).length).toBeGreaterThan(5); // both ways are exercised
    expect(server.filter((accepted) => !accepted).length).toBeGreaterThan(5);
  }, 60_000);

  it("the limits of every payload (depth, names, values)", () => {
    const script = "import json; from realtime import payload as p; print(json.dumps(dict(maxDepth=p.MAX_DEPTH, maxKeys=p.MAX_KEYS, maxValues=p.MAX_VALUES, maxKeyLength=p.MAX_KEY_LENGTH)))";
    expect(JSON.parse(python(["-c", script]))).toEqual(PAYLOAD);
  }, 60_000);
});
