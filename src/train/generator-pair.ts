/**
 * Train the default generator — its two experts — in one resumable call: the library function behind
 * `npm run train:generator -- --pair`.
 *
 * The recipe is plain data. The shipped one (checkpoints/README.md): the early expert (`quick`,
 * velocity) trains 3,000 steps on its cosine schedule and 3,000 more at its floor rate; the late
 * expert (`quick-data`, clean patch) trains 5,000 steps. Each expert is an ordinary mel-flow run
 * folder (OUT/early, OUT/late), so `generate --model OUT/early --late-model OUT/late` uses them, and
 * calling this again after an interruption continues exactly where it stopped: a stage's schedule
 * is fixed by its first start (saved in its checkpoint), later calls only resume it to its steps.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { findCheckpoint, loadCheckpoint } from '../checkpoint/checkpoint';
import type { MelFlowConfig } from '../models/mel-flow';
import type { RunOptions } from './loop';
import { trainMelFlow, type TrainMelFlowResult } from './mel-flow';
import { cleanUpFailedStart } from './run-folder';

/** One expert: its preset, the steps its learning-rate schedule spans, and the steps it trains in all. */
export interface ExpertStage {
  preset: string;
  scheduleSteps: number;
  steps: number;
}

export interface PairRecipe {
  early: ExpertStage;
  late: ExpertStage;
}

/** The recipe of the shipped default generator (checkpoints/generator + checkpoints/generator-late). */
export const DEFAULT_PAIR_RECIPE: PairRecipe = {
  early: { preset: 'quick', scheduleSteps: 3000, steps: 6000 },
  late: { preset: 'quick-data', scheduleSteps: 5000, steps: 5000 },
};

export interface TrainPairOptions extends RunOptions {
  /** 'embedded' or a dataset folder. */
  data: string;
  /** The pair's folder: the experts go to OUT/early and OUT/late. */
  out: string;
  recipe?: PairRecipe;
  seed?: number;
}

export interface StageResult {
  stage: 'early' | 'late';
  dir: string;
  /** The step the expert's run folder is at after this call. */
  step: number;
  /** Null when this call trained nothing for the stage (it was done, or an earlier stage stopped). */
  run: TrainMelFlowResult | null;
}

/** Where a run folder stands: null when it holds no checkpoint yet. */
async function stepOf(dir: string): Promise<number | null> {
  if ((await findCheckpoint(dir)) === null) return null;
  const ck = await loadCheckpoint<MelFlowConfig>(dir, 'mel-flow');
  // only the step is needed here (trainMelFlow loads the run itself): free the weights and moments read with it
  tf.dispose([...Object.values(ck.weights), ...(ck.optimizer ? [...ck.optimizer.m.values(), ...ck.optimizer.v.values()] : [])]);
  return ck.meta.step;
}

export async function trainGeneratorPair(o: TrainPairOptions): Promise<StageResult[]> {
  const recipe = o.recipe ?? DEFAULT_PAIR_RECIPE;
  for (const [name, s] of Object.entries(recipe) as [string, ExpertStage][])
    if (!(s.scheduleSteps >= 1 && s.steps >= s.scheduleSteps))
      throw new RangeError(`pair recipe: the ${name} expert's steps (${s.steps}) must be at least its schedule's ${s.scheduleSteps} ≥ 1`);
  const { data, out, recipe: _recipe, seed, ...run } = o;
  const results: StageResult[] = [];
  for (const stage of ['early', 'late'] as const) {
    const s = recipe[stage];
    const dir = path.join(out, stage);
    let at = await stepOf(dir);
    let last: TrainMelFlowResult | null = null;
    if (at === null) {
      // the first start fixes the schedule (scheduleSteps); it is saved in the checkpoint
      last = await cleanUpFailedStart(dir, () =>
        trainMelFlow({ ...run, preset: s.preset, data, out: dir, steps: s.scheduleSteps, ...(seed !== undefined ? { seed } : {}) }),
      );
      at = last.step;
    }
    if (at < s.steps && (last === null || last.step >= s.scheduleSteps)) {
      // continue at the schedule's floor rate (or finish an interrupted start): the same steps as one run
      last = await trainMelFlow({ ...run, preset: s.preset, data, out: dir, resume: true, steps: s.steps });
      at = last.step;
    }
    results.push({ stage, dir, step: at, run: last });
    if (at < s.steps) break; // stopped early (stopAfter): the next call continues this stage
  }
  return results;
}
