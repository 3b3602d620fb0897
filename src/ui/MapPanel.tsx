import { useMemo, useState } from 'react';
import { useClasses } from '../state/classes';
import { cancelMap, computeMap, useInsight, type MapPoint } from '../state/insight';
import { selectClass } from '../state/session';
import { useSamplesByIds } from '../state/training';
import { useBlobSrc } from './useObjectUrl';

const W = 1000;
const H = 640;
const PAD = 16;

function SampleCard({
  sampleId,
  className,
  testId,
}: {
  sampleId: string;
  className: string;
  testId: string;
}) {
  const rows = useSamplesByIds(useMemo(() => [sampleId], [sampleId]));
  const s = rows?.[0];
  const ref = useBlobSrc(s?.thumb);
  if (!s) return null;
  return (
    <div className="map-card" data-testid={testId} data-sample-id={sampleId}>
      <img ref={ref} alt={s.name} width={96} height={96} className="thumb-img" />
      <span className="small">
        {s.name}
        <br />
        {className}
      </span>
    </div>
  );
}

/** A 2-D map of every sample: PCA at once, then UMAP (fixed seed); colour = class. */
export function MapPanel({ projectId }: { projectId: string }) {
  const map = useInsight((s) => s.map);
  const classes = useClasses(projectId) ?? [];
  const [hover, setHover] = useState<MapPoint | null>(null);
  const [picked, setPicked] = useState<MapPoint | null>(null);
  const points = map.projectId === projectId ? map.points : [];
  const colour = new Map(classes.map((c) => [c.id, c.color]));
  const name = (id: string) => classes.find((c) => c.id === id)?.name ?? '?';
  const busy = map.status === 'pca' || map.status === 'umap';
  const px = (p: MapPoint) => PAD + p.x * (W - 2 * PAD);
  const py = (p: MapPoint) => PAD + (1 - p.y) * (H - 2 * PAD);
  return (
    <section
      className="panel"
      aria-label="Embedding map"
      data-testid="map-panel"
      data-status={map.status}
      data-method={map.method ?? ''}
    >
      <div className="row">
        <button
          type="button"
          className="button"
          data-testid="map-button"
          disabled={busy}
          onClick={() => void computeMap(projectId)}
        >
          {points.length > 0 ? 'Redraw the map' : 'Draw the map'}
        </button>
        {busy && (
          <button type="button" className="button" onClick={cancelMap}>
            Stop
          </button>
        )}
        <span className="muted" role="status">
          {map.status === 'pca' && 'Projecting (PCA)…'}
          {map.status === 'umap' &&
            `PCA shown; refining with UMAP… ${Math.round(map.progress * 100)} %`}
          {map.status === 'ready' &&
            map.projectId === projectId &&
            `${points.length}${map.total > points.length ? ` of ${map.total}` : ''} samples · ${map.method === 'umap' ? 'UMAP (seed fixed)' : 'PCA'} · ${Math.round(map.ms ?? 0)} ms`}
        </span>
      </div>
      {map.error && (
        <p className="error-text" role="alert">
          {map.error}
        </p>
      )}
      {points.length > 0 && (
        <div className="map-wrap">
          <svg
            viewBox={`0 0 ${W} ${H}`}
            className="map-svg"
            role="img"
            aria-label={`Map of ${points.length} samples, coloured by class`}
            data-testid="map-svg"
            onMouseLeave={() => setHover(null)}
          >
            {points.map((p) => (
              <circle
                key={p.sampleId}
                data-testid="map-point"
                data-sample-id={p.sampleId}
                cx={px(p)}
                cy={py(p)}
                r={picked?.sampleId === p.sampleId ? 9 : 6}
                fill={colour.get(p.classId) ?? '#888'}
                className={picked?.sampleId === p.sampleId ? 'map-point picked' : 'map-point'}
                onMouseEnter={() => setHover(p)}
                onClick={() => setPicked(p)}
              >
                <title>{name(p.classId)}</title>
              </circle>
            ))}
          </svg>
          <ul className="map-legend" aria-label="Classes">
            {classes.map((c) => (
              <li key={c.id}>
                <span className="swatch" style={{ background: c.color }} aria-hidden="true" />{' '}
                {c.name}
              </li>
            ))}
          </ul>
          <div className="map-side">
            {hover && (
              <SampleCard
                sampleId={hover.sampleId}
                className={name(hover.classId)}
                testId="map-hover"
              />
            )}
            {picked && (
              <div>
                <SampleCard
                  sampleId={picked.sampleId}
                  className={name(picked.classId)}
                  testId="map-picked"
                />
                <button
                  type="button"
                  className="button small"
                  data-testid="map-open"
                  onClick={() => {
                    selectClass(picked.classId);
                    document
                      .querySelector(`[data-class-id="${CSS.escape(picked.classId)}"]`)
                      ?.scrollIntoView({ block: 'center' });
                  }}
                >
                  Open its class
                </button>
              </div>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
