// Webcam access: list cameras, open a stream, grab a frame as a JPEG blob.
import { GlimpseError } from '../shared/errors';

export async function listCameras(): Promise<MediaDeviceInfo[]> {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const all = await navigator.mediaDevices.enumerateDevices();
  return all.filter((d) => d.kind === 'videoinput');
}

export async function openCamera(deviceId?: string): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new GlimpseError('invalid-input', 'This browser offers no camera access (a secure https:// or localhost page is needed).');
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      video: deviceId ? { deviceId: { exact: deviceId }, width: { ideal: 640 }, height: { ideal: 480 } } : { width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false,
    });
  } catch (err) {
    const name = err instanceof DOMException ? err.name : '';
    const why =
      name === 'NotAllowedError'
        ? 'camera permission was denied — allow it in the address bar and try again'
        : name === 'NotFoundError'
          ? 'no camera was found'
          : name === 'NotReadableError'
            ? 'the camera is in use by another program'
            : String(err);
    throw new GlimpseError('invalid-input', `The camera could not be opened: ${why}.`);
  }
}

export function stopCamera(stream: MediaStream | null): void {
  stream?.getTracks().forEach((t) => t.stop());
}

/** The current video frame drawn on a fresh canvas (synchronous, so frames keep a steady rate). */
export function snapshotFrame(video: HTMLVideoElement): HTMLCanvasElement {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h) throw new GlimpseError('invalid-input', 'The camera has not delivered a frame yet.');
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new GlimpseError('internal', 'No 2D canvas available.');
  ctx.drawImage(video, 0, 0, w, h);
  return canvas;
}

/** A snapshot as a JPEG file. */
export async function encodeFrame(canvas: HTMLCanvasElement, name = 'webcam.jpg'): Promise<File> {
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
  if (!blob) throw new GlimpseError('internal', 'Could not capture the frame.');
  return new File([blob], name, { type: 'image/jpeg' });
}

/** The current video frame as a JPEG file (unmirrored: the model sees what the camera sees). */
export async function grabFrame(video: HTMLVideoElement, name = 'webcam.jpg'): Promise<File> {
  return encodeFrame(snapshotFrame(video), name);
}
