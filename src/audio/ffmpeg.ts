/**
 * ffmpeg: the decoder for every audio format but WAV, and for the audio track of videos.
 * Binary search order: `useFfmpeg()` override → FFMPEG_PATH → npm `@ffmpeg-installer/ffmpeg`
 * (a static build shipped inside the npm package) → `ffmpeg` on PATH.
 */
import { execFile, spawn } from 'node:child_process';
import { promises as fsp, constants as fsc } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AudioInputError, type InputErrorCode } from '../util/errors';

export interface FfmpegInfo {
  path: string;
  source: 'override' | 'FFMPEG_PATH' | 'npm @ffmpeg-installer/ffmpeg' | 'PATH';
  version: string;
}

let override: string | null | undefined;
let cached: Promise<FfmpegInfo | null> | undefined;

/**
 * Pin the ffmpeg binary (a path), disable ffmpeg (null), or go back to searching (undefined).
 */
export function useFfmpeg(binary: string | null | undefined): void {
  override = binary;
  cached = undefined;
}

async function isExecutable(p: string): Promise<boolean> {
  try {
    await fsp.access(p, fsc.X_OK);
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

function versionOf(bin: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(bin, ['-hide_banner', '-version'], { timeout: 15_000 }, (err, stdout) => {
      if (err) return resolve(null);
      const first = stdout.split('\n')[0] ?? '';
      resolve(first.replace(/^ffmpeg version\s+/, '').split(' ')[0] ?? first);
    });
  });
}

async function search(): Promise<FfmpegInfo | null> {
  if (override === null) return null;
  const candidates: Array<{ path: string; source: FfmpegInfo['source'] }> = [];
  if (override !== undefined) candidates.push({ path: override, source: 'override' });
  else {
    const env = process.env.FFMPEG_PATH;
    if (env) candidates.push({ path: env, source: 'FFMPEG_PATH' });
    try {
      const mod = (await import('@ffmpeg-installer/ffmpeg')) as { path?: string; default?: { path?: string } };
      const p = mod.path ?? mod.default?.path;
      if (p) candidates.push({ path: p, source: 'npm @ffmpeg-installer/ffmpeg' });
    } catch {
      // package or its platform binary not installed: fall through to PATH
    }
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      if (dir) candidates.push({ path: path.join(dir, 'ffmpeg'), source: 'PATH' });
    }
  }
  for (const c of candidates) {
    if (!(await isExecutable(c.path))) continue;
    const version = await versionOf(c.path);
    if (version !== null) return { ...c, version };
  }
  return null;
}

/** The ffmpeg binary in use, or null when none is available. */
export function findFfmpeg(): Promise<FfmpegInfo | null> {
  cached ??= search();
  return cached;
}

/** The ffmpeg binary, or an AudioInputError('ffmpeg-missing') naming the file that needed it. */
export async function requireFfmpeg(file: string): Promise<FfmpegInfo> {
  const info = await findFfmpeg();
  if (!info) {
    throw new AudioInputError(
      file,
      'ffmpeg-missing',
      'needs ffmpeg to decode, and none was found (npm @ffmpeg-installer/ffmpeg, FFMPEG_PATH, or ffmpeg on PATH)',
    );
  }
  return info;
}

/** Map ffmpeg's error text to our error codes. */
export function classifyFfmpegError(stderr: string): { code: InputErrorCode; detail: string } {
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .slice(-3)
    .join(' | ');
  if (/No such file or directory/i.test(stderr)) return { code: 'not-found', detail: 'file not found' };
  if (/matches no streams|does not contain any stream|Output file #0 does not contain any stream/i.test(stderr)) {
    return { code: 'no-audio-stream', detail: 'has no audio stream' };
  }
  if (/Decoder \(codec [^)]*\) not found|Unknown decoder|unsupported codec|Could not find codec parameters|Unsupported codec/i.test(stderr)) {
    return { code: 'unsupported-codec', detail: `unsupported codec (ffmpeg: ${line})` };
  }
  if (/Invalid data found when processing input|moov atom not found|End of file|Invalid argument/i.test(stderr)) {
    return { code: 'decode-failed', detail: `not a readable audio/video file or corrupt (ffmpeg: ${line})` };
  }
  return { code: 'decode-failed', detail: `ffmpeg failed: ${line || 'no message'}` };
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Run ffmpeg with arguments; rejects with an AudioInputError about `file` when it exits non-zero. */
export async function runFfmpeg(args: readonly string[], file: string, options: { timeoutMs?: number } = {}): Promise<RunResult> {
  const ff = await requireFfmpeg(file);
  return new Promise((resolve, reject) => {
    const child = spawn(ff.path, ['-nostdin', '-hide_banner', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new AudioInputError(file, 'ffmpeg-missing', `cannot run ffmpeg (${ff.path}): ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) return resolve({ stdout: Buffer.concat(out), stderr });
      const { code: c, detail } = signal ? { code: 'decode-failed' as const, detail: `ffmpeg killed (${signal})` } : classifyFfmpegError(stderr);
      reject(new AudioInputError(file, c, detail));
    });
  });
}

export interface FfmpegDecodeOptions {
  startSeconds?: number;
  durationSeconds?: number;
}

/**
 * Decode the first audio stream of any file ffmpeg reads into a float32 WAV (native sample rate and
 * channels, so resampling and mixing stay ours) and return its bytes.
 */
export async function ffmpegToWavBytes(file: string, options: FfmpegDecodeOptions = {}): Promise<Uint8Array> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'soundtrack-ff-'));
  const out = path.join(dir, 'decoded.wav');
  try {
    const args: string[] = ['-loglevel', 'error'];
    if (options.startSeconds !== undefined && options.startSeconds > 0) args.push('-ss', String(options.startSeconds));
    if (options.durationSeconds !== undefined) args.push('-t', String(options.durationSeconds));
    args.push('-i', file, '-map', '0:a:0', '-vn', '-sn', '-dn', '-c:a', 'pcm_f32le', '-f', 'wav', '-y', out);
    await runFfmpeg(args, file);
    return await fsp.readFile(out);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
