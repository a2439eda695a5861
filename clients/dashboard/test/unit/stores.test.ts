/** The panels' stores: bounded, deduplicated, newest first, latest values by publish time,
 * one notification per frame. */
import type { Envelope } from "@realtime-hub/client";
import { describe, expect, it, vi } from "vitest";
import { BoundedFeed, SeriesBuffer } from "../../src/lib/bounded";
import { FrameScheduler, ThrottledScheduler, immediate } from "../../src/lib/frame";
import { ACTIVITY_LIMIT, ActivityStore } from "../../src/model/activity";
import { ALERT_LIMIT, AlertStore, TOAST_LIMIT, TOAST_MS, ToastStore, performanceSeverity } from "../../src/model/alerts";
import { AnalyticsStore, MAX_METRICS, SERIES_CAPACITY } from "../../src/model/analytics";
import { ConnectionStore } from "../../src/model/connection";
import { EVENT_PANEL, typed } from "../../src/model/events";
import { SystemStore } from "../../src/model/system";

let counter = 0;
function envelope<T extends string>(type: T, data: Record<string, unknown>, options: { seq?: number; ts?: string; id?: string; group?: string } = {}) {
  const seq = options.seq ?? ++counter;
  return typed({
    type,
    group: options.group ?? "g",
    id: options.id ?? `id-${type}-${seq}-${counter}`,
    seq,
    epoch: "e",
    ts: options.ts ?? new Date(Date.parse("2030-01-01T00:00:00Z") + seq * 1000).toISOString(),
    data,
  } as Envelope)!;
}

describe("bounded collections", () => {
  it("a feed keeps the newest `limit`, newest first, each id once, late items in place", () => {
    const feed = new BoundedFeed<{ id: string; ts: string }>(3);
    for (const [id, ts] of [["a", "1"], ["b", "3"], ["c", "2"], ["b", "3"], ["d", "4"], ["e", "0"]] as const) feed.add({ id, ts });
    expect(feed.list().map((item) => item.id)).toEqual(["d", "b", "c"]);
    expect(feed.evicted).toBe(2);
  });

  it("a series keeps `capacity` points in x order", () => {
    const series = new SeriesBuffer(3, 1);
    for (const x of [1, 2, 4, 3, 5]) series.push(x, [x * 10]);
    expect(series.data()).toEqual([
      [3, 4, 5],
      [30, 40, 50],
    ]);
  });

  it("the frame scheduler runs each task once per frame", () => {
    const frames: (() => void)[] = [];
    const scheduler = new FrameScheduler({ requestAnimationFrame: (callback) => frames.push(callback), setTimeout: () => 0 });
    const task = vi.fn();
    for (let index = 0; index < 50; index++) scheduler.schedule(task);
    expect(frames).toHaveLength(1);
    frames[0]!();
    expect(task).toHaveBeenCalledTimes(1);
  });
});

describe("throttled updates", () => {
  it("the first change shows at once, a stream of them every interval, all in one frame", () => {
    let now = 1_000;
    const later: { task: () => void; at: number }[] = [];
    const scheduler = new ThrottledScheduler(immediate, 200, () => now, (task, ms) => later.push({ task, at: now + ms }));
    const a = vi.fn();
    const b = vi.fn();
    scheduler.schedule(a);
    expect(a).toHaveBeenCalledTimes(1); // quiet before: no wait
    now += 50;
    for (let index = 0; index < 20; index++) scheduler.schedule(index % 2 ? a : b);
    expect(later).toHaveLength(1);
    expect(later[0]!.at).toBe(1_200);
    now = 1_200;
    later.shift()!.task();
    expect(a).toHaveBeenCalledTimes(2);
    expect(b).toHaveBeenCalledTimes(1);
  });
});

describe("alerts", () => {
  it("newest first, deduplicated, bounded, unread counted by severity", () => {
    const store = new AlertStore(immediate);
    for (let index = 0; index < ALERT_LIMIT + 20; index++) {
      store.add(envelope("Alert", { title: `a${index}`, message: "m", severity: index % 2 ? "critical" : "warning" }, { seq: index + 1, id: `a${index}` }) as never);
    }
    expect(store.add(envelope("Alert", { title: "dup", message: "m" }, { id: "a119" }) as never)).toBeUndefined();
    const view = store.get();
    expect(view.items).toHaveLength(ALERT_LIMIT);
    expect(view.items[0]!.title).toBe(`a${ALERT_LIMIT + 19}`);
    expect(view.unread).toBe(ALERT_LIMIT);
    expect(view.counts.critical + view.counts.warning).toBe(ALERT_LIMIT);
    expect(view.received).toBe(ALERT_LIMIT + 20);
    expect(view.evicted).toBe(20);
  });

  it("acknowledge marks read; dismiss removes for good (a snapshot does not bring it back)", () => {
    const store = new AlertStore(immediate);
    const first = envelope("Alert", { title: "one", message: "m", severity: "error" }, { id: "one" });
    store.add(first as never);
    store.add(envelope("Alert", { title: "two", message: "m" }, { id: "two" }) as never);
    store.acknowledge("one");
    expect(store.get().unread).toBe(1);
    expect(store.get().items.find((item) => item.id === "one")?.acknowledged).toBe(true);
    store.dismiss("one");
    store.add(first as never);
    expect(store.get().items.map((item) => item.id)).toEqual(["two"]);
    store.acknowledgeAll();
    expect(store.get().unread).toBe(0);
  });

  it("performance alerts: a warning, an error from twice the threshold", () => {
    expect(performanceSeverity({ metric: "p99", value: 600, threshold: 500 })).toBe("warning");
    expect(performanceSeverity({ metric: "p99", value: 1000, threshold: 500 })).toBe("error");
    const store = new AlertStore(immediate);
    const item = store.add(envelope("PerformanceAlert", { metric: "p99Latency", value: 912, threshold: 500, unit: "ms", service: "checkout" }) as never)!;
    expect(item).toMatchObject({ severity: "warning", title: "p99Latency over threshold", message: "912 ms, threshold 500 ms (182% of it)", source: "checkout" });
  });

  it("toasts: error and critical ones that just happened, at most three, each for a while", () => {
    let now = Date.parse("2030-01-01T00:01:00Z");
    const timers: { task: () => void; ms: number }[] = [];
    const toasts = new ToastStore(immediate, { set: (task, ms) => timers.push({ task, ms }), clear: () => {} }, () => now);
    const alerts = new AlertStore(immediate);
    const at = (seconds: number) => new Date(now - seconds * 1000).toISOString();
    for (const [index, severity] of (["info", "error", "critical", "critical", "error", "critical"] as const).entries()) {
      toasts.offer(alerts.add(envelope("Alert", { title: `t${index}`, message: "m", severity }, { ts: at(1) }) as never)!);
    }
    toasts.offer(alerts.add(envelope("Alert", { title: "old", message: "m", severity: "critical" }, { ts: at(120) }) as never)!);
    const view = toasts.get();
    // The first three stay put during the burst; the others are counted.
    expect(view.toasts.map((toast) => toast.title)).toEqual(["t3", "t2", "t1"]);
    expect(view.toasts).toHaveLength(TOAST_LIMIT);
    expect(view.more).toBe(2);
    expect(timers.every((timer) => timer.ms === TOAST_MS)).toBe(true);
    timers.at(-1)!.task();
    expect(toasts.get().toasts.map((toast) => toast.title)).toEqual(["t2", "t1"]);
    now += 1;
  });
});

describe("analytics", () => {
  it("latest values by publish time, charts in time order, one series per metric name", () => {
    const store = new AnalyticsStore(immediate);
    store.apply(envelope("UserCountUpdate", { totalUsers: 10, activeUsers: 2 }, { seq: 2 }) as never);
    store.apply(envelope("UserCountUpdate", { totalUsers: 9, activeUsers: 1 }, { seq: 1 }) as never); // a late snapshot
    expect(store.get().users?.data.totalUsers).toBe(10);
    expect(store.users.buffer.data()[1]).toEqual([9, 10]);
    store.apply(envelope("AnalyticsUpdate", { metrics: { cpu: 0.5, rps: 100 } }) as never);
    store.apply(envelope("AnalyticsUpdate", { metrics: { cpu: 0.7 } }) as never);
    expect(store.get().metrics.map((metric) => [metric.name, metric.value])).toEqual([
      ["cpu", 0.7],
      ["rps", 100],
    ]);
    expect(store.metricChart("cpu")?.buffer.length).toBe(2);
    expect(store.metricChart("rps")?.labels).toEqual(["rps"]);
  });

  it("the same envelope twice (a snapshot after live) counts once", () => {
    const store = new AnalyticsStore(immediate);
    const event = envelope("RevenueUpdate", { totalRevenue: 5, currency: "EUR" });
    store.apply(event as never);
    store.apply(event as never);
    expect(store.revenue.buffer.length).toBe(1);
  });

  it("charts at most MAX_METRICS names and SERIES_CAPACITY points each", () => {
    const store = new AnalyticsStore(immediate);
    const metrics = Object.fromEntries(Array.from({ length: MAX_METRICS + 5 }, (_, index) => [`m${index}`, index]));
    for (let index = 0; index < SERIES_CAPACITY + 10; index++) store.apply(envelope("AnalyticsUpdate", { metrics }) as never);
    expect(store.get().metrics).toHaveLength(MAX_METRICS);
    expect(store.get().metricsIgnored).toBe(5);
    expect(store.metricChart("m0")?.buffer.length).toBe(SERIES_CAPACITY);
  });
});

describe("activity and system", () => {
  it("activity: newest first and bounded", () => {
    const store = new ActivityStore(immediate);
    for (let index = 0; index < ACTIVITY_LIMIT + 5; index++) store.add(envelope("UserAction", { userId: `u${index}`, action: "login", details: { ip: "203.0.113.7" } }) as never);
    store.add(envelope("RoleAssignment", { userId: "u-17", role: "editor", change: "assigned", by: "alice" }) as never);
    const { items } = store.get();
    expect(items).toHaveLength(ACTIVITY_LIMIT);
    expect(items[0]).toMatchObject({ kind: "RoleAssignment", userId: "u-17", role: "editor", change: "assigned", by: "alice" });
    expect(items[1]).toMatchObject({ kind: "UserAction", details: "ip=203.0.113.7" });
  });

  it("system: the newest PlatformStatus, services worst first; events with test messages", () => {
    const store = new SystemStore(immediate);
    store.apply(envelope("PlatformStatus", { status: "degraded", services: { web: "healthy", db: "degraded", auth: "down" } }, { seq: 5 }) as never);
    store.apply(envelope("PlatformStatus", { status: "healthy" }, { seq: 4 }) as never);
    store.apply(envelope("SystemEvent", { eventType: "deploy", message: "v2 is live" }) as never);
    store.apply(envelope("TestMessage", { message: "hello" }) as never);
    const view = store.get();
    expect(view.platform?.status).toBe("degraded");
    expect(view.platform?.services.map((service) => service.name)).toEqual(["auth", "db", "web"]);
    expect(view.events.map((event) => event.kind)).toEqual(["TestMessage", "SystemEvent"]);
  });

  it("every event type has a panel", () => {
    expect(Object.keys(EVENT_PANEL).sort()).toEqual(
      ["AnalyticsUpdate", "Alert", "GenerationMetrics", "PerformanceAlert", "PlatformStatus", "RevenueUpdate", "RoleAssignment", "SystemEvent", "TestMessage", "UserAction", "UserCountUpdate"].sort(),
    );
  });
});

describe("connection", () => {
  it("attempts since connected, reconnects, stale since, the event rate once a second", () => {
    let now = 1_000_000;
    const store = new ConnectionStore(immediate, () => now);
    store.state("connecting");
    store.attempt();
    store.state("connected");
    expect(store.get()).toMatchObject({ state: "connected", attempts: 0, reconnects: 0 });
    now += 5_000;
    store.state("reconnecting", { code: "ConnectionLost", message: "the socket closed (1006)" });
    store.attempt();
    store.attempt();
    expect(store.get()).toMatchObject({ state: "reconnecting", attempts: 2, reconnects: 1, staleSince: now, reason: { code: "ConnectionLost" } });
    store.state("connected");
    expect(store.get().staleSince).toBeUndefined();
    for (let index = 0; index < 50; index++) store.countEvent();
    const before = store.get();
    expect(before.eventsTotal).toBe(0); // no render per event
    store.tick();
    expect(store.get()).toMatchObject({ eventsPerSecond: 50, eventsTotal: 50 });
  });
});
