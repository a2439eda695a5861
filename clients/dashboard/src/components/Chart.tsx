/** A uPlot time chart fed by a ChartSource: it redraws when the source changes, at most once
 * per animation frame (the source batches), never through React. */
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatNumber, formatTime } from "../lib/format";
import { useStore } from "../lib/store";
import { theme } from "../lib/theme";
import type { ChartSource } from "../model/analytics";

export const SERIES_COLORS = {
  light: ["#2457d6", "#d97706", "#0f8a6a", "#b0006d", "#6d28d9", "#0e7490"],
  dark: ["#6aa0ff", "#f5b041", "#3ed3a3", "#ff6bb5", "#b794ff", "#4fd1e8"],
} as const;

/** How much history a chart shows (the buffer may hold more). */
export const WINDOW_SECONDS = 600;

/** Whole seconds and up: the axis never repeats a label. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

function timeRange(_plot: uPlot, min: number, max: number): uPlot.Range.MinMax {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [min, max];
  if (max - min < 1) return [max - 30, max + 1]; // one point: half a minute before it
  return [Math.max(min, max - WINDOW_SECONDS), max];
}

interface ChartProps {
  source: ChartSource;
  /** Colour index of each series (into SERIES_COLORS). */
  colors?: readonly number[];
  height: number;
  /** The text alternative (the values are on screen next to the chart). */
  label: string;
  /** A sparkline: no axes, no cursor. */
  compact?: boolean;
  testId?: string;
}

export function Chart({ source, colors, height, label, compact = false, testId }: ChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const { theme: current } = useStore(theme);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const style = getComputedStyle(element);
    const axis = style.getPropertyValue("--chart-axis").trim() || "#667";
    const grid = style.getPropertyValue("--chart-grid").trim() || "#ddd";
    const palette = SERIES_COLORS[current];
    const series: uPlot.Series[] = [
      {},
      ...source.labels.map((name, index) => ({
        label: name,
        stroke: palette[(colors?.[index] ?? index) % palette.length],
        width: compact ? 1.5 : 2,
        points: { show: false },
        spanGaps: true,
      })),
    ];
    const axes: uPlot.Axis[] = compact
      ? [{ show: false }, { show: false }]
      : [
          {
            stroke: axis,
            grid: { stroke: grid, width: 1 },
            ticks: { stroke: grid, width: 1 },
            font: "12px system-ui, sans-serif",
            space: 70,
            incrs: TIME_STEPS,
            values: (_u, splits) => splits.map((s) => formatTime(s * 1000)),
          },
          { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { show: false }, font: "12px system-ui, sans-serif", size: 60, values: (_u, splits) => splits.map((s) => formatNumber(s)) },
        ];
    const options: uPlot.Options = {
      width: Math.max(50, Math.floor(element.clientWidth)),
      height,
      series,
      axes,
      legend: { show: false },
      cursor: compact ? { show: false } : { drag: { x: false, y: false }, points: { size: 6 } },
      // The last WINDOW_SECONDS up to the newest point: the chart scrolls instead of rescaling.
      scales: { x: { time: true, range: timeRange } },
      padding: compact ? [4, 2, 4, 2] : [8, 8, 0, 0],
    };
    const plot = new uPlot(options, source.buffer.data(), element);
    element.dataset.points = String(source.buffer.length);
    const stop = source.subscribe(() => {
      plot.setData(source.buffer.data());
      element.dataset.points = String(source.buffer.length);
    });
    const resize = new ResizeObserver((entries) => {
      const width = Math.floor(entries[0]?.contentRect.width ?? 0);
      if (width > 0 && width !== plot.width) plot.setSize({ width, height });
    });
    resize.observe(element);
    return () => {
      stop();
      resize.disconnect();
      plot.destroy();
    };
  }, [source, current, height, compact, colors]);

  return <div ref={container} className={compact ? "chart chart-compact" : "chart"} style={{ height }} role="img" aria-label={label} data-testid={testId} />;
}
