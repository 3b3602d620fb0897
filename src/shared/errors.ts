// Errors the user can read. Every failure that reaches the UI is a GlimpseError with a stable
// `code` (for tests and logic) and a `message` written for people.

export type ErrorCode =
  | 'empty-file'
  | 'not-an-image'
  | 'unsupported-format'
  | 'corrupt-image'
  | 'image-too-large'
  | 'model-fetch-failed'
  | 'model-invalid'
  | 'backend-unavailable'
  | 'worker-crashed'
  | 'cancelled'
  | 'gpu-context-lost'
  | 'quota-exceeded'
  | 'invalid-input'
  | 'internal';

export class GlimpseError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, detail?: string) {
    super(message);
    this.name = 'GlimpseError';
    this.code = code;
    this.detail = detail;
  }
}

export function isGlimpseError(err: unknown): err is GlimpseError {
  return err instanceof GlimpseError;
}

/** Plain object form that survives postMessage (Error subclasses lose their fields). */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  detail?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof GlimpseError) {
    return err.detail === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, detail: err.detail };
  }
  if (isSerializedError(err)) return err;
  if (err instanceof DOMException && err.name === 'AbortError') {
    return { code: 'cancelled', message: 'Cancelled.' };
  }
  const text = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message: `Something went wrong: ${text}` };
}

/** An error that already crossed a worker boundary as plain data. */
function isSerializedError(err: unknown): err is SerializedError {
  if (typeof err !== 'object' || err === null || err instanceof Error) return false;
  const e = err as Record<string, unknown>;
  return typeof e.code === 'string' && typeof e.message === 'string';
}

export function deserializeError(e: SerializedError): GlimpseError {
  return new GlimpseError(e.code, e.message, e.detail);
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new GlimpseError('internal', message);
}
