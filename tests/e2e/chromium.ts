// Debian's Chromium and the flags every browser test launches it with (Playwright's own browser
// download does not work here). Root needs --no-sandbox; the rest keep Chromium off the network.
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
];

/**
 * Launch options with a fake webcam: Chromium's synthetic test pattern, or the frames of `video`
 * (a .y4m/.mjpeg file, see fake-webcam.ts). Permission prompts are auto-accepted.
 */
export function fakeCameraLaunch(video?: string): { executablePath: string; args: string[] } {
  const args = [...CHROMIUM_ARGS, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'];
  if (video) args.push(`--use-file-for-fake-video-capture=${video}`);
  return { executablePath: CHROMIUM_PATH, args };
}
