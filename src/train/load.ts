/** Rebuild trained models from checkpoints (models themselves do no file I/O). */
import { Codec } from '../models/codec';
import { CODEC_KINDS, type CodecConfig } from '../models/presets';
import { CheckpointError, loadCheckpoint, restoreParams } from './checkpoint';

/** Load a codec from a run folder or a checkpoint folder. */
export async function loadCodec(where: string): Promise<{ codec: Codec; dir: string; step: number; config: CodecConfig }> {
  const ck = await loadCheckpoint<CodecConfig>(where, 'codec');
  const cfg = ck.meta.model;
  if (!cfg || cfg.format !== 'soundtrack-lab/codec' || !CODEC_KINDS.includes(cfg.kind)) {
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
