// A tiny SVG line chart for training curves (no chart library: no eval, no innerHTML).
interface Series {
  name: string;
  values: (number | undefined)[];
  className: string;
}

export function LineChart({ title, series, maxX, yMax }: { title: string; series: Series[]; maxX: number; yMax?: number }) {
  const w = 320;
  const h = 140;
  const pad = 24;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const top = yMax ?? Math.max(1e-6, ...all);
  const x = (i: number) => pad + (i / Math.max(1, maxX - 1)) * (w - 2 * pad);
  const y = (v: number) => h - pad - (Math.min(v, top) / top) * (h - 2 * pad);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={title}>
        <line x1={pad} y1={h - pad} x2={w - pad} y2={h - pad} className="axis" />
        <line x1={pad} y1={pad} x2={pad} y2={h - pad} className="axis" />
        <text x={pad} y={pad - 6} className="chart-label">
          {top.toPrecision(2)}
        </text>
        {series.map((s) => {
          const pts = s.values.map((v, i) => (v === undefined || !Number.isFinite(v) ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
          return <polyline key={s.name} points={pts.join(' ')} className={`series ${s.className}`} fill="none" />;
        })}
      </svg>
      <figcaption>
        {title}:{' '}
        {series.map((s) => (
          <span key={s.name} className={`legend ${s.className}`}>
            {s.name}{' '}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
