/**
 * Typed errors for bad input. Every error names the file (or dataset folder) it is about and a
 * machine-readable `code`, so a CLI can print one clear line and a test can assert the cause.
 */

export type InputErrorCode =
  | 'not-found'
  | 'not-a-file'
  | 'not-riff-wave'
  | 'truncated'
  | 'empty'
  | 'too-long'
  | 'non-finite'
  | 'unsupported-codec'
  | 'unsupported-format'
  | 'no-audio-stream'
  | 'decode-failed'
  | 'ffmpeg-missing'
  | 'bad-dataset'
  | 'bad-argument';

export class InputError extends Error {
  readonly file: string;
  readonly code: InputErrorCode;
  constructor(file: string, code: InputErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${file}: ${detail}`, options);
    this.name = 'InputError';
    this.file = file;
    this.code = code;
  }
}

/** An audio file that cannot be read, decoded or used. */
export class AudioInputError extends InputError {
  constructor(file: string, code: InputErrorCode, detail: string, options?: { cause?: unknown }) {
    super(file, code, detail, options);
    this.name = 'AudioInputError';
  }
}

/** A dataset folder whose layout or contents cannot be used. */
export class DatasetError extends InputError {
  constructor(root: string, code: InputErrorCode, detail: string, options?: { cause?: unknown }) {
    super(root, code, detail, options);
    this.name = 'DatasetError';
  }
}

/** A compute backend that was asked for and cannot start, or cannot run what was asked. */
export class BackendError extends Error {
  readonly backend: string;
  constructor(backend: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendError';
    this.backend = backend;
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A command used wrongly (unknown flag, value out of range): exit 2 with the usage text. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
