import { cancelReembed, resumeReembed, useReembed } from '../state/reembed';

/**
 * Progress of the background re-embedding after an extractor switch: done/total in a live region
 * (always mounted, so screen readers hear the updates), Cancel while it runs, Resume after.
 */
export function ReembedStatus({ projectId }: { projectId: string }) {
  const s = useReembed();
  const mine = s.projectId === projectId && s.status !== 'idle';
  const skippedNote =
    mine && s.noOriginal > 0
      ? ` ${s.noOriginal} sample${s.noOriginal === 1 ? ' has' : 's have'} no original image any more and cannot be re-embedded; training leaves ${s.noOriginal === 1 ? 'it' : 'them'} out.`
      : '';
  const failedNote =
    mine && s.failed > 0
      ? ` ${s.failed} could not be embedded this time; training leaves ${s.failed === 1 ? 'it' : 'them'} out.`
      : '';
  return (
    <div
      className={mine ? 'panel reembed-panel' : 'reembed-idle'}
      role="status"
      aria-live="polite"
      data-testid="reembed-status"
      data-status={mine ? s.status : 'idle'}
      data-done={mine ? s.done : 0}
      data-total={mine ? s.total : 0}
      data-reason={mine ? s.reason : ''}
    >
      {mine && (
        <>
          <p className="small">
            {s.status === 'waiting' && (
              <span data-testid="reembed-waiting">
                {s.waitingOnThisTab
                  ? `Re-embedding for ${s.extractorName} waits for the import running in this tab to finish.`
                  : `Another tab is importing into or re-embedding this project: re-embedding for ${s.extractorName} starts here when it is done.`}
              </span>
            )}
            {s.status === 'running' && (
              <>
                {s.reason === 'update' ? `${s.extractorName} came with new weights in this version of Glimpse, so your samples are embedded again:` : `Re-embedding samples for ${s.extractorName}:`}{' '}
                <strong data-testid="reembed-counts">
                  {s.done} / {s.total}
                </strong>{' '}
                — you can keep working; training waits for it.
              </>
            )}
            {s.status === 'done' && (
              <>
                {s.reason === 'update' ? `Samples embedded again with the new weights of ${s.extractorName}` : `Samples re-embedded for ${s.extractorName}`}:{' '}
                <strong data-testid="reembed-counts">
                  {s.done} / {s.total}
                </strong>
                .{s.reason === 'update' ? ' A classifier trained with the old weights is not used with the new ones: train again.' : ''}
              </>
            )}
            {s.status === 'cancelled' && (
              <>
                Re-embedding for {s.extractorName} paused at{' '}
                <strong data-testid="reembed-counts">
                  {s.done} / {s.total}
                </strong>
                . Training resumes it.
              </>
            )}
            {s.status === 'error' && (
              <span className="error-text">Re-embedding stopped: {s.error}</span>
            )}
            {skippedNote}
            {failedNote}
          </p>
          {(s.status === 'running' || s.status === 'waiting') && (
            <div className="row">
              {s.status === 'running' && (
                <progress
                  max={Math.max(1, s.total)}
                  value={s.done}
                  aria-label="Re-embedding progress"
                  className="import-progress"
                />
              )}
              <button
                type="button"
                className="button small-button"
                data-testid="reembed-cancel"
                onClick={cancelReembed}
              >
                Cancel
              </button>
            </div>
          )}
          {(s.status === 'cancelled' || s.status === 'error') && (
            <button
              type="button"
              className="button small-button"
              data-testid="reembed-resume"
              onClick={resumeReembed}
            >
              Resume
            </button>
          )}
        </>
      )}
    </div>
  );
}
