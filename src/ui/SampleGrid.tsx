import { memo, useEffect, useState } from 'react';
import { deleteSamples, moveSamples, useSamplePage } from '../state/classes';
import type { ClassRow, SampleRow } from '../state/repo';
import { useBlobSrc } from './useObjectUrl';

// Thumbnails rendered per class before "Show more": keeps the first view of large projects light.
const PAGE = 24;

// A sample's thumbnail never changes, but every re-read of the class's rows (after each save
// during an import) brings a new Blob object: keyed by sample id, the image and its object URL are
// made once instead of for the whole page after every save.
const Thumb = memo(
  function Thumb({ sample }: { sample: SampleRow }) {
    const ref = useBlobSrc(sample.thumb);
    return <img ref={ref} alt="" loading="lazy" decoding="async" width={72} height={72} />;
  },
  (a, b) => a.sample.id === b.sample.id,
);

/**
 * True once the element has come near the viewport (and from then on): grids further down the
 * page read their rows and make their thumbnails only when the user scrolls towards them. The ref
 * is a callback: the element may appear only after the first render (an empty class filling up).
 */
function useNearViewport(): [(el: HTMLDivElement | null) => void, boolean] {
  const [el, setEl] = useState<HTMLDivElement | null>(null);
  const [near, setNear] = useState(typeof IntersectionObserver === 'undefined');
  useEffect(() => {
    if (near || !el) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setNear(true);
      },
      { rootMargin: '1500px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [el, near]);
  return [setEl, near];
}

interface Props {
  projectId: string;
  cls: ClassRow;
  classes: ClassRow[];
  /** Samples in the class (from the class counts): how many are not shown yet. */
  count: number;
}

/** The class's samples as lazy thumbnails; select some to delete (with undo) or move them. */
export function SampleGrid({ cls, classes, count }: Props) {
  const [box, near] = useNearViewport();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [limit, setLimit] = useState(PAGE);
  const [target, setTarget] = useState('');
  const samples = useSamplePage(cls.id, limit, near && count > 0);

  if (count === 0) return null;
  // Off screen or still loading: a placeholder of about one row keeps the page from jumping.
  if (!near || !samples) return <div ref={box} className="samples samples-pending" />;
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
    <div ref={box} className="samples">
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
        {samples.map((s) => (
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
      {count > samples.length && (
        <button type="button" className="link-button" onClick={() => setLimit((n) => n + PAGE * 4)}>
          Show more ({count - samples.length} hidden)
        </button>
      )}
    </div>
  );
}
