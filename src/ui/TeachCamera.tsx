import { useCallback, useEffect, useRef, useState } from 'react';
import { encodeFrame, snapshotFrame } from '../capture/webcam';
import { importCaptured } from '../state/importer';
import { CameraPicker, useCamera } from './useCamera';

/** Frames per second while "hold to record" is held. */
export const RECORD_FPS = 5;
/** Frames being encoded at once; past this a tick is skipped rather than piling up memory. */
const MAX_PENDING_ENCODES = 10;

interface Props {
  classId: string | null;
  className: string | null;
  /** Closes the camera (the card's "Close webcam"). */
  onClose: () => void;
}

/**
 * Webcam samples for the selected class: a single shot, or hold the record button (mouse, touch,
 * or Space/Enter held) to add frames at a steady RECORD_FPS, with a counter while recording.
 */
export function TeachCamera({ classId, className, onClose }: Props) {
  const { video, stream, cameras, deviceId, error, setError, start, stop, choose } = useCamera();
  const [recording, setRecording] = useState(false);
  const [count, setCount] = useState(0);
  const timer = useRef<ReturnType<typeof setInterval> | null>(null);
  const frameNo = useRef(0);
  const pending = useRef(0);
  const target = useRef(classId);
  useEffect(() => {
    target.current = classId;
  }, [classId]);

  /**
   * Takes a frame now (synchronously) and queues it for the class once encoded. Returns false when
   * no frame could be taken; encoding runs in the background so the capture rate stays steady.
   */
  const shoot = useCallback((): boolean => {
    const cls = target.current;
    if (!video.current || !cls) return false;
    if (pending.current >= MAX_PENDING_ENCODES) return false;
    let canvas: HTMLCanvasElement;
    try {
      canvas = snapshotFrame(video.current);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      return false;
    }
    frameNo.current += 1;
    const n = frameNo.current;
    pending.current += 1;
    void encodeFrame(canvas, `webcam-${n}.jpg`)
      .then(
        (file) => importCaptured(cls, file, 'webcam', n),
        (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
      )
      .finally(() => {
        pending.current -= 1;
      });
    return true;
  }, [setError, video]);

  const stopRecording = useCallback(() => {
    if (timer.current !== null) clearInterval(timer.current);
    timer.current = null;
    setRecording(false);
  }, []);

  const startRecording = useCallback(() => {
    if (timer.current !== null || !target.current) return;
    setCount(0);
    setRecording(true);
    const tick = () => {
      if (shoot()) setCount((n) => n + 1);
    };
    tick();
    timer.current = setInterval(tick, 1000 / RECORD_FPS);
  }, [shoot]);

  useEffect(() => stopRecording, [stopRecording]);
  // Opened from a class card: start at once (the button below is the retry after an error).
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void start();
  }, [start]);

  const disabled = !classId;
  const holdKey = (key: string) => key === ' ' || key === 'Enter';

  return (
    <div className="camera teach-camera" data-testid="teach-camera">
      {!stream ? (
        <button
          type="button"
          className="button"
          data-testid="teach-camera-start"
          onClick={() => void start(deviceId)}
        >
          {error ? 'Try the webcam again' : 'Starting the webcam…'}
        </button>
      ) : (
        <>
          <video
            ref={video}
            className="camera-video mirrored"
            autoPlay
            playsInline
            muted
            aria-label="Webcam preview (mirrored)"
          />
          <CameraPicker cameras={cameras} deviceId={deviceId} onChoose={choose} />
          <p className="small">
            {className ? (
              <>
                Adding to <strong data-testid="camera-target">{className}</strong>
              </>
            ) : (
              'Select or add a class first.'
            )}
          </p>
          <div className="row">
            <button
              type="button"
              className="button"
              disabled={disabled}
              data-testid="camera-shot"
              onClick={() => shoot()}
            >
              Take one photo
            </button>
            <button
              type="button"
              className={`button primary record${recording ? ' recording' : ''}`}
              disabled={disabled}
              aria-pressed={recording}
              data-testid="camera-record"
              aria-describedby="record-help"
              onPointerDown={(e) => {
                if (e.button !== 0) return;
                e.currentTarget.setPointerCapture(e.pointerId);
                startRecording();
              }}
              onPointerUp={stopRecording}
              onPointerCancel={stopRecording}
              onLostPointerCapture={stopRecording}
              onKeyDown={(e) => {
                if (!holdKey(e.key)) return;
                e.preventDefault();
                if (!e.repeat) startRecording();
              }}
              onKeyUp={(e) => {
                if (!holdKey(e.key)) return;
                e.preventDefault();
                stopRecording();
              }}
              onBlur={stopRecording}
              onContextMenu={(e) => e.preventDefault()}
            >
              {recording ? 'Recording…' : 'Hold to record'}
            </button>
            <button
              type="button"
              className="button"
              onClick={() => {
                stopRecording();
                stop();
                onClose();
              }}
            >
              Close webcam
            </button>
          </div>
          <p id="record-help" className="muted small">
            Hold the button (or hold Space on it) to add {RECORD_FPS} frames a second.
          </p>
          <p className="small" role="status" aria-live="polite" data-testid="record-count">
            {recording || count > 0 ? `${count} frame${count === 1 ? '' : 's'} recorded` : ''}
          </p>
        </>
      )}
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
