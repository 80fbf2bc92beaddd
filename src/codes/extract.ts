/**
 * Code extraction (rosinality's extract_code.py): every recording of a dataset is cut into
 * deterministic 7.2-s clips, encoded by a trained codec, and its top and bottom code indices are
 * stored with the clip's label and split — the training data of the Top and Bottom priors.
 */
import * as path from 'node:path';
import { evaluationClips } from '../data/batches';
import { loadExample, splitDataset, type AudioItem } from '../data/dataset';
import { openDataset } from '../data/open';
import { loadCheckpoint } from '../checkpoint/checkpoint';
import { loadCodec } from '../checkpoint/models';
import { requireClasses } from '../data/require-classes';
import type { CodecConfig } from '../models/presets';
import { writeCodes, type ClipCodesInfo, type CodesMeta } from './store';

export interface ExtractOptions {
  codec: string;
  data: string;
  out: string;
  batchSize?: number;
  /** Clips per recording: consecutive segments (default) or the centre clip only. */
  mode?: 'segments' | 'center';
  onProgress?: (done: number, total: number) => void;
}

export interface ExtractResult {
  out: string;
  clips: number;
  recordings: number;
  lengths: CodesMeta['lengths'];
  usage: { top: number | null; bottom: number };
}

export async function extractCodes(request: ExtractOptions): Promise<ExtractResult> {
  const { codec, dir, step, config } = await loadCodec(request.codec);
  try {
    const ck = await loadCheckpoint<CodecConfig>(dir, 'codec');
    const ds = await openDataset(request.data);
    requireClasses(ds, ['cat', 'dog']);
    // Same split as the codec when it was trained on this dataset; else a seeded split.
    const codecSplit = ck.meta.data && ck.meta.data.layout === ds.layout ? new Set(ck.meta.data.val) : null;
    const valIds = codecSplit ?? new Set(splitDataset(ds).val.map((i) => i.id));
    const infos: ClipCodesInfo[] = [];
    const top: Int32Array[] = [];
    const bottom: Int32Array[] = [];
    const pending: Array<{ clip: Float32Array; info: ClipCodesInfo }> = [];
    const batch = request.batchSize ?? 8;
    const flush = () => {
      if (pending.length === 0) return;
      const codes = codec.encode(
        pending.map((p) => p.clip),
        batch,
      );
      bottom.push(...codes.bottom);
      if (codes.top) top.push(...codes.top);
      infos.push(...pending.map((p) => p.info));
      pending.length = 0;
    };
    let done = 0;
    for (const item of ds.items as AudioItem[]) {
      const ex = await loadExample(item);
      const clips = evaluationClips(ex.audio, { length: config.clipSamples, mode: request.mode ?? 'segments' });
      clips.forEach((clip, segment) =>
        pending.push({
          clip,
          info: { id: item.id, label: item.label, className: item.className, split: valIds.has(item.id) ? 'val' : 'train', segment, source: ex.source },
        }),
      );
      if (pending.length >= batch) flush();
      request.onProgress?.(++done, ds.items.length);
    }
    flush();
    const lengths = codec.codeLengths;
    const meta: CodesMeta = {
      format: 'soundtrack-lab/codes',
      version: 1,
      codec: { checkpoint: path.resolve(dir), kind: config.kind, preset: config.preset, step, codebookSize: config.vqvae.codebook.size },
      dataset: { spec: request.data, layout: ds.layout, classes: ds.classes },
      lengths,
      clips: infos,
    };
    await writeCodes(request.out, { meta, top: codec.model.top ? top : null, bottom });
    const usage = codec.usage({ top: codec.model.top ? top : null, bottom });
    return {
      out: request.out,
      clips: infos.length,
      recordings: ds.items.length,
      lengths,
      usage: { top: usage.top?.usage ?? null, bottom: usage.bottom.usage },
    };
  } finally {
    codec.dispose();
  }
}
