/**
 * Checkpoints: weights in the tfjs weights-manifest format (model.json + weights.bin), optimizer
 * moments (optimizer.bin), and everything needed to resume exactly (step, RNG and sampler state,
 * config, data split) in checkpoint.json. A checkpoint is written to a temp folder, then renamed
 * into place, then `latest.json` is replaced atomically: a crash at any moment leaves the previous
 * checkpoint intact and `latest.json` pointing at a complete one.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { Params } from '../models/nn';
import { writeFileAtomic } from '../util/fs';
import type { AdamConfig, AdamState } from '../optim/adam';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  checkMeta,
  decodeCheckpointWeights,
  manifestGroup,
  type CheckpointMeta,
  type WeightsManifest,
} from './format';
import { assertFiniteWeights } from './finite-weights';
import { removeOrphanTemps } from './orphans';

export { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, restoreParams } from './format';
export type { CheckpointMeta, LatestPointer, WeightsManifest } from './format';

export interface SaveInput<Config> {
  meta: Omit<CheckpointMeta<Config>, 'format' | 'version' | 'createdAt' | 'optimizer'>;
  params: Params;
  optimizer?: { config: AdamConfig; state: AdamState };
  /** Keep this many step folders (default 2); older ones are removed. */
  keep?: number;
}

const stepDir = (step: number) => `step-${String(step).padStart(7, '0')}`;

async function writeWeights(dir: string, base: string, tensors: tf.NamedTensorMap): Promise<tf.io.WeightsManifestEntry[]> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await fsp.writeFile(path.join(dir, `${base}.bin`), new Uint8Array(data));
  return specs;
}

/** Write a checkpoint under `runDir` and point latest.json at it. Returns the checkpoint folder. */
export async function saveCheckpoint<Config>(runDir: string, input: SaveInput<Config>): Promise<string> {
  await fsp.mkdir(runDir, { recursive: true });
  await removeOrphanTemps(runDir); // left by a run killed mid-write
  const name = stepDir(input.meta.step);
  const tmp = path.join(runDir, `.${name}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`);
  await fsp.mkdir(tmp);
  try {
    const weights: tf.NamedTensorMap = {};
    for (const info of input.params.info()) weights[info.name] = input.params.get(info.name);
    const specs = await writeWeights(tmp, 'weights', weights);
    const manifest: WeightsManifest = { format: 'soundtrack-lab/weights', weightsManifest: [{ paths: ['weights.bin'], weights: specs }] };
    await fsp.writeFile(path.join(tmp, 'model.json'), JSON.stringify(manifest));
    let optimizer: CheckpointMeta<Config>['optimizer'] = null;
    if (input.optimizer) {
      const moments: tf.NamedTensorMap = {};
      for (const [k, t] of input.optimizer.state.m) moments[`m/${k}`] = t;
      for (const [k, t] of input.optimizer.state.v) moments[`v/${k}`] = t;
      const ospecs = await writeWeights(tmp, 'optimizer', moments);
      await fsp.writeFile(
        path.join(tmp, 'optimizer.json'),
        JSON.stringify({ format: 'soundtrack-lab/weights', weightsManifest: [{ paths: ['optimizer.bin'], weights: ospecs }] }),
      );
      optimizer = { config: input.optimizer.config, step: input.optimizer.state.step };
    }
    const meta: CheckpointMeta<Config> = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      createdAt: new Date().toISOString(),
      ...input.meta,
      optimizer,
    };
    await fsp.writeFile(path.join(tmp, 'checkpoint.json'), `${JSON.stringify(meta, null, 1)}\n`);
    const final = path.join(runDir, name);
    await fsp.rm(final, { recursive: true, force: true });
    await fsp.rename(tmp, final);
    await writeFileAtomic(path.join(runDir, 'latest.json'), `${JSON.stringify({ format: 'soundtrack-lab/latest', step: input.meta.step, dir: name })}\n`);
    const keep = input.keep ?? 2;
    const all = (await fsp.readdir(runDir)).filter((n) => /^step-\d{7}$/.test(n)).sort();
    for (const old of all.slice(0, Math.max(0, all.length - keep))) if (old !== name) await fsp.rm(path.join(runDir, old), { recursive: true, force: true });
    return final;
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Which step folder of a run is intact (has checkpoint.json), said so the user can resume from it. */
async function intactStepHint(dir: string): Promise<string> {
  const steps = (await fsp.readdir(dir).catch(() => [] as string[]))
    .filter((n) => /^step-\d{7}$/.test(n))
    .sort()
    .reverse();
  for (const s of steps) {
    if (
      await fsp.access(path.join(dir, s, 'checkpoint.json')).then(
        () => true,
        () => false,
      )
    ) {
      const step = Number(s.slice(5));
      return `the newest intact checkpoint is ${path.join(dir, s)}; to resume from it, write ${JSON.stringify({ format: 'soundtrack-lab/latest', step, dir: s })} to latest.json`;
    }
  }
  return 'no intact step folder is left; start a new run';
}

/** Resolve a run folder (via latest.json) or a step folder to the step folder. Null when `dir` holds no checkpoint. */
export async function findCheckpoint(dir: string): Promise<string | null> {
  try {
    await fsp.access(path.join(dir, 'checkpoint.json'));
    return dir;
  } catch {
    // not a step folder
  }
  const latestFile = path.join(dir, 'latest.json');
  let text: string;
  try {
    text = await fsp.readFile(latestFile, 'utf8');
  } catch {
    return null; // no latest.json
  }
  let latest: { dir?: unknown } | null = null;
  try {
    latest = JSON.parse(text) as { dir?: unknown };
  } catch {
    // corrupt: said below
  }
  if (latest && typeof latest.dir === 'string' && /^step-\d{7}$/.test(latest.dir)) return path.join(dir, latest.dir);
  throw new CheckpointError(latestFile, `is corrupt (${text.length} bytes, not a pointer to a step folder); ${await intactStepHint(dir)}`);
}

async function readWeights(dir: string, manifestName: string): Promise<tf.NamedTensorMap> {
  const manifestFile = path.join(dir, manifestName);
  let manifest: unknown;
  try {
    manifest = JSON.parse(await fsp.readFile(manifestFile, 'utf8'));
  } catch (e) {
    throw new CheckpointError(manifestFile, `cannot read the weights manifest (${(e as Error).message})`, { cause: e });
  }
  const group = manifestGroup(manifest, manifestFile);
  const buffers: Buffer[] = [];
  for (const p of group.paths) {
    try {
      buffers.push(await fsp.readFile(path.join(dir, p)));
    } catch (e) {
      throw new CheckpointError(path.join(dir, p), 'weights file missing', { cause: e });
    }
  }
  const data = Buffer.concat(buffers);
  return decodeCheckpointWeights(group.weights, data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), path.join(dir, group.paths.join('+')));
}

export interface LoadedCheckpoint<Config> {
  dir: string;
  meta: CheckpointMeta<Config>;
  weights: tf.NamedTensorMap;
  /** Adam moments when the checkpoint has them. */
  optimizer: AdamState | null;
}

/** Read a checkpoint (run folder or step folder). `kind` must match when given. */
export async function loadCheckpoint<Config>(where: string, kind?: string): Promise<LoadedCheckpoint<Config>> {
  const dir = await findCheckpoint(where);
  if (!dir) throw new CheckpointError(where, 'no checkpoint here (no checkpoint.json or latest.json)');
  const metaFile = path.join(dir, 'checkpoint.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await fsp.readFile(metaFile, 'utf8'));
  } catch (e) {
    throw new CheckpointError(metaFile, `unreadable checkpoint metadata (${(e as Error).message})`, { cause: e });
  }
  const meta = checkMeta<Config>(raw, metaFile, kind);
  const weights = await readWeights(dir, 'model.json');
  try {
    assertFiniteWeights(weights, path.join(dir, 'weights.bin'));
  } catch (e) {
    tf.dispose(Object.values(weights));
    throw e;
  }
  let optimizer: AdamState | null = null;
  if (meta.optimizer) {
    const moments = await readWeights(dir, 'optimizer.json');
    const m = new Map<string, tf.Tensor>();
    const v = new Map<string, tf.Tensor>();
    for (const [k, t] of Object.entries(moments)) (k.startsWith('m/') ? m : v).set(k.slice(2), t);
    optimizer = { step: meta.optimizer.step, m, v };
  }
  return { dir, meta, weights, optimizer };
}

/**
 * Copy a checkpoint's weights and metadata (not the optimizer moments) to `dst` — what the project
 * ships: the same files `generate` loads, without the state only resuming needs.
 */
export async function exportCheckpoint(src: string, dst: string): Promise<string> {
  const ck = await loadCheckpoint(src);
  const params = new Params(0);
  for (const [name, t] of Object.entries(ck.weights)) {
    const v = params.create(name, t.shape, { kind: 'zeros' }, false);
    v.assign(t);
  }
  tf.dispose(Object.values(ck.weights));
  if (ck.optimizer) tf.dispose([...ck.optimizer.m.values(), ...ck.optimizer.v.values()]);
  await fsp.rm(dst, { recursive: true, force: true });
  const { format: _f, version: _v, createdAt: _c, optimizer: _o, ...meta } = ck.meta;
  try {
    return await saveCheckpoint(dst, { meta, params, keep: 1 });
  } finally {
    params.dispose();
  }
}
