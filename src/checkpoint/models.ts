/** Rebuild trained models from checkpoints (models themselves do no file I/O). */
import { Codec } from '../models/codec';
import { CODEC_KINDS, type CodecConfig } from '../models/presets';
import { Prior, type PriorConfig } from '../models/prior';
import { CheckpointError, loadCheckpoint, restoreParams } from './checkpoint';

/** Load a codec from a run folder or a checkpoint folder. */
export async function loadCodec(where: string): Promise<{ codec: Codec; dir: string; step: number; config: CodecConfig }> {
  const ck = await loadCheckpoint<CodecConfig>(where, 'codec');
  const cfg = ck.meta.model;
  if (cfg?.format !== 'soundtrack-lab/codec' || !CODEC_KINDS.includes(cfg.kind)) {
    throw new CheckpointError(ck.dir, `holds no codec config this version understands (kind ${JSON.stringify(cfg?.kind)})`);
  }
  const codec = new Codec(cfg);
  try {
    restoreParams(codec.params, ck.weights, ck.dir);
  } catch (e) {
    codec.dispose();
    throw e;
  }
  return { codec, dir: ck.dir, step: ck.meta.step, config: cfg };
}

/** Load a Top or Bottom prior from a run folder or a checkpoint folder. */
export async function loadPrior(where: string, level?: 'top' | 'bottom'): Promise<{ prior: Prior; dir: string; step: number; config: PriorConfig }> {
  const ck = await loadCheckpoint<PriorConfig>(where, 'prior');
  const cfg = ck.meta.model;
  if (cfg?.format !== 'soundtrack-lab/prior') throw new CheckpointError(ck.dir, 'holds no prior config this version understands');
  if (level && cfg.level !== level) throw new CheckpointError(ck.dir, `is a ${cfg.level} prior, not a ${level} prior`);
  const prior = new Prior(cfg);
  try {
    restoreParams(prior.params, ck.weights, ck.dir);
  } catch (e) {
    prior.dispose();
    throw e;
  }
  return { prior, dir: ck.dir, step: ck.meta.step, config: cfg };
}
