/** Live charts and current values: users (total, active), generations, revenue (with its
 * currency), and one sparkline per AnalyticsUpdate metric, created on first sight. */
import { memo } from "react";
import { formatCurrency, formatNumber, formatTime } from "../lib/format";
import { useStore } from "../lib/store";
import { theme } from "../lib/theme";
import { MAX_METRICS, type ChartSource, type MetricView } from "../model/analytics";
import { Chart, SERIES_COLORS } from "./Chart";
import { useDashboard } from "./context";
import { Empty, Panel } from "./Panel";

const USERS = [0, 1] as const;
const GENERATIONS = [2, 3] as const;
const REVENUE = [4] as const;
const METRIC = [5] as const;

export function Analytics() {
  const dashboard = useDashboard();
  const view = useStore(dashboard.analytics);
  const users = view.users?.data;
  const generations = view.generations?.data;
  const revenue = view.revenue?.data;
  const activeShare = users && users.totalUsers > 0 ? `${Math.round((users.activeUsers / users.totalUsers) * 100)}% of total` : undefined;
  return (
    <Panel id="analytics" title="Analytics" icon="chart" feed="analytics" className="area-analytics">
      <div className="tiles">
        <Tile name="totalUsers" label="Total users" value={users?.totalUsers} at={view.users?.ts} />
        <Tile name="activeUsers" label="Active users" value={users?.activeUsers} at={view.users?.ts} note={activeShare} />
        <Tile name="newUsersToday" label="New today" value={users?.newUsersToday} at={view.users?.ts} />
        <Tile name="totalGenerations" label="Generations" value={generations?.totalGenerations} at={view.generations?.ts} />
        <Tile name="generationsLastHour" label="Gens last hour" value={generations?.generationsLastHour} at={view.generations?.ts} />
        <Tile name="averageDurationMs" label="Avg gen time" value={generations?.averageDurationMs} unit="ms" at={view.generations?.ts} />
        <Tile name="failedGenerations" label="Failed gens" value={generations?.failedGenerations} at={view.generations?.ts} />
        <Tile
          name="totalRevenue"
          label={revenue ? `Revenue${revenue.period ? ` ${revenue.period}` : ""} · ${revenue.currency}` : "Revenue"}
          wide
          value={revenue?.totalRevenue}
          text={revenue ? formatCurrency(revenue.totalRevenue, revenue.currency) : undefined}
          at={view.revenue?.ts}
          currency={revenue?.currency}
        />
      </div>
      <div className="charts">
        <ChartCard title="Users" source={dashboard.analytics.users} colors={USERS} values={[users?.totalUsers, users?.activeUsers]} />
        <ChartCard
          title="Generations"
          source={dashboard.analytics.generations}
          colors={GENERATIONS}
          values={[generations?.generationsLastHour, generations?.failedGenerations]}
        />
        <ChartCard
          title={revenue ? `Revenue (${revenue.currency})` : "Revenue"}
          source={dashboard.analytics.revenue}
          colors={REVENUE}
          values={[revenue?.totalRevenue]}
          format={(value) => (revenue ? formatCurrency(value, revenue.currency) : formatNumber(value))}
        />
      </div>
      <section className="metrics" aria-labelledby="metrics-title" data-testid="analytics-metrics">
        <h3 id="metrics-title" className="subhead">
          Metrics <span className="muted">(AnalyticsUpdate, one series per name)</span>
        </h3>
        {view.metrics.length === 0 ? (
          <Empty>No AnalyticsUpdate yet: each metric name gets its own chart when it first arrives.</Empty>
        ) : (
          <ul className="metric-grid">
            {view.metrics.map((metric) => (
              <MetricTile key={metric.name} metric={metric} source={dashboard.analytics.metricChart(metric.name)} />
            ))}
          </ul>
        )}
        {view.metricsIgnored > 0 && (
          <p className="muted small" data-testid="metrics-ignored">
            {formatNumber(view.metricsIgnored)} more metric names are not charted (the first {MAX_METRICS} are).
          </p>
        )}
      </section>
    </Panel>
  );
}

interface TileProps {
  name: string;
  label: string;
  value: number | undefined;
  text?: string | undefined;
  unit?: string;
  note?: string | undefined;
  currency?: string | undefined;
  at: string | undefined;
  wide?: boolean;
}

function Tile({ name, label, value, text, unit, note, currency, at, wide }: TileProps) {
  return (
    <div className={wide ? "tile tile-wide" : "tile"} title={at ? `as of ${formatTime(at)}` : "no value yet"}>
      <div className="tile-label">{label}</div>
      <div className="tile-value" data-testid={`metric-value-${name}`} data-value={value ?? ""} {...(currency ? { "data-currency": currency } : {})}>
        {text ?? formatNumber(value)}
        {unit && value !== undefined && <span className="unit"> {unit}</span>}
      </div>
      <div className="tile-note">{note ?? (at ? formatTime(at) : "\u00a0")}</div>
    </div>
  );
}

interface ChartCardProps {
  title: string;
  source: ChartSource;
  colors: readonly number[];
  values: (number | undefined)[];
  format?: (value: number) => string;
}

function ChartCard({ title, source, colors, values, format = formatNumber }: ChartCardProps) {
  const { theme: current } = useStore(theme);
  const palette = SERIES_COLORS[current];
  const summary = source.labels.map((name, index) => `${name} ${values[index] === undefined ? "none yet" : format(values[index]!)}`).join(", ");
  return (
    <figure className="chart-card">
      <figcaption>
        <span className="chart-title">{title}</span>
        <span className="legend">
          {source.labels.map((name, index) => (
            <span key={name} className="legend-item">
              <span className="swatch" style={{ background: palette[colors[index]! % palette.length] }} aria-hidden="true" />
              {name}: <strong>{values[index] === undefined ? "—" : format(values[index]!)}</strong>
            </span>
          ))}
        </span>
      </figcaption>
      <Chart source={source} colors={colors} height={130} label={`${title} over time: ${summary}`} />
    </figure>
  );
}

const MetricTile = memo(function MetricTile({ metric, source }: { metric: MetricView; source: ChartSource | undefined }) {
  return (
    <li className="metric-tile" data-testid={`metric-${metric.name}`}>
      <div className="metric-head">
        <span className="metric-name" title={metric.name}>
          {metric.name}
        </span>
        <span className="metric-value" data-testid={`metric-value-${metric.name}`} data-value={metric.value}>
          {formatNumber(metric.value)}
        </span>
      </div>
      {source && <Chart source={source} colors={METRIC} height={36} compact label={`${metric.name} over time, now ${formatNumber(metric.value)}`} />}
    </li>
  );
});
