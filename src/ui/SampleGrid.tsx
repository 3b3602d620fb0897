import { memo, useEffect, useState } from 'react';
import { deleteSamples, moveSamples, useSamplePage } from '../state/classes';
import type { ClassRow, SampleRow } from '../state/repo';
import { useBlobSrc } from './useObjectUrl';

// Thumbnails per page of a class's grid: a class of any size shows one page at a time (Previous /
// Next), and a grid far from the viewport shows none, so the DOM holds only thumbnails near the
// screen whatever the size of the project.
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
 * Whether the element is within 1,500 px of the viewport: grids read their rows and make their
 * thumbnails only when the user scrolls towards them, and drop them again once scrolled far away
 * (their placeholder keeps the height they had, so the page does not jump). The ref is a callback:
 * the element may appear only after the first render (an empty class filling up).
 */
function useNearViewport(): [(el: HTMLDivElement | null) => void, boolean, number] {
  const [el, setEl] = useState<HTMLDivElement | null>(null);
  const [near, setNear] = useState(typeof IntersectionObserver === 'undefined');
  const [height, setHeight] = useState(0);
  useEffect(() => {
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver(
      (entries) => {
        const entry = entries[entries.length - 1];
        if (!entry) return;
        if (!entry.isIntersecting) setHeight(Math.round(entry.boundingClientRect.height));
        setNear(entry.isIntersecting);
      },
      { rootMargin: '1500px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [el]);
  return [setEl, near, height];
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
  const [box, near, farHeight] = useNearViewport();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [pageStart, setPageStart] = useState(0);
  const [target, setTarget] = useState('');
  // After deletions the page may start past the end: show the last page instead.
  const lastStart = Math.max(0, Math.floor((count - 1) / PAGE) * PAGE);
  const offset = Math.min(pageStart, lastStart);
  const samples = useSamplePage(cls.id, PAGE, near && count > 0, offset);

  if (count === 0) return null;
  // Off screen or still loading: a placeholder (of the height the grid had) keeps the page still.
  if (!near || !samples)
    return (
      <div
        ref={box}
        className="samples samples-pending"
        style={farHeight > 0 ? { minHeight: farHeight } : undefined}
      />
    );
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
      {count > PAGE && (
        <nav className="row sample-pager" aria-label={`Pages of ${cls.name}`}>
          <button
            type="button"
            className="link-button"
            data-testid="samples-prev"
            disabled={offset === 0}
            onClick={() => setPageStart(Math.max(0, offset - PAGE))}
          >
            ‹ Previous
          </button>
          <span className="muted" data-testid="samples-range" aria-live="polite">
            {offset + 1}–{offset + samples.length} of {count}
          </span>
          <button
            type="button"
            className="link-button"
            data-testid="samples-next"
            disabled={offset + PAGE >= count}
            onClick={() => setPageStart(offset + PAGE)}
          >
            Next ›
          </button>
        </nav>
      )}
    </div>
  );
}
