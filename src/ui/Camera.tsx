import { useEffect, useRef, useState } from 'react';
import { grabFrame, listCameras, openCamera, stopCamera } from '../capture/webcam';

interface Props {
  /** Called with a captured frame. */
  onFrame: (file: File) => void | Promise<void>;
  captureLabel?: string;
}

/** Mirrored preview with a camera picker; the captured frame itself is not mirrored. */
export function Camera({ onFrame, captureLabel = 'Capture' }: Props) {
  const video = useRef<HTMLVideoElement>(null);
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [cameras, setCameras] = useState<MediaDeviceInfo[]>([]);
  const [deviceId, setDeviceId] = useState<string>('');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => () => stopCamera(stream), [stream]);
  useEffect(() => {
    if (video.current && stream) video.current.srcObject = stream;
  }, [stream]);

  const start = async (id?: string) => {
    setError(null);
    try {
      stopCamera(stream);
      const s = await openCamera(id || undefined);
      setStream(s);
      setCameras(await listCameras());
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

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
            {cameras.length > 1 && (
              <label>
                Camera{' '}
                <select
                  value={deviceId}
                  onChange={(e) => {
                    setDeviceId(e.target.value);
                    void start(e.target.value);
                  }}
                >
                  {cameras.map((c, i) => (
                    <option key={c.deviceId} value={c.deviceId}>
                      {c.label || `Camera ${i + 1}`}
                    </option>
                  ))}
                </select>
              </label>
            )}
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
              onClick={() => {
                stopCamera(stream);
                setStream(null);
              }}
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
