/** 50 events per second for 10 seconds into the page's real WebSocket, while someone types:
 * the page stays responsive (frame times and input latency measured in the page with the
 * performance APIs and reported, not asserted against a time budget) and every list stays
 * bounded.
 *
 * The local stack publishes about 15–30 events/s on this 2-core machine (moto and every
 * Lambda in one Python process; see `make bench`), so the events go in the way the fan-out
 * delivers them: SigV4-signed PostToConnection calls on the local Management API, to the
 * page's connection, as envelopes continuing each group's real sequence. Everything from the
 * socket on — the SDK's ordering and dedupe, the stores, React, uPlot — is what runs in
 * production.
 *
 * LOAD_RATE / LOAD_SECONDS change the load; DASHBOARD_TRACE=1 also prints where the page's
 * main thread spent its time (a Chromium trace summary: paint, layout, script…). */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { SCREENSHOTS, connectionIdsOf, launchChromium, managementApi, mintToken, openDashboard, screenshot, sleep, waitFor } from "./support";

const stack = inject("stack");
const RATE = Number(process.env.LOAD_RATE ?? 50);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 10);
const LIMITS = { alerts: 100, activity: 100, systemEvents: 50, chartPoints: 600 };

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const CYCLE_LENGTH = 12;
type Slot = (index: number) => { group: string; type: string; data: Record<string, unknown> };
const severities = ["info", "warning", "error", "critical", "success", "warning"];
const CYCLE: Slot[] = [
  (i) => ({ group: "analytics", type: "UserCountUpdate", data: { totalUsers: 10_000 + i, activeUsers: 1_000 + (i % 500) } }),
  (i) => ({ group: "analytics", type: "AnalyticsUpdate", data: { metrics: { cpu: (i % 100) / 100, rps: 1_000 + (i % 300), p99: 200 + (i % 90), errors: i % 7, queue: i % 40 } } }),
  (i) => ({ group: "alerts", type: "Alert", data: { title: `load alert ${i}`, message: `event ${i}`, severity: severities[Math.floor(i / CYCLE_LENGTH) % severities.length], source: `node-${i % 9}` } }),
  (i) => ({ group: "user-activity", type: "UserAction", data: { userId: `u-${i % 50}`, action: "login", details: { ip: `203.0.113.${i % 250}` } } }),
  (i) => ({ group: "analytics", type: "GenerationMetrics", data: { totalGenerations: 50_000 + i, generationsLastHour: 300 + (i % 60), averageDurationMs: 800 + (i % 100), failedGenerations: i % 5 } }),
  (i) => ({ group: "alerts", type: "Alert", data: { title: `load alert ${i}`, message: `event ${i}`, severity: "warning" } }),
  (i) => ({ group: "user-activity", type: "RoleAssignment", data: { userId: `u-${i % 50}`, role: "editor", change: i % 2 ? "assigned" : "revoked", by: "alice" } }),
  (i) => ({ group: "admins", type: "SystemEvent", data: { eventType: "deploy", message: `step ${i}`, source: "ci" } }),
  (i) => ({ group: "analytics", type: "RevenueUpdate", data: { totalRevenue: 18_000 + i * 3.5, currency: "EUR" } }),
  (i) => ({ group: "alerts", type: "PerformanceAlert", data: { metric: "p99Latency", value: 500 + (i % 600), threshold: 500, unit: "ms", service: "checkout" } }),
  (i) => ({ group: "user-activity", type: "UserAction", data: { userId: `u-${i % 50}`, action: "export" } }),
  (i) =>
    Math.floor(i / CYCLE_LENGTH) % 2
      ? { group: "admins", type: "PlatformStatus", data: { status: i % 4 === 1 ? "degraded" : "healthy", services: { db: i % 4 === 1 ? "degraded" : "healthy", api: "healthy" } } }
      : { group: "admins", type: "SystemEvent", data: { eventType: "scale", message: `scaled ${i}` } },
];

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length);
  return { count: sorted.length, mean: Math.round(mean * 10) / 10, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: Math.round((sorted.at(-1) ?? 0) * 10) / 10 };
}

it(`${RATE} events/s for ${SECONDS} s: responsive (measured, reported) and bounded`, async () => {
  const opened = await openDashboard(browser, stack, { user: `load-${process.pid}-${Date.now().toString(36)}` });
  const { page, user } = opened;
  let connectionId: string | undefined;
  await waitFor(async () => (connectionId = (await connectionIdsOf(stack, user)).at(-1)) !== undefined, "the page's connection id");
  // Each group's position: the page is subscribed at the group's last seq.
  const positions: Record<string, { seq: number; epoch: string }> = {};
  for (const group of ["analytics", "alerts", "user-activity", "admins"]) {
    const response = await fetch(`${stack.restUrl}/groups/${group}`, { headers: { Authorization: `Bearer ${mintToken("e2e-backend")}` } });
    const presence = (await response.json()) as { lastSeq: number; epoch: string };
    positions[group] = { seq: presence.lastSeq, epoch: presence.epoch };
  }
  const receivedBefore = Number(await page.getByTestId("event-rate").getAttribute("data-total"));

  // The probes: every frame interval, long tasks and long animation frames, Event Timing
  // entries, and input latency (keydown → the frame after its handlers ran).
  await page.evaluate(() => {
    const probe = { frames: [] as number[], longTasks: [] as number[], longFrames: [] as number[], slowEvents: [] as number[], inputs: [] as number[], stop: false, heapBefore: 0 };
    (window as unknown as { __probe: typeof probe }).__probe = probe;
    probe.heapBefore = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;
    let last = performance.now();
    const frame = (now: number) => {
      probe.frames.push(now - last);
      last = now;
      if (!probe.stop) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    const observe = (type: string, into: number[], options: Record<string, unknown> = {}) => {
      try {
        new PerformanceObserver((list) => list.getEntries().forEach((entry) => into.push(entry.duration))).observe({ type, ...options } as PerformanceObserverInit);
      } catch {
        // not supported here
      }
    };
    observe("longtask", probe.longTasks);
    observe("long-animation-frame", probe.longFrames);
    observe("event", probe.slowEvents, { durationThreshold: 16 });
    document.addEventListener(
      "keydown",
      (event) => {
        const start = event.timeStamp;
        requestAnimationFrame(() => setTimeout(() => probe.inputs.push(performance.now() - start), 0));
      },
      true,
    );
  });
  await page.getByTestId("activity-filter").focus();
  const cdp = process.env.DASHBOARD_TRACE ? await page.context().newCDPSession(page) : undefined;
  const traceEvents: { name: string; dur?: number; ph: string; tid: number; args?: unknown }[] = [];
  let traced: Promise<void> | undefined;
  if (cdp) {
    cdp.on("Tracing.dataCollected", (event) => traceEvents.push(...(event.value as unknown as typeof traceEvents)));
    traced = new Promise((done) => cdp.once("Tracing.tracingComplete", () => done()));
    await cdp.send("Tracing.start", { categories: "devtools.timeline,disabled-by-default-devtools.timeline", transferMode: "ReportEvents" });
  }

  // Someone types in the activity filter all along (a key every 200 ms).
  let typing = true;
  const typist = (async () => {
    for (let index = 0; typing; index++) {
      await page.keyboard.press(index % 2 ? "Backspace" : "u");
      await sleep(200);
    }
  })();

  const statuses: Record<number, number> = {};
  const total = RATE * SECONDS;
  const started = Date.now();
  for (let index = 0; index < total; index++) {
    const due = started + (index * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const { group, type, data } = CYCLE[index % CYCLE.length]!(index);
    const position = positions[group]!;
    position.seq += 1;
    const envelope = { type, group, id: randomUUID(), seq: position.seq, epoch: position.epoch, ts: new Date().toISOString(), data };
    const status = await managementApi(stack, "POST", connectionId!, JSON.stringify(envelope));
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  const sendSeconds = (Date.now() - started) / 1000;
  if (cdp) {
    await cdp.send("Tracing.end");
    await traced;
    const totals = new Map<string, { ms: number; n: number }>();
    for (const event of traceEvents) {
      if (event.ph !== "X" || !event.dur) continue;
      const entry = totals.get(event.name) ?? { ms: 0, n: 0 };
      entry.ms += event.dur / 1000;
      entry.n++;
      totals.set(event.name, entry);
    }
    const paints = new Map<string, { ms: number; n: number }>();
    for (const event of traceEvents) {
      if (event.name !== "Paint" || !event.dur) continue;
      const data = (event.args as { data?: { nodeName?: string; layerId?: number; clip?: number[] } })?.data;
      const key = `${data?.nodeName ?? "?"} layer ${data?.layerId ?? "?"} clip ${JSON.stringify(data?.clip?.map(Math.round) ?? [])}`;
      const entry = paints.get(key) ?? { ms: 0, n: 0 };
      entry.ms += event.dur / 1000;
      entry.n++;
      paints.set(key, entry);
    }
    console.log([...paints.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12).map(([k, v]) => `${v.ms.toFixed(0).padStart(7)} ms ${String(v.n).padStart(6)}x PAINT ${k}`).join("\n"));
    console.log([...totals.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30).map(([k, v]) => `${v.ms.toFixed(0).padStart(7)} ms ${String(v.n).padStart(6)}x ${k}`).join("\n"));
  }
  typing = false;
  await typist;
  await waitFor(async () => Number(await page.getByTestId("event-rate").getAttribute("data-total")) - receivedBefore >= total, "the page to count every event", 20_000);
  const received = Number(await page.getByTestId("event-rate").getAttribute("data-total")) - receivedBefore;

  const probe = await page.evaluate(() => {
    const probe = (window as unknown as { __probe: { frames: number[]; longTasks: number[]; longFrames: number[]; slowEvents: number[]; inputs: number[]; stop: boolean; heapBefore: number } }).__probe;
    probe.stop = true;
    return { ...probe, heapAfter: (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0, nodes: document.getElementsByTagName("*").length };
  });
  const counts = await page.evaluate(() => ({
    alerts: document.querySelectorAll('[data-testid="alert-item"]').length,
    activity: document.querySelectorAll('[data-testid="activity-item"]').length,
    systemEvents: document.querySelectorAll('[data-testid="system-event-item"]').length,
    toasts: document.querySelectorAll('[data-testid="toast"]').length,
    chartPoints: Math.max(...[...document.querySelectorAll<HTMLElement>(".chart")].map((chart) => Number(chart.dataset.points ?? 0))),
  }));
  const feeds = await page.locator(".feed-state").evaluateAll((items) => items.map((item) => item.getAttribute("data-state")));
  const frames = stats(probe.frames.slice(1));
  const report = {
    machine: { cores: cpus().length, loadAverage1m: Math.round(loadavg()[0]! * 100) / 100 },
    sent: total,
    sendSeconds: Math.round(sendSeconds * 10) / 10,
    rate: Math.round((total / sendSeconds) * 10) / 10,
    managementApiStatuses: statuses,
    received,
    frameIntervalMs: frames,
    fps: Math.round((1000 / frames.mean) * 10) / 10,
    framesOver50ms: probe.frames.filter((ms) => ms > 50).length,
    longTasks: { count: probe.longTasks.length, totalMs: Math.round(probe.longTasks.reduce((a, b) => a + b, 0)), maxMs: Math.round(Math.max(0, ...probe.longTasks)) },
    longAnimationFrames: { count: probe.longFrames.length, maxMs: Math.round(Math.max(0, ...probe.longFrames)) },
    inputToNextFrameMs: stats(probe.inputs),
    eventTimingOver16ms: { count: probe.slowEvents.length, maxMs: Math.round(Math.max(0, ...probe.slowEvents)) },
    heapMB: { before: Math.round(probe.heapBefore / 1e5) / 10, after: Math.round(probe.heapAfter / 1e5) / 10 },
    domNodes: probe.nodes,
    shown: counts,
    feeds,
  };
  console.log(`load report (${RATE} events/s for ${SECONDS} s):\n${JSON.stringify(report, null, 2)}`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  writeFileSync(join(SCREENSHOTS, "load-report.json"), `${JSON.stringify(report, null, 2)}\n`);
  await screenshot(page, "dashboard-after-load");

  expect(statuses[200]).toBe(total); // the page read everything it was sent
  expect(received).toBe(total); // each once: no reset, no duplicate
  expect(feeds.every((feed) => feed === "subscribed")).toBe(true);
  expect(counts.alerts).toBe(LIMITS.alerts);
  expect(counts.activity).toBe(LIMITS.activity);
  expect(counts.systemEvents).toBe(LIMITS.systemEvents);
  expect(counts.chartPoints).toBeLessThanOrEqual(LIMITS.chartPoints);
  expect(counts.toasts).toBeLessThanOrEqual(3);
  expect(probe.inputs.length).toBeGreaterThan(10); // the typing was measured
  expect(opened.problems).toEqual([]);
  await opened.context.close();
});
