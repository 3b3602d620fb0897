import { useState } from 'react';
import { deleteSamples, moveSamples, useSamples } from '../state/classes';
import type { ClassRow, SampleRow } from '../state/repo';
import { useBlobSrc } from './useObjectUrl';

// Thumbnails rendered per class before "Show more": keeps the first view of large projects light.
const PAGE = 24;

function Thumb({ sample }: { sample: SampleRow }) {
  const ref = useBlobSrc(sample.thumb);
  return <img ref={ref} alt="" loading="lazy" decoding="async" width={72} height={72} />;
}

interface Props {
  projectId: string;
  cls: ClassRow;
  classes: ClassRow[];
}

/** The class's samples as lazy thumbnails; select some to delete (with undo) or move them. */
export function SampleGrid({ projectId, cls, classes }: Props) {
  const samples = useSamples(projectId, cls.id);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [limit, setLimit] = useState(PAGE);
  const [target, setTarget] = useState('');

  if (!samples) return <p className="muted small">Loading samples…</p>;
  if (samples.length === 0) return null;

  // Drop ids that no longer exist here (deleted, moved) from the selection.
  const present = new Set(samples.map((s) => s.id));
  const chosen = [...selected].filter((id) => present.has(id));
  const others = classes.filter((c) => c.id !== cls.id);
  const moveTo = others.find((c) => c.id === target)?.id ?? others[0]?.id ?? '';

  const toggle = (id: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div className="samples">
      {chosen.length > 0 && (
        <div className="row sample-actions" data-testid="sample-actions">
          <span>{chosen.length} selected</span>
          <button
            type="button"
            className="button danger"
            data-testid="samples-delete"
            onClick={() => {
              void deleteSamples(chosen);
              setSelected(new Set());
            }}
          >
            Delete
          </button>
          {others.length > 0 && (
            <>
              <label>
                Move to{' '}
                <select
                  value={moveTo}
                  data-testid="samples-move-target"
                  onChange={(e) => setTarget(e.target.value)}
                >
                  {others.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name}
                    </option>
                  ))}
                </select>
              </label>
              <button
                type="button"
                className="button"
                data-testid="samples-move"
                onClick={() => {
                  void moveSamples(chosen, moveTo);
                  setSelected(new Set());
                }}
              >
                Move
              </button>
            </>
          )}
          <button type="button" className="link-button" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      )}
      <ul className="sample-grid" aria-label={`Samples of ${cls.name}`} data-testid="sample-grid">
        {samples.slice(0, limit).map((s) => (
          <li key={s.id}>
            <button
              type="button"
              className="thumb"
              aria-pressed={selected.has(s.id)}
              aria-label={`Select ${s.name}`}
              title={s.name}
              data-testid="sample"
              onClick={() => toggle(s.id)}
            >
              <Thumb sample={s} />
            </button>
          </li>
        ))}
      </ul>
      {samples.length > limit && (
        <button type="button" className="link-button" onClick={() => setLimit((n) => n + PAGE * 4)}>
          Show more ({samples.length - limit} hidden)
        </button>
      )}
    </div>
  );
}
