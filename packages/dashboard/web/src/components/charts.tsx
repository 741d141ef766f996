/**
 * SVG charts drawn in React (no chart library): a line chart, a bar chart and a stacked bar chart. Each is
 * an `<svg role="img">` with a `<title>` and `aria-label`; each bar or point carries its value in a `<title>`
 * (hover tooltip). Pages also show the numbers in a table, since a chart alone is not accessible.
 */
import { type ReactNode, type RefObject, useEffect, useRef, useState } from 'react';

const H = 220;
const PAD = { left: 56, right: 24, top: 14, bottom: 30 };
const PLOT_H = H - PAD.top - PAD.bottom;

/** The chart's box, its measured width and the width of the plot inside the padding. */
interface ChartBox {
  ref: RefObject<HTMLDivElement | null>;
  width: number;
  plotWidth: number;
}

/** What names a chart and formats its y axis, given to every chart. */
export interface ChartLabels {
  testid: string;
  title: string;
  yFormat: (y: number) => string;
}

interface AxisLabel {
  x: number;
  text: string;
}

/**
 * The width of the chart's box in CSS pixels (followed with a ResizeObserver), so the SVG is drawn at its real
 * size and its text stays legible on a phone and a wide screen alike.
 */
function useChartBox(): ChartBox {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(640);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(240, Math.round(el.clientWidth)));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return { ref, width, plotWidth: width - PAD.left - PAD.right };
}

/** A round upper bound (1, 2, 2.5 or 5 × 10^k) at or above `max`. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

interface FrameProps {
  box: ChartBox;
  labels: ChartLabels;
  yMax: number;
  yMin?: number;
  empty: boolean;
  children: ReactNode;
  xLabels: AxisLabel[];
}

function Frame({
  box,
  labels: { testid, title, yFormat },
  yMax,
  yMin = 0,
  empty,
  children,
  xLabels,
}: FrameProps) {
  const { width: W, plotWidth: PLOT_W } = box;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => yMin + t * (yMax - yMin));
  const y = (v: number) => PAD.top + PLOT_H - ((v - yMin) / (yMax - yMin || 1)) * PLOT_H;
  return (
    <div className="chart-box" ref={box.ref}>
      <svg
        className="chart"
        viewBox={`0 0 ${W} ${H}`}
        width={W}
        height={H}
        role="img"
        aria-label={title}
        data-testid={testid}
      >
        <title>{title}</title>
        <g className="chart-grid">
          {ticks.map((tick) => (
            <g key={tick}>
              <line x1={PAD.left} x2={W - PAD.right} y1={y(tick)} y2={y(tick)} />
              {!empty && (
                <text x={PAD.left - 6} y={y(tick)} dy="0.32em" textAnchor="end">
                  {yFormat(tick)}
                </text>
              )}
            </g>
          ))}
        </g>
        <g className="chart-axis">
          {xLabels.map((label) => (
            <text key={`${label.x}-${label.text}`} x={label.x} y={H - 8} textAnchor="middle">
              {label.text}
            </text>
          ))}
        </g>
        {empty ? (
          <text
            className="chart-empty"
            x={PAD.left + PLOT_W / 2}
            y={PAD.top + PLOT_H / 2}
            textAnchor="middle"
          >
            No data yet
          </text>
        ) : (
          children
        )}
      </svg>
    </div>
  );
}

/** Up to `max` evenly spread indices of an array of length `n` (always the first and the last). */
function spread(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(Math.round((i * (n - 1)) / (max - 1)));
  return [...new Set(out)];
}

/** Labels under the x axis for items 0 to `n - 1`, at most one per `spacing` pixels of width (at least 2). */
function xAxisLabels(
  n: number,
  box: ChartBox,
  spacing: number,
  label: (i: number) => AxisLabel,
): AxisLabel[] {
  return spread(n, Math.max(2, Math.floor(box.width / spacing))).map(label);
}

export interface LinePoint {
  x: number;
  y: number | null;
}

export interface LineChartProps extends ChartLabels {
  points: LinePoint[];
  xFormat: (x: number) => string;
  /** Fixed y range, e.g. [0, 1] for a score; otherwise 0 to a round maximum. */
  yRange?: [number, number];
}

/** A line over `points` (x ascending); a `null` y breaks the line. */
export function LineChart({ points, xFormat, yRange, ...labels }: LineChartProps) {
  const { yFormat } = labels;
  const box = useChartBox();
  const PLOT_W = box.plotWidth;
  const values = points.flatMap((p) => (p.y === null ? [] : [p.y]));
  const [yMin, yMax] = yRange ?? [0, niceMax(Math.max(0, ...values))];
  const xs = points.map((p) => p.x);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const px = (x: number) => PAD.left + (xMax === xMin ? PLOT_W / 2 : ((x - xMin) / (xMax - xMin)) * PLOT_W);
  const py = (v: number) => PAD.top + PLOT_H - ((v - yMin) / (yMax - yMin || 1)) * PLOT_H;
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p.y === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`;
    pen = true;
  }
  const xLabels = xAxisLabels(points.length, box, 110, (i) => {
    const x = points[i]?.x ?? 0;
    return { x: px(x), text: xFormat(x) };
  });
  return (
    <Frame box={box} labels={labels} yMin={yMin} yMax={yMax} empty={values.length === 0} xLabels={xLabels}>
      <path className="chart-line" d={d} />
      {points.length <= 120 &&
        points.map((p) =>
          p.y === null ? null : (
            <circle key={p.x} className="chart-point" cx={px(p.x)} cy={py(p.y)} r={3}>
              <title>{`${xFormat(p.x)}: ${yFormat(p.y)}`}</title>
            </circle>
          ),
        )}
    </Frame>
  );
}

export interface StackSeries {
  key: string;
  label: string;
}

export interface StackedBar {
  label: string;
  /** One value per series, in the order of `series`. */
  values: number[];
}

export interface BarChartProps extends ChartLabels {
  series: StackSeries[];
  bars: StackedBar[];
}

/** Bars, each a stack of one value per series (a single series gives a plain bar chart). */
export function BarChart({ series, bars, ...labels }: BarChartProps) {
  const { yFormat } = labels;
  const box = useChartBox();
  const PLOT_W = box.plotWidth;
  const totals = bars.map((b) => b.values.reduce((a, v) => a + v, 0));
  const yMax = niceMax(Math.max(0, ...totals));
  const slot = PLOT_W / Math.max(bars.length, 1);
  const barW = Math.max(2, Math.min(48, slot * 0.7));
  const scale = (v: number) => (v / yMax) * PLOT_H;
  const xLabels = xAxisLabels(bars.length, box, 60, (i) => ({
    x: PAD.left + slot * i + slot / 2,
    text: bars[i]?.label ?? '',
  }));
  return (
    <Frame box={box} labels={labels} yMax={yMax} empty={bars.length === 0} xLabels={xLabels}>
      {bars.map((bar, i) => {
        const x = PAD.left + slot * i + (slot - barW) / 2;
        let base = PAD.top + PLOT_H;
        return (
          <g key={bar.label}>
            {series.map((s, j) => {
              const value = bar.values[j] ?? 0;
              const h = scale(value);
              base -= h;
              return (
                <rect
                  key={s.key}
                  className={`chart-bar series-${j + 1}`}
                  x={x}
                  y={base}
                  width={barW}
                  height={h}
                >
                  <title>{`${bar.label} ${s.label}: ${yFormat(value)}`}</title>
                </rect>
              );
            })}
          </g>
        );
      })}
    </Frame>
  );
}

/** A legend for `BarChart` series: swatches in the series' colours. */
export function Legend({ series }: { series: StackSeries[] }) {
  return (
    <ul className="legend">
      {series.map((s, j) => (
        <li key={s.key}>
          <span className={`swatch series-${j + 1}`} aria-hidden="true" />
          {s.label}
        </li>
      ))}
    </ul>
  );
}
