import { useEffect, useRef, useState } from 'react';
import { grabFrame, openCamera, stopCamera } from '../capture/webcam';
import { useEngine } from '../state/engine';
import { loadLatestHead, predictImage, useTraining, type Prediction } from '../state/training';
import { decide, useInsightSettings } from '../state/insight';
import { DropZone } from './DropZone';
import { percent } from './format';

function Bars({ prediction, colors, threshold }: { prediction: Prediction; colors: Record<string, string>; threshold: number }) {
  const d = decide(prediction.scores.map((s) => s.score), threshold);
  const best = prediction.scores[d.index]!;
  return (
    <div>
      {d.sure ? (
        <p className="prediction-top" data-testid="prediction-top" data-class-id={best.classId} data-sure="true">
          Looks like <strong>{best.name}</strong> ({percent(best.score, 0)})
        </p>
      ) : (
        <p className="prediction-top not-sure" data-testid="prediction-top" data-class-id="" data-sure="false" data-best-class-id={best.classId}>
          <strong>Not sure</strong> — none of the classes reaches {percent(threshold, 0)} (closest: {best.name}, {percent(best.score, 0)})
        </p>
      )}
      <ul className="bars" aria-label="Scores per class">
        {prediction.scores.map((s) => (
          <li key={s.classId} data-testid="prediction-bar" data-class-id={s.classId} data-score={s.score}>
            <span className="top-label">{s.name}</span>
            <span className="bar" aria-hidden="true">
              <span className="bar-fill" style={{ width: `${Math.max(1, s.score * 100)}%`, background: colors[s.classId] ?? undefined }} />
            </span>
            <span className="score">{percent(s.score, 0)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Live prediction: webcam frames in a loop (never two in flight), or a dropped/picked image. */
export function PredictPanel({ projectId, colors }: { projectId: string; colors: Record<string, string> }) {
  const loaded = useTraining((s) => s.loadedHead);
  const engineKey = useEngine((s) => s.extractor?.key ?? null);
  const { threshold } = useInsightSettings(projectId);
  const [prediction, setPrediction] = useState<Prediction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const [fps, setFps] = useState<number | null>(null);
  const video = useRef<HTMLVideoElement>(null);
  const stream = useRef<MediaStream | null>(null);

  useEffect(() => {
    if (engineKey) void loadLatestHead(projectId).catch(() => undefined);
  }, [projectId, engineKey]);

  useEffect(() => {
    if (!live) return;
    let stopped = false;
    const times: number[] = [];
    void (async () => {
      try {
        stream.current = await openCamera();
        if (video.current) {
          video.current.srcObject = stream.current;
          await video.current.play().catch(() => undefined);
        }
        while (!stopped) {
          if (!video.current || video.current.readyState < 2) {
            await new Promise((r) => setTimeout(r, 50));
            continue;
          }
          const frame = await grabFrame(video.current);
          const p = await predictImage(frame, 'webcam frame');
          if (stopped) break;
          setPrediction(p);
          const now = performance.now();
          times.push(now);
          while (times.length > 10) times.shift();
          if (times.length > 1) setFps(((times.length - 1) * 1000) / (now - times[0]!));
        }
      } catch (err) {
        if (!stopped) setError(err instanceof Error ? err.message : String(err));
        setLive(false);
      }
    })();
    return () => {
      stopped = true;
      stopCamera(stream.current);
      stream.current = null;
    };
  }, [live]);

  const classify = async (files: File[]) => {
    setError(null);
    try {
      setPrediction(await predictImage(files[0]!, files[0]!.name));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section className="panel" aria-labelledby="predict-title" data-testid="predict-panel">
      <h3 id="predict-title">Try it</h3>
      {!loaded ? (
        <p className="muted">Train the model, then drop an image here or start the webcam to see live predictions.</p>
      ) : (
        <div className="two-col">
          <div>
            <DropZone label="Classify an image…" multiple={false} onFiles={(f) => void classify(f)} testId="predict-drop">
              Drop an image to classify it
            </DropZone>
            <div className="row">
              <button type="button" className="button" aria-pressed={live} onClick={() => setLive((l) => !l)} data-testid="live-toggle">
                {live ? 'Stop live prediction' : 'Live webcam prediction'}
              </button>
              {live && fps !== null && <span className="muted" data-testid="fps">{fps.toFixed(1)} frames/s</span>}
            </div>
            {live && <video ref={video} className="camera-video mirrored" autoPlay playsInline muted aria-label="Webcam preview (mirrored)" />}
          </div>
          <div aria-live="polite">{prediction ? <Bars prediction={prediction} colors={colors} threshold={threshold} /> : <p className="muted">No prediction yet.</p>}</div>
        </div>
      )}
      {error && (
        <p className="error-text" role="alert" data-testid="predict-error">
          {error}
        </p>
      )}
    </section>
  );
}
