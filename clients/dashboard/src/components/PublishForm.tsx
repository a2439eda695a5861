/** Publish any event type to any group, from the page: fields from the generated types,
 * checked before sending (required fields, types, limits), server errors shown with their
 * code. Sent over the WebSocket with an idempotency key, so a reconnect never sends it twice. */
import { DEFAULT_GROUPS, RealtimeError, type EventType, type PublishReply } from "@realtime-hub/client";
import { useId, useRef, useState, type FormEvent } from "react";
import { formatNumber } from "../lib/format";
import { useStore } from "../lib/store";
import { EVENT_SPECS, PUBLISH_TYPES, emptyValues, exampleValues, fieldsOf, validate, type AnyField, type FormValues } from "../publish/schema";
import { useDashboard } from "./context";
import { Icon } from "./Icon";
import { Panel } from "./Panel";

type Result =
  | { status: "idle" }
  | { status: "pending" }
  | { status: "invalid"; count: number }
  | { status: "ok"; reply: PublishReply }
  | { status: "error"; code: string; message: string; fields: string[] };

export function PublishForm() {
  const dashboard = useDashboard();
  const groups = useStore(dashboard.groups);
  const [type, setType] = useState<EventType>("Alert");
  const [group, setGroup] = useState<string>(DEFAULT_GROUPS.Alert);
  const [values, setValues] = useState<FormValues>(() => emptyValues("Alert"));
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [result, setResult] = useState<Result>({ status: "idle" });
  const form = useRef<HTMLFormElement>(null);
  const id = useId();
  const spec = EVENT_SPECS[type];

  const chooseType = (next: EventType) => {
    setType(next);
    setGroup(DEFAULT_GROUPS[next]);
    setValues(emptyValues(next));
    setIssues({});
    setResult({ status: "idle" });
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const checked = validate(type, values);
    const problems = { ...checked.issues };
    if (!group.trim()) problems.group = "Group is required.";
    setIssues(problems);
    if (!checked.data || problems.group) {
      setResult({ status: "invalid", count: Object.keys(problems).length });
      const first = Object.keys(problems)[0];
      form.current?.querySelector<HTMLElement>(`[name="${first === "group" ? "__group" : first}"]`)?.focus();
      return;
    }
    setResult({ status: "pending" });
    try {
      const reply = await dashboard.publish({ type, data: checked.data, group: group.trim() }, { idempotencyKey: crypto.randomUUID() });
      setResult({ status: "ok", reply });
    } catch (error) {
      const failure = error instanceof RealtimeError ? error : new RealtimeError("InternalError", String(error));
      setResult({
        status: "error",
        code: failure.code,
        message: failure.message,
        fields: (failure.errors ?? []).map((issue) => `${issue.loc.join(".")}: ${issue.msg}`),
      });
    }
  };

  return (
    <Panel id="publish" title="Publish a test event" icon="send" className="area-publish">
      <form ref={form} className="publish-form" onSubmit={submit} noValidate aria-describedby={`${id}-description`}>
        <div className="form-row">
          <label htmlFor={`${id}-type`}>Event type</label>
          <select id={`${id}-type`} value={type} onChange={(event) => chooseType(event.target.value as EventType)} data-testid="publish-type">
            {PUBLISH_TYPES.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
          <label htmlFor={`${id}-group`}>Group</label>
          <input
            id={`${id}-group`}
            name="__group"
            className="input"
            list={`${id}-groups`}
            value={group}
            onChange={(event) => setGroup(event.target.value)}
            data-testid="publish-group"
            aria-invalid={issues.group ? true : undefined}
            autoComplete="off"
            spellCheck={false}
          />
          <datalist id={`${id}-groups`}>
            {groups.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </div>
        <p id={`${id}-description`} className="muted small">
          {spec.description} Default group: <code>{DEFAULT_GROUPS[type]}</code>. Fields marked * are required.
        </p>
        <div className="fields">
          {fieldsOf(type).map(([name, field]) => (
            <Field
              key={`${type}.${name}`}
              id={`${id}-${name}`}
              name={name}
              field={field}
              value={values[name] ?? ""}
              issue={issues[name]}
              onChange={(value) => setValues((current) => ({ ...current, [name]: value }))}
            />
          ))}
        </div>
        <div className="form-actions">
          <button type="button" className="button button-quiet" data-testid="publish-example" onClick={() => (setValues(exampleValues(type)), setIssues({}))}>
            Fill with an example
          </button>
          <button type="submit" className="button button-primary" data-testid="publish-submit" disabled={result.status === "pending"}>
            <Icon name="send" />
            Publish
          </button>
        </div>
        <ResultLine result={result} />
      </form>
    </Panel>
  );
}

function Field(props: { id: string; name: string; field: AnyField; value: string; issue: string | undefined; onChange: (value: string) => void }) {
  const { id, name, field, value, issue, onChange } = props;
  const common = {
    id,
    name,
    value,
    "data-testid": `publish-field-${name}`,
    "aria-invalid": issue ? true : undefined,
    "aria-describedby": issue ? `${id}-issue` : undefined,
    "aria-required": field.required || undefined,
  };
  let control;
  if (field.kind === "enum") {
    control = (
      <select {...common} onChange={(event) => onChange(event.target.value)}>
        {!field.required && !field.default && <option value="">(none)</option>}
        {Object.entries(field.options ?? {}).map(([option, label]) => (
          <option key={option} value={option}>
            {label}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === "map" || field.multiline) {
    control = (
      <textarea
        {...common}
        className="input"
        rows={field.kind === "map" ? 3 : 2}
        placeholder={field.kind === "map" ? mapPlaceholder(field) : field.placeholder}
        onChange={(event) => onChange(event.target.value)}
        spellCheck={field.kind !== "map"}
      />
    );
  } else {
    control = (
      <input
        {...common}
        className="input"
        type="text"
        inputMode={field.kind === "number" ? (field.integer ? "numeric" : "decimal") : undefined}
        placeholder={field.placeholder ?? (field.kind === "number" ? (field.minimum !== undefined ? `≥ ${field.minimum}` : "a number") : undefined)}
        maxLength={field.kind === "text" ? field.maxLength : undefined}
        onChange={(event) => onChange(event.target.value)}
        autoComplete="off"
      />
    );
  }
  return (
    <div className={`field ${field.kind === "map" || field.multiline ? "field-wide" : ""}`}>
      <label htmlFor={id}>
        {field.label}
        {field.required && (
          <span className="required" aria-hidden="true">
            {" "}
            *
          </span>
        )}
      </label>
      {control}
      <span id={`${id}-issue`} className="field-issue" data-testid={`publish-error-${name}`} role={issue ? "alert" : undefined}>
        {issue ?? ""}
      </span>
    </div>
  );
}

function mapPlaceholder(field: AnyField): string {
  if (field.values?.kind === "number") return '{"cpu": 0.62, "requestsPerSecond": 1250}';
  if (field.values?.kind === "enum") return '{"db": "degraded", "api": "healthy"}';
  return '{"ip": "203.0.113.7"}';
}

function ResultLine({ result }: { result: Result }) {
  const common = { "data-testid": "publish-result", "data-status": result.status, role: "status" as const, "aria-live": "polite" as const };
  switch (result.status) {
    case "idle":
      return <p {...common} className="result">&nbsp;</p>;
    case "pending":
      return (
        <p {...common} className="result">
          Publishing…
        </p>
      );
    case "invalid":
      return (
        <p {...common} className="result result-error">
          <Icon name="warning" /> Not sent: {result.count === 1 ? "one field needs" : `${result.count} fields need`} fixing.
        </p>
      );
    case "ok": {
      const reply = result.reply;
      const where = reply.group ?? reply.userId ?? "";
      const delivery =
        reply.status === "queued"
          ? `queued for ${formatNumber(reply.recipients)} recipients`
          : `delivered to ${formatNumber(reply.delivered ?? 0)} of ${formatNumber(reply.recipients)}`;
      return (
        <p {...common} className="result result-ok" data-seq={reply.seq}>
          <Icon name="success" /> Published {reply.eventType} to {where} · seq {reply.seq} · {delivery}
        </p>
      );
    }
    case "error":
      return (
        <div {...common} className="result result-error" data-code={result.code}>
          <p>
            <Icon name="error" /> <code>{result.code}</code> {result.message}
          </p>
          {result.fields.length > 0 && (
            <ul className="small">
              {result.fields.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          )}
        </div>
      );
  }
}
