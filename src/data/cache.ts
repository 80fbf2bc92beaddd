/**
 * On-disk cache of decoded clips (mono float32 at 4 kHz), so an epoch never re-runs ffmpeg or the
 * resampler. One raw little-endian float32 file per item, named by a hash of what determines its
 * content: the file's path, size and mtime, the segment asked for, the sample rate and the decoding
 * pipeline's version. Files are written atomically; a stale or corrupt entry is decoded again.
 *
 * Location: SOUNDTRACK_CACHE_DIR, else $XDG_CACHE_HOME/soundtrack-lab/audio, else ~/.cache/soundtrack-lab/audio.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, type Stats } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SAMPLE_RATE } from '../audio/constants';
import { readAudio } from '../audio/decode';
import { AudioInputError } from '../util/errors';
import { writeFileAtomic } from '../util/fs';
import type { AudioItem } from './dataset';

/** Bump when decoding/resampling changes, so old cache entries are not reused. */
export const PIPELINE_VERSION = 1;

export function defaultCacheDir(): string {
  if (process.env.SOUNDTRACK_CACHE_DIR) return path.resolve(process.env.SOUNDTRACK_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'soundtrack-lab', 'audio');
}

export interface CacheStats {
  hits: number;
  misses: number;
}

export class AudioCache {
  readonly dir: string;
  readonly stats: CacheStats = { hits: 0, misses: 0 };
  private readonly memory = new Map<string, Float32Array>();
  private memoryBytes = 0;
  private readonly memoryLimit: number;

  constructor(dir: string = defaultCacheDir(), options: { memoryLimitBytes?: number } = {}) {
    this.dir = dir;
    this.memoryLimit = options.memoryLimitBytes ?? 512 * 1024 * 1024;
  }

  /** Decode an item without any cache. */
  static async decode(item: AudioItem): Promise<Float32Array> {
    const opts: { sampleRate: number; startSeconds?: number; durationSeconds?: number } = { sampleRate: SAMPLE_RATE };
    if (item.startSeconds !== undefined) opts.startSeconds = item.startSeconds;
    if (item.durationSeconds !== undefined) opts.durationSeconds = item.durationSeconds;
    return (await readAudio(item.path, opts)).audio;
  }

  async key(item: AudioItem): Promise<string> {
    let st: Stats;
    try {
      st = await fsp.stat(item.path);
    } catch (e) {
      throw new AudioInputError(item.path, 'not-found', 'file not found', { cause: e });
    }
    const h = createHash('sha256');
    h.update(
      JSON.stringify([PIPELINE_VERSION, SAMPLE_RATE, path.resolve(item.path), st.size, st.mtimeMs, item.startSeconds ?? 0, item.durationSeconds ?? null]),
    );
    return h.digest('hex').slice(0, 32);
  }

  async load(item: AudioItem): Promise<Float32Array> {
    const key = await this.key(item);
    const mem = this.memory.get(key);
    if (mem) {
      this.stats.hits++;
      return mem;
    }
    const file = path.join(this.dir, `${key}.f32`);
    let audio: Float32Array | undefined;
    try {
      const buf = await fsp.readFile(file);
      if (buf.length > 0 && buf.length % 4 === 0) {
        audio = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
        this.stats.hits++;
      }
    } catch {
      // not cached yet
    }
    if (!audio) {
      this.stats.misses++;
      audio = await AudioCache.decode(item);
      await writeFileAtomic(file, new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength));
    }
    this.remember(key, audio);
    return audio;
  }

  private remember(key: string, audio: Float32Array): void {
    if (audio.byteLength > this.memoryLimit) return;
    while (this.memoryBytes + audio.byteLength > this.memoryLimit && this.memory.size > 0) {
      const oldest = this.memory.keys().next().value as string;
      this.memoryBytes -= (this.memory.get(oldest) as Float32Array).byteLength;
      this.memory.delete(oldest);
    }
    this.memory.set(key, audio);
    this.memoryBytes += audio.byteLength;
  }

  /** Remove every cached file. */
  async clear(): Promise<void> {
    this.memory.clear();
    this.memoryBytes = 0;
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}

let shared: AudioCache | undefined;

/** The process-wide cache in {@link defaultCacheDir}. */
export function defaultCache(): AudioCache {
  if (!shared || shared.dir !== defaultCacheDir()) shared = new AudioCache();
  return shared;
}
