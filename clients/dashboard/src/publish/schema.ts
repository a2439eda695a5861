/** The publish form's fields, typed against the generated protocol: every field of every
 * event type's `data` must be described (a new field fails the build), `required` must match
 * whether the generated type makes it optional, and an enum's options must be exactly the
 * generated union's members. The limits (lengths, minimums, patterns) mirror the server's
 * models, and a unit test compares them with `python -m realtime.schema`. */
import { EVENT_TYPES, type EventDataMap, type EventType } from "@realtime-hub/client";

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

export interface NumberField {
  kind: "number";
  integer?: boolean;
  minimum?: number;
}
export interface TextField {
  kind: "text";
  maxLength: number;
  multiline?: boolean;
  pattern?: { regex: string; hint: string };
}
/** Every member of the union, each with its label: exhaustive by construction. */
export interface EnumField<V extends string> {
  kind: "enum";
  options: { readonly [K in V]: string };
  default?: V;
}
export type MapValues<V> = unknown extends V
  ? { kind: "any" }
  : [NonNullable<V>] extends [number]
    ? { kind: "number" }
    : [NonNullable<V>] extends [string]
      ? { kind: "enum"; options: { readonly [K in NonNullable<V> & string]: string } }
      : never;
export interface MapField<V> {
  kind: "map";
  values: MapValues<V>;
  minEntries?: number;
  maxEntries?: number;
}

type FieldKind<V> = [V] extends [number]
  ? NumberField
  : [V] extends [string]
    ? string extends V
      ? TextField
      : EnumField<V>
    : [V] extends [Record<string, unknown>]
      ? MapField<V[string]>
      : never;

export type FieldSpec<V, Required extends boolean> = FieldKind<NonNullable<V>> & {
  required: Required;
  label: string;
  placeholder?: string;
};

export type DataSpec<T> = { readonly [K in keyof T]-?: FieldSpec<T[K], K extends RequiredKeys<T> ? true : false> };

export interface EventSpec<T> {
  description: string;
  fields: DataSpec<T>;
  /** Rules across fields (the server's model validators). */
  check?: (data: T) => { field: keyof T & string; message: string }[];
  example: T;
}

export type EventSpecs = { readonly [T in EventType]: EventSpec<EventDataMap[T]> };

const NAME = 256;
const MESSAGE = 8192;
const SERVICE_STATES = { healthy: "healthy", degraded: "degraded", down: "down" } as const;

const text = <R extends boolean>(required: R, label: string, maxLength = NAME, placeholder?: string) =>
  ({ kind: "text", required, label, maxLength, ...(maxLength > NAME ? { multiline: true } : {}), ...(placeholder ? { placeholder } : {}) }) as const;
const count = <R extends boolean>(required: R, label: string) => ({ kind: "number", integer: true, minimum: 0, required, label }) as const;

export const EVENT_SPECS: EventSpecs = {
  PlatformStatus: {
    description: "The platform's overall status and each service's (to admins).",
    fields: {
      status: { kind: "enum", required: true, label: "Status", options: SERVICE_STATES },
      message: text(false, "Message", MESSAGE, "Replica lag"),
      services: { kind: "map", required: false, label: "Services (JSON: name → healthy|degraded|down)", values: { kind: "enum", options: SERVICE_STATES } },
    },
    example: { status: "degraded", message: "Replica lag", services: { db: "degraded", api: "healthy" } },
  },
  AnalyticsUpdate: {
    description: "Named metrics (one chart each).",
    fields: {
      metrics: { kind: "map", required: true, label: "Metrics (JSON: name → number)", values: { kind: "number" }, minEntries: 1, maxEntries: 1000 },
      period: text(false, "Period", NAME, "last 5 minutes"),
    },
    example: { metrics: { cpu: 0.62, requestsPerSecond: 1250 } },
  },
  UserCountUpdate: {
    description: "Total and active users.",
    fields: {
      totalUsers: count(true, "Total users"),
      activeUsers: count(true, "Active users"),
      newUsersToday: count(false, "New users today"),
    },
    check: (data) => (data.activeUsers > data.totalUsers ? [{ field: "activeUsers", message: "Active users cannot exceed total users." }] : []),
    example: { totalUsers: 1200, activeUsers: 87 },
  },
  GenerationMetrics: {
    description: "Generation counts and duration.",
    fields: {
      totalGenerations: count(true, "Total generations"),
      generationsLastHour: count(false, "Generations in the last hour"),
      averageDurationMs: { kind: "number", minimum: 0, required: false, label: "Average duration (ms)" },
      failedGenerations: count(false, "Failed generations"),
    },
    example: { totalGenerations: 50211, generationsLastHour: 312, averageDurationMs: 840.5, failedGenerations: 3 },
  },
  RevenueUpdate: {
    description: "Revenue, with its currency.",
    fields: {
      totalRevenue: { kind: "number", required: true, label: "Total revenue" },
      currency: { kind: "text", required: true, label: "Currency (ISO 4217)", maxLength: 3, placeholder: "EUR", pattern: { regex: "^[A-Z]{3}$", hint: "three capital letters, e.g. USD" } },
      period: text(false, "Period", NAME, "today"),
    },
    example: { totalRevenue: 18250.75, currency: "EUR", period: "today" },
  },
  UserAction: {
    description: "Something a user did.",
    fields: {
      userId: text(true, "User id", NAME, "u-17"),
      action: text(true, "Action", NAME, "login"),
      details: { kind: "map", required: false, label: "Details (JSON object)", values: { kind: "any" } },
    },
    example: { userId: "u-17", action: "login", details: { ip: "203.0.113.7" } },
  },
  RoleAssignment: {
    description: "A role given to or taken from a user.",
    fields: {
      userId: text(true, "User id", NAME, "u-17"),
      role: text(true, "Role", NAME, "editor"),
      change: { kind: "enum", required: true, label: "Change", options: { assigned: "assigned", revoked: "revoked" } },
      by: text(false, "By", NAME, "alice"),
    },
    example: { userId: "u-17", role: "editor", change: "assigned", by: "alice" },
  },
  SystemEvent: {
    description: "A system event (deploys, failovers…), to admins.",
    fields: {
      eventType: text(true, "Event type", NAME, "deploy"),
      message: text(true, "Message", MESSAGE, "v2.3.1 is live"),
      source: text(false, "Source", NAME, "ci"),
    },
    example: { eventType: "deploy", message: "v2.3.1 is live", source: "ci" },
  },
  Alert: {
    description: "An alert for the alert center (error and critical also toast).",
    fields: {
      title: text(true, "Title", NAME, "Disk almost full"),
      message: text(true, "Message", MESSAGE, "/var at 91%"),
      severity: {
        kind: "enum",
        required: false,
        label: "Severity",
        options: { info: "info", success: "success", warning: "warning", error: "error", critical: "critical" },
        default: "info",
      },
      source: text(false, "Source", NAME, "node-3"),
    },
    example: { title: "Disk almost full", message: "/var at 91%", severity: "warning", source: "node-3" },
  },
  PerformanceAlert: {
    description: "A metric over its threshold.",
    fields: {
      metric: text(true, "Metric", NAME, "p99Latency"),
      value: { kind: "number", required: true, label: "Value" },
      threshold: { kind: "number", required: true, label: "Threshold" },
      unit: text(false, "Unit", NAME, "ms"),
      service: text(false, "Service", NAME, "checkout"),
    },
    example: { metric: "p99Latency", value: 912, threshold: 500, unit: "ms", service: "checkout" },
  },
  TestMessage: {
    description: "A test message (to admins).",
    fields: { message: text(true, "Message", MESSAGE, "hello dashboards") },
    example: { message: "hello dashboards" },
  },
};

export const PUBLISH_TYPES: readonly EventType[] = EVENT_TYPES;

/** Any field, as the form and the validator read it. */
export interface AnyField {
  kind: "number" | "text" | "enum" | "map";
  required: boolean;
  label: string;
  placeholder?: string;
  integer?: boolean;
  minimum?: number;
  maxLength?: number;
  multiline?: boolean;
  pattern?: { regex: string; hint: string };
  options?: Readonly<Record<string, string>>;
  default?: string;
  values?: { kind: "any" | "number" | "enum"; options?: Readonly<Record<string, string>> };
  minEntries?: number;
  maxEntries?: number;
}

/** The form's field names of `type`, in the spec's order. */
export function fieldsOf(type: EventType): [string, AnyField][] {
  return Object.entries(EVENT_SPECS[type].fields as unknown as Record<string, AnyField>);
}

export type FormValues = Record<string, string>;

/** The example data of `type` as form values. */
export function exampleValues(type: EventType): FormValues {
  const example = EVENT_SPECS[type].example as unknown as Record<string, unknown>;
  const values: FormValues = {};
  for (const [name, field] of fieldsOf(type)) {
    const value = example[name];
    if (value === undefined) values[name] = field.kind === "enum" && field.default ? field.default : "";
    else values[name] = typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return values;
}

export function emptyValues(type: EventType): FormValues {
  return Object.fromEntries(fieldsOf(type).map(([name, field]) => [name, field.kind === "enum" && field.default ? field.default : ""]));
}

export interface Validation<T extends EventType> {
  data?: EventDataMap[T];
  /** field → what is wrong */
  issues: Record<string, string>;
}

const NOT_BLANK = /\S/;

/** The form's values as `data` for `type`, or what is wrong with them, field by field. */
export function validate<T extends EventType>(type: T, values: FormValues): Validation<T> {
  const issues: Record<string, string> = {};
  const data: Record<string, unknown> = {};
  for (const [name, field] of fieldsOf(type)) {
    const raw = values[name] ?? "";
    if (raw.trim() === "") {
      if (field.required) issues[name] = `${field.label} is required.`;
      continue;
    }
    const problem = readField(field, raw, (value) => (data[name] = value));
    if (problem) issues[name] = problem;
  }
  if (Object.keys(issues).length === 0) {
    const spec = EVENT_SPECS[type] as unknown as EventSpec<EventDataMap[T]>;
    for (const { field, message } of spec.check?.(data as unknown as EventDataMap[T]) ?? []) issues[field] = message;
  }
  return Object.keys(issues).length > 0 ? { issues } : { data: data as unknown as EventDataMap[T], issues };
}

function readField(field: AnyField, raw: string, set: (value: unknown) => void): string | undefined {
  switch (field.kind) {
    case "number": {
      const value = Number(raw.trim());
      if (!Number.isFinite(value)) return "Enter a number.";
      if (field.integer && !Number.isInteger(value)) return "Enter a whole number.";
      if (field.minimum !== undefined && value < field.minimum) return `At least ${field.minimum}.`;
      if (Math.abs(value) > Number.MAX_SAFE_INTEGER) return "Too large.";
      set(value);
      return undefined;
    }
    case "text": {
      if (!NOT_BLANK.test(raw)) return "Enter some text.";
      if (raw.length > (field.maxLength ?? NAME)) return `At most ${field.maxLength} characters.`;
      if (field.pattern && !new RegExp(field.pattern.regex).test(raw)) return `Expected ${field.pattern.hint}.`;
      set(raw);
      return undefined;
    }
    case "enum": {
      if (!field.options || !Object.hasOwn(field.options, raw)) return `One of: ${Object.keys(field.options ?? {}).join(", ")}.`;
      set(raw);
      return undefined;
    }
    case "map": {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return 'Enter a JSON object, e.g. {"name": 1}.';
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "Enter a JSON object.";
      const entries = Object.entries(parsed);
      if (field.minEntries !== undefined && entries.length < field.minEntries) return `At least ${field.minEntries} entr${field.minEntries === 1 ? "y" : "ies"}.`;
      if (field.maxEntries !== undefined && entries.length > field.maxEntries) return `At most ${field.maxEntries} entries.`;
      for (const [key, value] of entries) {
        if (key.length < 1 || key.length > NAME || !NOT_BLANK.test(key)) return `Names are 1–${NAME} characters: ${JSON.stringify(key.slice(0, 40))}.`;
        const values = field.values;
        if (values?.kind === "number" && (typeof value !== "number" || !Number.isFinite(value))) return `${key}: expected a number.`;
        if (values?.kind === "enum" && (typeof value !== "string" || !Object.hasOwn(values.options ?? {}, value))) {
          return `${key}: one of ${Object.keys(values.options ?? {}).join(", ")}.`;
        }
      }
      set(parsed);
      return undefined;
    }
    default:
      return undefined;
  }
}
