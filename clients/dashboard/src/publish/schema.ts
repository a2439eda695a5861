/** The publish form's fields, typed against the generated protocol: every field of every
 * event type's `data` must be described (a new field fails the build), `required` must match
 * whether the generated type makes it optional, an enum's options must be exactly the
 * generated union's members, and a map's values are read from its generated value type. The
 * limits (lengths, bounds, patterns, the names and values of maps) mirror the server's models,
 * and a unit test compares them with `python -m realtime.schema`. */
import { EVENT_TYPES, type EventDataMap, type EventType, type JsonValue } from "@realtime-hub/client";

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

/** A regular expression of the server's document (ECMA-262, unanchored, as JSON Schema reads
 * it), with what to tell a user it asks for. */
export interface Pattern {
  regex: string;
  hint: string;
}
/** What the names (keys) of a map must be: its `propertyNames` in the document. */
export interface NameRule {
  minLength?: number;
  maxLength: number;
  pattern?: Pattern;
}
/** Every number the server takes has both bounds (at least JavaScript's safe range). */
export interface NumberField {
  kind: "number";
  integer?: boolean;
  minimum: number;
  maximum: number;
}
export interface TextField {
  kind: "text";
  maxLength: number;
  multiline?: boolean;
  pattern?: Pattern;
}
/** Every member of the union, each with its label: exhaustive by construction. */
export interface EnumField<V extends string> {
  kind: "enum";
  options: { readonly [K in V]: string };
  default?: V;
}
/** A map's values, by their generated type: numbers, an enum's members, or any JSON value
 * (`JsonValue`: its numbers within bounds, the names of its objects within a rule). */
export type MapValues<V> = [NonNullable<V>] extends [number]
  ? { kind: "number"; minimum: number; maximum: number }
  : [NonNullable<V>] extends [string]
    ? { kind: "enum"; options: { readonly [K in NonNullable<V> & string]: string } }
    : [V] extends [JsonValue | undefined]
      ? [JsonValue] extends [V]
        ? { kind: "json"; minimum: number; maximum: number; names: NameRule }
        : never
      : never;
export interface MapField<V> {
  kind: "map";
  names: NameRule;
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

/** What every event's data keeps to, whatever its fields say (realtime/payload.py: `check`).
 * JSON Schema cannot bound depth or totals, so the document does not say these; a unit test
 * compares them with the server's. */
export const PAYLOAD = { maxDepth: 32, maxKeys: 1000, maxValues: 10_000, maxKeyLength: 256 } as const;

/** Text must hold a character other than whitespace: the server's NON_BLANK, in terms
 * JavaScript's and Python's regexes read the same way (JavaScript's `\s` has U+FEFF; Python's
 * strip() also strips U+001C-U+001F and U+0085, which `\s` lacks). */
export const NON_BLANK: Pattern = { regex: "[^\\s\\x1c-\\x1f\\x85\\ufeff]", hint: "text, not only spaces" };

const NAME = 256;
const MESSAGE = 8192;
/** payload.MAX_SAFE_INTEGER: numbers are within ±(2**53 - 1), so every client reads them exactly. */
const SAFE = Number.MAX_SAFE_INTEGER;
const SERVICE_STATES = { healthy: "healthy", degraded: "degraded", down: "down" } as const;
/** The names of the maps keyed by text (ShortText on the server). */
const TEXT_NAMES: NameRule = { minLength: 1, maxLength: NAME, pattern: NON_BLANK };
/** The names of free-form JSON objects (payload.Key). */
const JSON_NAMES: NameRule = { maxLength: PAYLOAD.maxKeyLength };

const text = <R extends boolean>(required: R, label: string, maxLength = NAME, placeholder?: string) =>
  ({
    kind: "text",
    required,
    label,
    maxLength,
    pattern: NON_BLANK,
    ...(maxLength > NAME ? { multiline: true } : {}),
    ...(placeholder ? { placeholder } : {}),
  }) as const;
const count = <R extends boolean>(required: R, label: string) => ({ kind: "number", integer: true, minimum: 0, maximum: SAFE, required, label }) as const;
const amount = <R extends boolean>(required: R, label: string, minimum = -SAFE) => ({ kind: "number", minimum, maximum: SAFE, required, label }) as const;

export const EVENT_SPECS: EventSpecs = {
  PlatformStatus: {
    description: "The platform's overall status and each service's (to admins).",
    fields: {
      status: { kind: "enum", required: true, label: "Status", options: SERVICE_STATES },
      message: text(false, "Message", MESSAGE, "Replica lag"),
      services: {
        kind: "map",
        required: false,
        label: "Services (JSON: name → healthy|degraded|down)",
        names: TEXT_NAMES,
        values: { kind: "enum", options: SERVICE_STATES },
      },
    },
    example: { status: "degraded", message: "Replica lag", services: { db: "degraded", api: "healthy" } },
  },
  AnalyticsUpdate: {
    description: "Named metrics (one chart each).",
    fields: {
      metrics: {
        kind: "map",
        required: true,
        label: "Metrics (JSON: name → number)",
        names: TEXT_NAMES,
        values: { kind: "number", minimum: -SAFE, maximum: SAFE },
        minEntries: 1,
        maxEntries: 1000,
      },
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
      averageDurationMs: amount(false, "Average duration (ms)", 0),
      failedGenerations: count(false, "Failed generations"),
    },
    example: { totalGenerations: 50211, generationsLastHour: 312, averageDurationMs: 840.5, failedGenerations: 3 },
  },
  RevenueUpdate: {
    description: "Revenue, with its currency.",
    fields: {
      totalRevenue: amount(true, "Total revenue"),
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
      details: {
        kind: "map",
        required: false,
        label: "Details (JSON object)",
        names: JSON_NAMES,
        values: { kind: "json", minimum: -SAFE, maximum: SAFE, names: JSON_NAMES },
        maxEntries: PAYLOAD.maxKeys,
      },
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
      value: amount(true, "Value"),
      threshold: amount(true, "Threshold"),
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
  maximum?: number;
  maxLength?: number;
  multiline?: boolean;
  pattern?: Pattern;
  options?: Readonly<Record<string, string>>;
  default?: string;
  names?: NameRule;
  values?: AnyValues;
  minEntries?: number;
  maxEntries?: number;
}

/** A map's values, as the form and the validator read them. */
export interface AnyValues {
  kind: "json" | "number" | "enum";
  options?: Readonly<Record<string, string>>;
  minimum?: number;
  maximum?: number;
  names?: NameRule;
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

/** Whether `raw` matches `pattern` as a JSON Schema validator reads it (ECMA-262, Unicode). */
const matches = (pattern: Pattern, raw: string) => new RegExp(pattern.regex, "u").test(raw);

/** Blank as the server sees it (nothing but whitespace): left out when the field is optional. */
export const isBlank = (raw: string) => !matches(NON_BLANK, raw);

/** Text's length as JSON Schema and Python count it: in characters (code points), so an emoji
 * is one, not two as in `string.length`. */
const lengthOf = (text: string) => [...text].length;

/** The form's values as `data` for `type`, or what is wrong with them, field by field. */
export function validate<T extends EventType>(type: T, values: FormValues): Validation<T> {
  const issues: Record<string, string> = {};
  const data: Record<string, unknown> = {};
  for (const [name, field] of fieldsOf(type)) {
    const raw = values[name] ?? "";
    if (isBlank(raw)) {
      if (field.required) issues[name] = `${field.label} is required.`;
      continue;
    }
    const problem = readField(field, raw, (value) => (data[name] = value));
    if (problem) issues[name] = problem;
  }
  if (Object.keys(issues).length === 0 && countValues(data) > PAYLOAD.maxValues) {
    const largest = Object.keys(data).reduce((most, name) => (countValues(data[name]) > countValues(data[most]) ? name : most));
    issues[largest] = `Too many values: an event holds at most ${PAYLOAD.maxValues} in all.`;
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
      if (field.maximum !== undefined && value > field.maximum) return `At most ${field.maximum}.`;
      set(value);
      return undefined;
    }
    case "text": {
      if (field.maxLength !== undefined && lengthOf(raw) > field.maxLength) return `At most ${field.maxLength} characters.`;
      if (field.pattern && !matches(field.pattern, raw)) return `Expected ${field.pattern.hint}.`;
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
      const most = Math.min(field.maxEntries ?? PAYLOAD.maxKeys, PAYLOAD.maxKeys);
      if (field.minEntries !== undefined && entries.length < field.minEntries) return `At least ${field.minEntries} entr${field.minEntries === 1 ? "y" : "ies"}.`;
      if (entries.length > most) return `At most ${most} entries.`;
      for (const [name, value] of entries) {
        const problem = nameProblem(name, field.names) ?? (field.values && valueProblem(field.values, value, name));
        if (problem) return problem;
      }
      set(parsed);
      return undefined;
    }
    default:
      return undefined;
  }
}

/** What is wrong with a map's name (`where` locates a nested object's). */
function nameProblem(name: string, rule: NameRule | undefined, where?: string): string | undefined {
  const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 39)}…` : name);
  const prefix = where ? `${where}: names` : "Names";
  const shortest = rule?.minLength ?? 0;
  const longest = Math.min(rule?.maxLength ?? PAYLOAD.maxKeyLength, PAYLOAD.maxKeyLength);
  const length = lengthOf(name);
  if (length < shortest || length > longest) {
    return `${prefix} are ${shortest > 0 ? `${shortest}–${longest}` : `at most ${longest}`} characters: ${shown}.`;
  }
  if (rule?.pattern && !matches(rule.pattern, name)) return `${prefix} must be ${rule.pattern.hint}: ${shown}.`;
  return undefined;
}

/** What is wrong with a map's value at `where`. */
function valueProblem(values: AnyValues, value: unknown, where: string): string | undefined {
  switch (values.kind) {
    case "number":
      return typeof value === "number" ? rangeProblem(values, value, where) : `${where}: expected a number.`;
    case "enum":
      return typeof value === "string" && Object.hasOwn(values.options ?? {}, value) ? undefined : `${where}: one of ${Object.keys(values.options ?? {}).join(", ")}.`;
    case "json":
      return jsonProblem(values, value, where, 2); // a field's map is one level below the data's root, its values two
  }
}

/** What is wrong with any JSON value at `where`, `depth` levels below the data's root: its
 * numbers' bounds and its objects' names (the server's JsonValue), its depth and its objects'
 * sizes (the server's payload limits). */
function jsonProblem(rule: AnyValues, value: unknown, where: string, depth: number): string | undefined {
  if (typeof value === "number") return rangeProblem(rule, value, where);
  if (typeof value !== "object" || value === null) return undefined; // text, true, false, null
  if (depth >= PAYLOAD.maxDepth) return `${where}: nested too deeply (an event's data holds at most ${PAYLOAD.maxDepth} levels).`;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = jsonProblem(rule, item, `${where}[${index}]`, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  const entries = Object.entries(value);
  if (entries.length > PAYLOAD.maxKeys) return `${where}: at most ${PAYLOAD.maxKeys} names in one object.`;
  for (const [name, item] of entries) {
    const problem = nameProblem(name, rule.names, where) ?? jsonProblem(rule, item, `${where}.${name}`, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

function rangeProblem(bounds: { minimum?: number; maximum?: number }, value: number, where: string): string | undefined {
  if (!Number.isFinite(value)) return `${where}: expected a finite number.`;
  if (bounds.minimum !== undefined && value < bounds.minimum) return `${where}: at least ${bounds.minimum}.`;
  if (bounds.maximum !== undefined && value > bounds.maximum) return `${where}: at most ${bounds.maximum}.`;
  return undefined;
}

/** How many JSON values `value` holds, itself included (as the server counts them). */
function countValues(value: unknown): number {
  if (typeof value !== "object" || value === null) return 1;
  return 1 + (Array.isArray(value) ? value : Object.values(value)).reduce((sum: number, item) => sum + countValues(item), 0);
}
