import { useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { deleteSamples, moveSamples } from '../state/classes';
import type { ClassRow } from '../state/repo';
import { useSamplesByIds } from '../state/training';
import { percent } from './format';
import { useBlobSrc } from './useObjectUrl';

export interface ReviewRowData {
  sampleId: string;
  labelledId: string | null;
  predictedId: string | null;
  confidence: number;
  badges?: ReactNode;
}

interface Props {
  label: string;
  rows: ReviewRowData[];
  classes: ClassRow[];
  /** Called once a row was relabelled or deleted (the caller drops it from its list). */
  onDone: (sampleId: string) => void;
  /** Esc on a row (closes a drill-down). */
  onEscape?: () => void;
  testId?: string;
  itemTestId?: string;
}

function Thumb({ blob, alt }: { blob: Blob | null | undefined; alt: string }) {
  const ref = useBlobSrc(blob);
  return <img ref={ref} alt={alt} className="thumb-img" loading="lazy" width={64} height={64} />;
}

/**
 * Rows rendered (and read from the store) at a time: a list of thousands (the misclassified
 * validation samples of a 50,000-sample project) is shown a window at a time; ↑/↓ past its edge and
 * Previous / Next move the window.
 */
const WINDOW = 50;

/**
 * Samples to check, one row each, keyboard first: ↑/↓ (and Home/End) move between rows, a digit
 * relabels the row's sample as class N (the project's order), Delete removes it (Undo in the
 * toast), Esc leaves. The select and button on each row do the same with a pointer.
 */
export function ReviewList({ label, rows, classes, onDone, onEscape, testId, itemTestId = 'review-item' }: Props) {
  const [start, setStart] = useState(0);
  const first = Math.min(start, Math.max(0, Math.floor((rows.length - 1) / WINDOW) * WINDOW));
  const windowRows = rows.slice(first, first + WINDOW);
  const samples = useSamplesByIds(windowRows.map((r) => r.sampleId));
  const byId = new Map((samples ?? []).map((s) => [s.id, s]));
  const shown = windowRows.filter((r) => byId.has(r.sampleId));
  const [active, setActive] = useState(0);
  const items = useRef<(HTMLLIElement | null)[]>([]);
  const focusOnChange = useRef(false);
  /** Row (in the next window) to focus once that window has loaded. */
  const focusAfterPage = useRef<number | null>(null);
  const name = (id: string | null) => classes.find((c) => c.id === id)?.name ?? '?';
  const hintId = `${testId ?? 'review'}-keys`;

  const current = Math.min(active, Math.max(0, shown.length - 1));
  useEffect(() => {
    // After a row left the list, the row now at the same place takes the focus.
    if (!focusOnChange.current) return;
    focusOnChange.current = false;
    items.current[current]?.focus();
  }, [shown.length, current]);

  useEffect(() => {
    const want = focusAfterPage.current;
    if (want === null || !samples) return;
    focusAfterPage.current = null;
    const i = Math.max(0, Math.min(shown.length - 1, want));
    setActive(i);
    items.current[i]?.focus();
  }, [first, samples, shown.length]);

  if (!samples) return null;
  if (shown.length === 0) return <p className="muted">No samples here.</p>;

  const turnPage = (to: number, focusRow: number | null) => {
    focusAfterPage.current = focusRow;
    setStart(to);
  };

  const relabel = (row: ReviewRowData, to: string) => {
    if (!to || to === row.labelledId) return;
    focusOnChange.current = true;
    void moveSamples([row.sampleId], to).then(() => onDone(row.sampleId));
  };
  const remove = (row: ReviewRowData) => {
    focusOnChange.current = true;
    void deleteSamples([row.sampleId]).then(() => onDone(row.sampleId));
  };
  const move = (to: number) => {
    if (to >= shown.length && first + WINDOW < rows.length) return turnPage(first + WINDOW, 0);
    if (to < 0 && first > 0) return turnPage(first - WINDOW, WINDOW - 1);
    const i = Math.max(0, Math.min(shown.length - 1, to));
    setActive(i);
    items.current[i]?.focus();
  };
  const onKey = (e: KeyboardEvent<HTMLLIElement>, i: number, row: ReviewRowData) => {
    if (e.target !== e.currentTarget || e.altKey || e.ctrlKey || e.metaKey) return;
    let act: (() => void) | null = null;
    if (e.key === 'ArrowDown') act = () => move(i + 1);
    else if (e.key === 'ArrowUp') act = () => move(i - 1);
    else if (e.key === 'Home') act = () => move(0);
    else if (e.key === 'End') act = () => move(shown.length - 1);
    else if (e.key === 'Delete' || e.key === 'Backspace') act = () => remove(row);
    else if (e.key === 'Escape' && onEscape) act = onEscape;
    else if (/^[1-9]$/.test(e.key)) {
      const c = classes[Number(e.key) - 1];
      if (c) act = () => relabel(row, c.id);
    }
    if (!act) return;
    e.preventDefault();
    act();
  };

  return (
    <>
      <p id={hintId} className="hint">
        Keys: ↑ ↓ move · 1–{Math.min(9, classes.length)} relabel as that class ({classes.slice(0, 9).map((c, i) => `${i + 1} ${c.name}`).join(', ')}) · Delete removes (Undo in the message)
      </p>
      <ul className="sample-list" aria-label={label} aria-describedby={hintId} data-testid={testId}>
        {shown.map((row, i) => {
          const s = byId.get(row.sampleId)!;
          return (
            <li
              key={row.sampleId}
              ref={(el) => {
                items.current[i] = el;
              }}
              tabIndex={i === current ? 0 : -1}
              aria-label={`${s.name}: labelled ${name(row.labelledId)}, model says ${name(row.predictedId)}`}
              data-current={i === current}
              data-testid={itemTestId}
              data-sample-id={row.sampleId}
              data-labelled-id={row.labelledId ?? ''}
              onFocus={() => setActive(i)}
              onKeyDown={(e) => onKey(e, i, row)}
            >
              <Thumb blob={s.thumb} alt="" />
              <span className="sample-text">
                {s.name}
                <br />
                labelled <strong>{name(row.labelledId)}</strong>, model says <strong>{name(row.predictedId)}</strong> ({percent(row.confidence, 0)})
                {row.badges && (
                  <>
                    <br />
                    {row.badges}
                  </>
                )}
              </span>
              <span className="review-actions">
                <select aria-label={`Relabel ${s.name}`} value="" data-testid="review-relabel" onChange={(e) => relabel(row, e.target.value)}>
                  <option value="">Relabel as…</option>
                  {classes
                    .filter((c) => c.id !== row.labelledId)
                    .map((c) => (
                      <option key={c.id} value={c.id}>
                        {c.name}
                      </option>
                    ))}
                </select>
                <button type="button" className="button small" aria-label={`Delete ${s.name}`} data-testid="review-delete" onClick={() => remove(row)}>
                  Delete
                </button>
              </span>
            </li>
          );
        })}
      </ul>
      {rows.length > WINDOW && (
        <nav className="row sample-pager" aria-label={`Pages of ${label}`}>
          <button type="button" className="link-button" data-testid="list-prev" disabled={first === 0} onClick={() => turnPage(first - WINDOW, null)}>
            ‹ Previous
          </button>
          <span className="muted" aria-live="polite" data-testid="list-range">
            {first + 1}–{first + windowRows.length} of {rows.length}
          </span>
          <button type="button" className="link-button" data-testid="list-next" disabled={first + WINDOW >= rows.length} onClick={() => turnPage(first + WINDOW, null)}>
            Next ›
          </button>
        </nav>
      )}
    </>
  );
}
