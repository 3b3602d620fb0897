import { grabFrame } from '../capture/webcam';
import { CameraPicker, useCamera } from './useCamera';

interface Props {
  /** Called with a captured frame. */
  onFrame: (file: File) => void | Promise<void>;
  captureLabel?: string;
}

/** Mirrored preview with a camera picker; the captured frame itself is not mirrored. */
export function Camera({ onFrame, captureLabel = 'Capture' }: Props) {
  const { video, stream, cameras, deviceId, error, setError, start, stop, choose } = useCamera();

  return (
    <div className="camera">
      {!stream ? (
        <button type="button" className="button" onClick={() => void start(deviceId)}>
          Start webcam
        </button>
      ) : (
        <>
          <video ref={video} className="camera-video mirrored" autoPlay playsInline muted aria-label="Webcam preview (mirrored)" />
          <div className="row">
            <CameraPicker cameras={cameras} deviceId={deviceId} onChoose={choose} />
            <button
              type="button"
              className="button primary"
              onClick={() => {
                if (video.current) void grabFrame(video.current).then(onFrame, (e: unknown) => setError(String(e)));
              }}
            >
              {captureLabel}
            </button>
            <button
              type="button"
              className="button"
              onClick={stop}
            >
              Stop webcam
            </button>
          </div>
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
