import { useClasses } from '../state/classes';
import {
  dismissReviewItem,
  loadReview,
  useInsight,
  useInsightSettings,
  type ReviewReason,
} from '../state/insight';
import { useTraining } from '../state/training';
import { ReviewList } from './ReviewList';

const REASON_TEXT: Record<ReviewReason, string> = {
  misclassified: 'misclassified',
  unsure: 'unsure',
  'near-other-class': 'closer to another class',
};

/** The samples the model finds hardest: misclassified, unsure, or sitting among another class. */
export function ReviewPanel({ projectId }: { projectId: string }) {
  const loaded = useTraining((s) => s.loadedHead);
  const review = useInsight((s) => s.review);
  const { threshold } = useInsightSettings(projectId);
  const classes = useClasses(projectId) ?? [];
  const items = review.projectId === projectId ? review.items : [];
  const name = (id: string | null) => classes.find((c) => c.id === id)?.name ?? '?';
  const canRun = loaded?.projectId === projectId;
  return (
    <section
      className="panel"
      aria-label="Review hard samples"
      data-testid="review-panel"
      data-status={review.status}
    >
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
            <ReviewList
              label="Samples to review"
              classes={classes}
              onDone={dismissReviewItem}
              rows={items.map((e) => ({
                sampleId: e.sampleId,
                labelledId: e.classId,
                predictedId: e.predClassId,
                confidence: e.confidence,
                badges: e.reasons.map((r) => (
                  <span key={r} className={`badge badge-${r}`}>
                    {REASON_TEXT[r]}
                    {r === 'near-other-class' && e.nearestClassId ? `: ${name(e.nearestClassId)}` : ''}
                  </span>
                )),
              }))}
            />
          </>
        ))}
    </section>
  );
}
