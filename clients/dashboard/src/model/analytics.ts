/** The analytics panel's state: the latest UserCountUpdate, GenerationMetrics, RevenueUpdate
 * and AnalyticsUpdate metrics, and a bounded time series for each chart. */
import type { AnalyticsUpdate, GenerationMetrics, RevenueUpdate, UserCountUpdate } from "@realtime-hub/client";
import { BoundedSet, SeriesBuffer } from "../lib/bounded";
import type { Scheduler } from "../lib/frame";
import { Store } from "../lib/store";
import { isNewer, type TypedEnvelope } from "./events";

/** Points kept per chart (older ones are dropped). */
export const SERIES_CAPACITY = 600;
/** Metric names charted; AnalyticsUpdate may carry up to 1,000, the page shows the first this many. */
export const MAX_METRICS = 48;

export interface Latest<T> {
  data: T;
  ts: string;
  seq: number;
}

export interface MetricView {
  name: string;
  value: number;
  ts: string;
  period?: string;
}

export interface AnalyticsView {
  users?: Latest<UserCountUpdate>;
  generations?: Latest<GenerationMetrics>;
  revenue?: Latest<RevenueUpdate>;
  /** In the order first seen. */
  metrics: MetricView[];
  /** Metric names seen beyond MAX_METRICS (not shown). */
  metricsIgnored: number;
}

/** One chart's data: redraws are batched (listeners are told at most once per frame). */
export class ChartSource extends Store<number> {
  readonly buffer: SeriesBuffer;
  private version = 0;

  constructor(
    readonly labels: readonly string[],
    capacity = SERIES_CAPACITY,
    scheduler?: Scheduler,
  ) {
    super(scheduler);
    this.buffer = new SeriesBuffer(capacity, labels.length);
  }

  push(ts: string, values: readonly (number | null | undefined)[]): void {
    const x = Date.parse(ts) / 1000;
    if (!Number.isFinite(x)) return;
    this.buffer.push(x, values);
    this.version++;
    this.changed();
  }

  protected build(): number {
    return this.version;
  }
}

export class AnalyticsStore extends Store<AnalyticsView> {
  readonly users: ChartSource;
  readonly generations: ChartSource;
  readonly revenue: ChartSource;
  private readonly metricCharts = new Map<string, ChartSource>();
  private readonly seen = new BoundedSet(4_000);
  private latestUsers: Latest<UserCountUpdate> | undefined;
  private latestGenerations: Latest<GenerationMetrics> | undefined;
  private latestRevenue: Latest<RevenueUpdate> | undefined;
  private readonly metrics = new Map<string, MetricView>();
  private readonly ignored = new Set<string>();

  /** `scheduler` for the current values, `chartScheduler` for the charts. */
  constructor(scheduler?: Scheduler, private readonly chartScheduler: Scheduler | undefined = scheduler) {
    super(scheduler);
    this.users = new ChartSource(["Total users", "Active users"], SERIES_CAPACITY, chartScheduler);
    this.generations = new ChartSource(["Generations (last hour)", "Failed"], SERIES_CAPACITY, chartScheduler);
    this.revenue = new ChartSource(["Revenue"], SERIES_CAPACITY, chartScheduler);
  }

  metricChart(name: string): ChartSource | undefined {
    return this.metricCharts.get(name);
  }

  apply(event: TypedEnvelope<"UserCountUpdate" | "GenerationMetrics" | "RevenueUpdate" | "AnalyticsUpdate">): void {
    if (this.seen.has(event.id)) return; // a snapshot repeating a message already shown
    this.seen.add(event.id);
    switch (event.type) {
      case "UserCountUpdate": {
        const data = event.data as UserCountUpdate;
        this.users.push(event.ts, [data.totalUsers, data.activeUsers]);
        if (isNewer(event, this.latestUsers)) this.latestUsers = { data, ts: event.ts, seq: event.seq };
        break;
      }
      case "GenerationMetrics": {
        const data = event.data as GenerationMetrics;
        this.generations.push(event.ts, [data.generationsLastHour, data.failedGenerations]);
        if (isNewer(event, this.latestGenerations)) this.latestGenerations = { data, ts: event.ts, seq: event.seq };
        break;
      }
      case "RevenueUpdate": {
        const data = event.data as RevenueUpdate;
        this.revenue.push(event.ts, [data.totalRevenue]);
        if (isNewer(event, this.latestRevenue)) this.latestRevenue = { data, ts: event.ts, seq: event.seq };
        break;
      }
      case "AnalyticsUpdate":
        this.applyMetrics(event.data as AnalyticsUpdate, event.ts);
        break;
    }
    this.changed();
  }

  private applyMetrics(data: AnalyticsUpdate, ts: string): void {
    for (const [name, value] of Object.entries(data.metrics)) {
      if (typeof value !== "number" || !Number.isFinite(value)) continue;
      let chart = this.metricCharts.get(name);
      if (!chart) {
        if (this.metricCharts.size >= MAX_METRICS) {
          if (this.ignored.size < 10_000) this.ignored.add(name);
          continue;
        }
        chart = new ChartSource([name], SERIES_CAPACITY, this.chartScheduler);
        this.metricCharts.set(name, chart); // one series per metric name, created on first sight
      }
      chart.push(ts, [value]);
      const current = this.metrics.get(name);
      if (!current || ts >= current.ts) this.metrics.set(name, { name, value, ts, ...(data.period ? { period: data.period } : {}) });
    }
  }

  protected build(): AnalyticsView {
    return {
      ...(this.latestUsers ? { users: this.latestUsers } : {}),
      ...(this.latestGenerations ? { generations: this.latestGenerations } : {}),
      ...(this.latestRevenue ? { revenue: this.latestRevenue } : {}),
      metrics: [...this.metrics.values()],
      metricsIgnored: this.ignored.size,
    };
  }
}
