// The webcam plumbing both camera views share: the stream (stopped on unmount and on switch),
// the list of cameras, the chosen device, and the picker shown when there is more than one.
import { useEffect, useRef, useState } from 'react';
import { listCameras, openCamera, stopCamera } from '../capture/webcam';

export function useCamera() {
  const video = useRef<HTMLVideoElement>(null);
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [cameras, setCameras] = useState<MediaDeviceInfo[]>([]);
  const [deviceId, setDeviceId] = useState('');
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
  const stop = () => {
    stopCamera(stream);
    setStream(null);
  };
  const choose = (id: string) => {
    setDeviceId(id);
    void start(id);
  };
  return { video, stream, cameras, deviceId, error, setError, start, stop, choose };
}

/** The camera picker; nothing when there is only one camera. */
export function CameraPicker({ cameras, deviceId, onChoose }: { cameras: MediaDeviceInfo[]; deviceId: string; onChoose: (id: string) => void }) {
  if (cameras.length <= 1) return null;
  return (
    <label>
      Camera{' '}
      <select value={deviceId} onChange={(e) => onChoose(e.target.value)}>
        {cameras.map((c, i) => (
          <option key={c.deviceId} value={c.deviceId}>
            {c.label || `Camera ${i + 1}`}
          </option>
        ))}
      </select>
    </label>
  );
}
