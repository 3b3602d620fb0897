import { useClasses, deleteSamples, moveSamples } from '../state/classes';
import {
  dismissReviewItem,
  loadReview,
  useInsight,
  useInsightSettings,
  type ReviewEntry,
  type ReviewReason,
} from '../state/insight';
import { useSamplesByIds, useTraining } from '../state/training';
import type { ClassRow } from '../state/repo';
import { percent } from './format';
import { useBlobSrc } from './useObjectUrl';

const REASON_TEXT: Record<ReviewReason, string> = {
  misclassified: 'misclassified',
  unsure: 'unsure',
  'near-other-class': 'closer to another class',
};

function Row({
  entry,
  sample,
  classes,
}: {
  entry: ReviewEntry;
  sample: { id: string; name: string; thumb: Blob };
  classes: ClassRow[];
}) {
  const ref = useBlobSrc(sample.thumb);
  const name = (id: string | null) => classes.find((c) => c.id === id)?.name ?? '?';
  return (
    <li data-testid="review-item" data-sample-id={entry.sampleId}>
      <img ref={ref} alt={sample.name} className="thumb" width={64} height={64} />
      <span className="small">
        {sample.name}
        <br />
        labelled <strong>{name(entry.classId)}</strong>, model says{' '}
        <strong>{name(entry.predClassId)}</strong> ({percent(entry.confidence, 0)})
        <br />
        {entry.reasons.map((r) => (
          <span key={r} className={`badge badge-${r}`}>
            {REASON_TEXT[r]}
            {r === 'near-other-class' && entry.nearestClassId
              ? `: ${name(entry.nearestClassId)}`
              : ''}
          </span>
        ))}
      </span>
      <span className="review-actions">
        <select
          aria-label={`Relabel ${sample.name}`}
          value=""
          data-testid="review-relabel"
          onChange={(e) => {
            if (!e.target.value) return;
            void moveSamples([entry.sampleId], e.target.value).then(() =>
              dismissReviewItem(entry.sampleId),
            );
          }}
        >
          <option value="">Relabel as…</option>
          {classes
            .filter((c) => c.id !== entry.classId)
            .map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
        </select>
        <button
          type="button"
          className="button small"
          data-testid="review-delete"
          onClick={() =>
            void deleteSamples([entry.sampleId]).then(() => dismissReviewItem(entry.sampleId))
          }
        >
          Delete
        </button>
      </span>
    </li>
  );
}

/** The samples the model finds hardest: misclassified, unsure, or sitting among another class. */
export function ReviewPanel({ projectId }: { projectId: string }) {
  const loaded = useTraining((s) => s.loadedHead);
  const review = useInsight((s) => s.review);
  const { threshold } = useInsightSettings(projectId);
  const classes = useClasses(projectId) ?? [];
  const items = review.projectId === projectId ? review.items : [];
  const rows = useSamplesByIds(items.map((i) => i.sampleId));
  const byId = new Map((rows ?? []).map((r) => [r.id, r]));
  const canRun = loaded?.projectId === projectId;
  return (
    <section
      className="panel"
      aria-labelledby="review-title"
      data-testid="review-panel"
      data-status={review.status}
    >
      <h3 id="review-title">Review hard samples</h3>
      <div className="row">
        <button
          type="button"
          className="button"
          data-testid="review-button"
          disabled={!canRun || review.status === 'loading'}
          onClick={() => void loadReview(projectId, loaded!.classIds, threshold)}
        >
          {review.status === 'ready' && review.projectId === projectId
            ? 'Refresh the list'
            : 'Find hard samples'}
        </button>
        {!canRun && <span className="muted">Train the model first.</span>}
        {review.status === 'loading' && (
          <span className="muted" role="status">
            Scoring every sample…
          </span>
        )}
      </div>
      {review.error && (
        <p className="error-text" role="alert">
          {review.error}
        </p>
      )}
      {review.status === 'ready' &&
        review.projectId === projectId &&
        (items.length === 0 ? (
          <p className="muted">
            Nothing to review: every sample is classified confidently and sits with its own class.
          </p>
        ) : (
          <>
            <p className="muted small">
              Hardest first. Scores come from the trained model (samples it trained on look easier
              than new ones).
            </p>
            <ul className="sample-list review-list" aria-label="Samples to review">
              {items.map((e) => {
                const s = byId.get(e.sampleId);
                return s ? <Row key={e.sampleId} entry={e} sample={s} classes={classes} /> : null;
              })}
            </ul>
          </>
        ))}
    </section>
  );
}
