/** The alert center's state: Alert and PerformanceAlert events, newest first, bounded, with
 * read/acknowledged marks and dismissals; and the transient toasts of error/critical alerts. */
import type { Alert, PerformanceAlert } from "@realtime-hub/client";
import { BoundedFeed, BoundedSet } from "../lib/bounded";
import type { Scheduler } from "../lib/frame";
import { Store } from "../lib/store";
import type { TypedEnvelope } from "./events";

export type Severity = NonNullable<Alert["severity"]>;

/** Most severe first. Exhaustive over the generated type (checked below). */
export const SEVERITIES = ["critical", "error", "warning", "info", "success"] as const satisfies readonly Severity[];
type Missing = Exclude<Severity, (typeof SEVERITIES)[number]>;
const _exhaustive: Missing extends never ? true : never = true;
void _exhaustive;

export const SEVERITY_RANK: Record<Severity, number> = { critical: 0, error: 1, warning: 2, info: 3, success: 4 };

/** Alerts kept (older ones leave the list). */
export const ALERT_LIMIT = 100;
/** Toasts on screen at once; more during a burst are counted in the last one, not shown. */
export const TOAST_LIMIT = 3;
export const TOAST_MS = 8_000;
/** Only alerts this recent toast (a replay of old ones after a pause does not). */
export const TOAST_MAX_AGE_MS = 60_000;

export interface AlertItem {
  id: string;
  kind: "Alert" | "PerformanceAlert";
  severity: Severity;
  title: string;
  message: string;
  source?: string;
  ts: string;
  seq: number;
  group?: string;
  /** Acknowledged by the operator (unread until then). */
  acknowledged: boolean;
}

export interface AlertsView {
  items: AlertItem[];
  unread: number;
  /** Alerts kept, per severity. */
  counts: Record<Severity, number>;
  unreadBySeverity: Record<Severity, number>;
  /** Alerts received since the page opened. */
  received: number;
  /** Alerts that left the list (the limit). */
  evicted: number;
}

/** A PerformanceAlert has no severity: a warning, an error from twice its threshold. */
export function performanceSeverity(data: PerformanceAlert): Severity {
  return data.threshold > 0 && data.value >= 2 * data.threshold ? "error" : "warning";
}

export function toAlertItem(event: TypedEnvelope<"Alert" | "PerformanceAlert">): AlertItem {
  const base = { id: event.id, ts: event.ts, seq: event.seq, acknowledged: false, ...(event.group ? { group: event.group } : {}) };
  if (event.type === "Alert") {
    const data = event.data as Alert;
    return { ...base, kind: "Alert", severity: data.severity ?? "info", title: data.title, message: data.message, ...(data.source ? { source: data.source } : {}) };
  }
  const data = event.data as PerformanceAlert;
  const unit = data.unit ? ` ${data.unit}` : "";
  const ratio = data.threshold > 0 ? ` (${Math.round((data.value / data.threshold) * 100)}% of it)` : "";
  return {
    ...base,
    kind: "PerformanceAlert",
    severity: performanceSeverity(data),
    title: `${data.metric} over threshold`,
    message: `${formatNumber(data.value)}${unit}, threshold ${formatNumber(data.threshold)}${unit}${ratio}`,
    ...(data.service ? { source: data.service } : {}),
  };
}

const numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
function formatNumber(value: number): string {
  return numberFormat.format(value);
}

function zero(): Record<Severity, number> {
  return { critical: 0, error: 0, warning: 0, info: 0, success: 0 };
}

export class AlertStore extends Store<AlertsView> {
  private readonly feed = new BoundedFeed<AlertItem>(ALERT_LIMIT);
  private readonly dismissed = new BoundedSet(1_000);
  private received = 0;

  constructor(scheduler?: Scheduler) {
    super(scheduler);
  }

  /** Adds the alert (once per id); returns it when it is new. */
  add(event: TypedEnvelope<"Alert" | "PerformanceAlert">): AlertItem | undefined {
    if (this.dismissed.has(event.id) || this.feed.has(event.id)) return undefined;
    const item = toAlertItem(event);
    this.received++;
    if (!this.feed.add(item)) return undefined;
    this.changed();
    return item;
  }

  acknowledge(id: string): void {
    if (this.feed.update(id, (item) => ({ ...item, acknowledged: true }))) this.changed();
  }

  acknowledgeAll(): void {
    this.feed.updateAll((item) => (item.acknowledged ? item : { ...item, acknowledged: true }));
    this.changed();
  }

  dismiss(id: string): void {
    this.dismissed.add(id);
    if (this.feed.remove(id)) this.changed();
  }

  protected build(): AlertsView {
    const items = this.feed.list();
    const counts = zero();
    const unreadBySeverity = zero();
    let unread = 0;
    for (const item of items) {
      counts[item.severity]++;
      if (!item.acknowledged) {
        unread++;
        unreadBySeverity[item.severity]++;
      }
    }
    return { items, unread, counts, unreadBySeverity, received: this.received, evicted: this.feed.evicted };
  }
}

export interface Toast {
  id: string;
  severity: Severity;
  title: string;
  message: string;
  ts: string;
}

export interface ToastsView {
  toasts: Toast[];
  /** Error/critical alerts beyond those shown. */
  more: number;
}

type Timers = { set: (task: () => void, ms: number) => unknown; clear: (handle: unknown) => void };
const realTimers: Timers = {
  set: (task, ms) => setTimeout(task, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class ToastStore extends Store<ToastsView> {
  private toasts: Toast[] = [];
  private more = 0;
  private readonly timers = new Map<string, unknown>();

  constructor(
    scheduler?: Scheduler,
    private readonly clock: Timers = realTimers,
    private readonly now: () => number = () => Date.now(),
  ) {
    super(scheduler);
  }

  /** Toasts an alert that just happened and is an error or critical. */
  offer(item: AlertItem): void {
    if (item.severity !== "error" && item.severity !== "critical") return;
    const age = this.now() - Date.parse(item.ts);
    if (!(age < TOAST_MAX_AGE_MS)) return;
    if (this.toasts.length >= TOAST_LIMIT) {
      // A burst: the toasts on screen stay put (readable), the rest are counted.
      this.more++;
      this.changed();
      return;
    }
    this.toasts = [{ id: item.id, severity: item.severity, title: item.title, message: item.message, ts: item.ts }, ...this.toasts];
    this.timers.set(item.id, this.clock.set(() => this.dismiss(item.id), TOAST_MS));
    this.changed();
  }

  dismiss(id: string): void {
    this.clearTimer(id);
    const before = this.toasts.length;
    this.toasts = this.toasts.filter((toast) => toast.id !== id);
    if (this.toasts.length === 0) this.more = 0;
    if (this.toasts.length !== before) this.changed();
  }

  dismissAll(): void {
    for (const id of [...this.timers.keys()]) this.clearTimer(id);
    this.toasts = [];
    this.more = 0;
    this.changed();
  }

  dispose(): void {
    for (const id of [...this.timers.keys()]) this.clearTimer(id);
  }

  private clearTimer(id: string): void {
    const handle = this.timers.get(id);
    if (handle !== undefined) this.clock.clear(handle);
    this.timers.delete(id);
  }

  protected build(): ToastsView {
    return { toasts: this.toasts, more: this.more };
  }
}
