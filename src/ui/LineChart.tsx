// Training curves with uPlot (canvas; no eval, no innerHTML from our data): axes with units, a
// legend with the values under the cursor, and a text summary for screen readers.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

interface Series {
  name: string;
  values: (number | undefined)[];
  /** Which palette colour (CSS variables --series-1 / --series-2, themed light and dark). */
  colour: 1 | 2;
}

interface Props {
  title: string;
  /** The y axis label with its unit, e.g. "loss (cross-entropy)" or "accuracy (%)". */
  yLabel: string;
  series: Series[];
  /** Values are fractions shown as percentages (0..100 on the axis). */
  percent?: boolean;
  testId?: string;
}

const HEIGHT = 170;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

function toData(series: Series[], percent: boolean): uPlot.AlignedData {
  const n = Math.max(0, ...series.map((s) => s.values.length));
  const x = Array.from({ length: n }, (_, i) => i + 1);
  const ys = series.map((s) =>
    x.map((_, i) => {
      const v = s.values[i];
      return v === undefined || !Number.isFinite(v) ? null : percent ? v * 100 : v;
    }),
  );
  return [x, ...ys];
}

export function LineChart({ title, yLabel, series, percent = false, testId }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = toData(series, percent);
  const names = series.map((s) => `${s.name}:${s.colour}`).join(',');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const text = cssVar('--text');
    const grid = cssVar('--border');
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      scales: { x: { time: false }, ...(percent ? { y: { range: [0, 100] } } : {}) },
      axes: [
        // Whole epochs only on the x axis.
        { ...axis, label: 'epoch', labelSize: 20, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
        { ...axis, label: yLabel, labelSize: 20, size: 48 },
      ],
      series: [
        { label: 'epoch' },
        ...series.map((s) => ({
          label: s.name,
          stroke: cssVar(`--series-${s.colour}`),
          width: 2,
          points: { show: false },
          ...(s.colour === 2 ? { dash: [6, 4] } : {}),
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : percent ? `${v.toFixed(1)} %` : v.toFixed(3)),
        })),
      ],
      // A fixed legend (series names and line styles); exact values are in the text summary.
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
    };
    const u = new uPlot(opts, [[]], el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The plot is rebuilt only when the set of series changes; data updates go through setData.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [names, yLabel, percent]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const last = series
    .map((s) => {
      const v = [...s.values].reverse().find((x) => x !== undefined && Number.isFinite(x));
      return v === undefined ? null : `${s.name} ${percent ? `${(v * 100).toFixed(1)} %` : v.toFixed(3)}`;
    })
    .filter(Boolean)
    .join(', ');
  return (
    <figure className="chart" data-testid={testId} data-points={data[0].length}>
      <figcaption>{title}</figcaption>
      <div ref={box} className="chart-box" role="img" aria-label={`${title} per epoch, ${data[0].length} epochs; last: ${last || 'none'}`} />
    </figure>
  );
}
