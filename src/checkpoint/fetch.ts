/**
 * Read a checkpoint over HTTP (the browser page; any runtime with fetch): latest.json of a run folder
 * → checkpoint.json + model.json + the weight files of the step folder it names, checked and decoded
 * by the same code as the Node reader (src/checkpoint/format.ts). Weights only: optimizer
 * moments are never fetched.
 */
import type * as tf from '@tensorflow/tfjs';
import { CheckpointError, checkMeta, decodeCheckpointWeights, manifestGroup, type CheckpointMeta, type LatestPointer } from './format';

export type FetchLike = (url: string) => Promise<Response>;

export interface FetchedCheckpoint<Config> {
  /** URL of the step folder (ends with '/'). */
  url: string;
  meta: CheckpointMeta<Config>;
  weights: tf.NamedTensorMap;
  /** Bytes of the weight files. */
  weightBytes: number;
}

const slash = (u: string) => (u.endsWith('/') ? u : `${u}/`);

async function get(url: string, fetchFn: FetchLike, what: string): Promise<Response> {
  let r: Response;
  try {
    r = await fetchFn(url);
  } catch (e) {
    throw new CheckpointError(url, `cannot fetch the ${what} (${(e as Error).message})`, { cause: e });
  }
  if (!r.ok) throw new CheckpointError(url, `cannot fetch the ${what} (HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ''})`);
  return r;
}

async function getJson(url: string, fetchFn: FetchLike, what: string): Promise<unknown> {
  const r = await get(url, fetchFn, what);
  try {
    return (await r.json()) as unknown;
  } catch (e) {
    throw new CheckpointError(url, `the ${what} is not JSON (${(e as Error).message})`, { cause: e });
  }
}

/**
 * Fetch a checkpoint from a run folder URL (with latest.json). `kind` must match when given.
 */
export async function fetchCheckpoint<Config>(runUrl: string, kind?: string, o: { fetch?: FetchLike } = {}): Promise<FetchedCheckpoint<Config>> {
  const fetchFn: FetchLike = o.fetch ?? ((u) => globalThis.fetch(u));
  const run = slash(runUrl);
  const latest = (await getJson(`${run}latest.json`, fetchFn, 'checkpoint pointer (latest.json)')) as Partial<LatestPointer> | null;
  if (!latest || typeof latest.dir !== 'string' || !/^[\w.-]+$/.test(latest.dir)) throw new CheckpointError(`${run}latest.json`, 'names no checkpoint folder');
  const url = `${run}${latest.dir}/`;
  const meta = checkMeta<Config>(await getJson(`${url}checkpoint.json`, fetchFn, 'checkpoint metadata'), `${url}checkpoint.json`, kind);
  const group = manifestGroup(await getJson(`${url}model.json`, fetchFn, 'weights manifest'), `${url}model.json`);
  const parts: ArrayBuffer[] = [];
  for (const p of group.paths) parts.push(await (await get(`${url}${p}`, fetchFn, 'weights file')).arrayBuffer());
  const total = parts.reduce((a, b) => a + b.byteLength, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const b of parts) {
    data.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return { url, meta, weights: decodeCheckpointWeights(group.weights, data.buffer, `${url}${group.paths.join('+')}`), weightBytes: total };
}
