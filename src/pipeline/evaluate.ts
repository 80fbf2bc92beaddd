/**
 * Evaluations that load what they judge: a codec checkpoint against a dataset (thesis Table 2 row 1,
 * Fig. 13/14) and the whole class → sound pipeline (Table 2 row 5). The measures themselves live in
 * `metrics/`; this file opens the checkpoints and datasets and hands them over.
 */
import type { SoundClassifier } from '../models/sound-classifier';
import { loadCheckpoint } from '../checkpoint/checkpoint';
import { loadCodec } from '../checkpoint/models';
import { evaluationClips } from '../data/batches';
import { loadExamples, splitDataset } from '../data/dataset';
import { openDataset } from '../data/open';
import { evaluateCodec, type CodecEvaluation } from '../metrics/codec';
import type { Embedder } from '../metrics/embedders';
import { Codec } from '../models/codec';

export interface CodecReport {
  checkpoint: string;
  kind: string;
  preset: string;
  step: number;
  data: string;
  split: 'val' | 'all';
  trained: CodecEvaluation;
  /** The same architecture with its initial (untrained) weights, for comparison. */
  untrained: CodecEvaluation | null;
}

/** Load a codec checkpoint and evaluate it on a dataset's validation (or all) recordings. */
export async function evaluateCodecCheckpoint(request: {
  codec: string;
  data: string;
  split?: 'val' | 'all';
  embedder?: Embedder;
  compareUntrained?: boolean;
  mode?: 'center' | 'segments';
  /** The 3-way sound classifier for "class kept" (none: not measured). */
  judge?: SoundClassifier | null;
}): Promise<CodecReport> {
  const { codec, dir, step, config } = await loadCodec(request.codec);
  try {
    const ck = await loadCheckpoint<typeof config>(dir, 'codec');
    const ds = await openDataset(request.data);
    const split = request.split ?? 'val';
    let items = ds.items;
    if (split === 'val') {
      const val = ck.meta.data && ck.meta.data.layout === ds.layout ? new Set(ck.meta.data.val) : new Set(splitDataset(ds).val.map((i) => i.id));
      items = ds.items.filter((i) => val.has(i.id));
    }
    const examples = await loadExamples(items);
    const clips: Float32Array[] = [];
    const labels: number[] = [];
    for (const ex of examples) {
      for (const c of evaluationClips(ex.audio, { length: config.clipSamples, mode: request.mode ?? 'center' })) {
        clips.push(c);
        labels.push(ex.label);
      }
    }
    if (clips.length < 2) throw new Error(`${request.data}: only ${clips.length} ${split} clip(s); FAD needs at least 2`);
    const opts = { ...(request.embedder ? { embedder: request.embedder } : {}), judge: request.judge ?? null };
    const trained = await evaluateCodec(codec, clips, labels, opts);
    let untrained: CodecEvaluation | null = null;
    if (request.compareUntrained) {
      const fresh = new Codec(config);
      try {
        untrained = await evaluateCodec(fresh, clips, labels, opts);
      } finally {
        fresh.dispose();
      }
    }
    return { checkpoint: dir, kind: config.kind, preset: config.preset, step, data: request.data, split, trained, untrained };
  } finally {
    codec.dispose();
  }
}
