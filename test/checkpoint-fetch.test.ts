import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index';
import type { melFlowPreset } from '../src/models/mel-flow';
import { loadMelFlow } from '../src/pipeline/generators';
import { saveTinyMelFlow } from './helpers';
import { restoreMelFlow } from '../src/pipeline/restore';
import { CheckpointError } from '../src/checkpoint/format';
import { fetchCheckpoint, type FetchLike } from '../src/checkpoint/fetch';

/** fetch over a folder: what a static server does. */
const folderFetch =
  (root: string): FetchLike =>
  async (url) => {
    try {
      return new Response(await fsp.readFile(path.join(root, new URL(url).pathname)));
    } catch {
      return new Response('not found', { status: 404, statusText: 'Not Found' });
    }
  };

describe('checkpoints over HTTP (the browser loader)', () => {
  it('fetchCheckpoint + restoreMelFlow give the weights loadMelFlow reads from disk; missing and truncated files are CheckpointErrors', async () => {
    await initBackend({ backend: 'cpu' });
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'ck-fetch-'));
    await saveTinyMelFlow(path.join(root, 'gen'), 3, 'cpu');
    const fromDisk = await loadMelFlow(path.join(root, 'gen'));
    const ck = await fetchCheckpoint<ReturnType<typeof melFlowPreset>>('http://host/gen', 'mel-flow', { fetch: folderFetch(root) });
    expect(ck.url).toBe('http://host/gen/step-0000001/');
    const fromHttp = restoreMelFlow(ck.meta, ck.weights, ck.url);
    for (const info of fromDisk.model.params.info()) {
      expect(Array.from(fromHttp.params.get(info.name).dataSync())).toEqual(Array.from(fromDisk.model.params.get(info.name).dataSync()));
    }
    fromHttp.dispose();
    fromDisk.model.dispose();
    await expect(fetchCheckpoint('http://host/nope', 'mel-flow', { fetch: folderFetch(root) })).rejects.toThrow(/latest\.json: cannot fetch .*HTTP 404/);
    await expect(fetchCheckpoint('http://host/gen', 'classifier-head', { fetch: folderFetch(root) })).rejects.toThrow(CheckpointError);
    const bin = path.join(root, 'gen', 'step-0000001', 'weights.bin');
    await fsp.truncate(bin, 100);
    await expect(fetchCheckpoint('http://host/gen', 'mel-flow', { fetch: folderFetch(root) })).rejects.toThrow(/weights data is 100 bytes/);
  });
});
