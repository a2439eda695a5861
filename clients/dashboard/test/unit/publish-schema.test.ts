/** The publish form's fields and checks, and their agreement with the server's models
 * (`python -m realtime.schema`): a field, a limit or an enum member that changes on the server
 * fails here until the form follows. */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EVENT_TYPES } from "@realtime-hub/client";
import { describe, expect, it } from "vitest";
import { EVENT_SPECS, exampleValues, fieldsOf, validate } from "../../src/publish/schema";

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
});

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  type?: string;
  enum?: string[];
  minimum?: number;
  maxLength?: number;
  pattern?: string;
  patternProperties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  minProperties?: number;
  maxProperties?: number;
  default?: unknown;
  $defs?: Record<string, JsonSchema>;
};

function serverSchema(): Record<string, JsonSchema> {
  const python = process.env.REALTIME_PYTHON ?? join(repo, ".venv/bin/python");
  if (!existsSync(python)) throw new Error(`no Python at ${python}: run \`make install\``);
  const output = execFileSync(python, ["-m", "realtime.schema"], {
    cwd: repo,
    env: { ...process.env, PYTHONPATH: `${join(repo, "layers/realtime/python")}:${repo}` },
    encoding: "utf8",
  });
  return (JSON.parse(output) as JsonSchema).$defs ?? {};
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
        } else if (schema.type === "string") {
          expect(field.kind, where).toBe("text");
          if (schema.maxLength !== undefined) expect(field.maxLength, where).toBe(schema.maxLength);
          if (schema.pattern !== undefined && schema.pattern !== "\\S") expect(field.pattern?.regex, where).toBe(schema.pattern);
        } else if (schema.type === "object") {
          expect(field.kind, where).toBe("map");
          const values = Object.values(schema.patternProperties ?? {})[0];
          const expected = values?.enum ? "enum" : values?.type === "number" ? "number" : "any";
          expect(field.values?.kind, where).toBe(expected);
          if (values?.enum) expect(Object.keys(field.values?.options ?? {}).sort(), where).toEqual([...values.enum].sort());
          expect(field.minEntries, where).toBe(schema.minProperties);
          expect(field.maxEntries, where).toBe(schema.maxProperties);
        } else {
          throw new Error(`${where}: a kind of field the form does not know (${JSON.stringify(schema)})`);
        }
      }
    }
  }, 60_000);
});
