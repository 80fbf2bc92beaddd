/**
 * Settings of a study run, read from the environment so that `npm run study` (which starts one
 * kernel per notebook) and a notebook opened by hand in Jupyter see the same ones.
 *   SOUNDTRACK_STUDY_DATA    audio data set for the codecs and priors (default: embedded)
 *   SOUNDTRACK_STUDY_IMAGES  photos (cat/ and dog/, or train/ and val/) for the classifier (default: data/images)
 *   SOUNDTRACK_STUDY_PRESET  quick (default) or thesis
 *   SOUNDTRACK_STUDY_SMALL   1: the smallest settings (tests)
 *   SOUNDTRACK_STUDY_OUT     where figures, results and runs go (default: figures/)
 */
import * as path from 'node:path';
import type { PresetName } from '../models/presets';
import { THESIS } from '../models/thesis';
import { projectRoot } from '../util/project';

export interface StudyConfig {
  data: string;
  images: string;
  preset: PresetName;
  small: boolean;
  out: string;
  /** Training steps of the study's own codec runs. */
  codecSteps: { raw: number; spec: number };
  /** Clips generated per class when measuring generation. */
  generatePerClass: number;
}

export function studyConfig(): StudyConfig {
  const root = projectRoot();
  const small = process.env.SOUNDTRACK_STUDY_SMALL === '1';
  const preset = (process.env.SOUNDTRACK_STUDY_PRESET ?? 'quick') as PresetName;
  return {
    data: process.env.SOUNDTRACK_STUDY_DATA ?? 'embedded',
    images: process.env.SOUNDTRACK_STUDY_IMAGES ?? path.join(root, 'data', 'images'),
    preset,
    small,
    out: path.resolve(process.env.SOUNDTRACK_STUDY_OUT ?? path.join(root, 'figures')),
    codecSteps: small ? { raw: 3, spec: 3 } : preset === 'thesis' ? { raw: THESIS.steps.codec, spec: THESIS.steps.codec } : { raw: 150, spec: 300 },
    generatePerClass: small ? 2 : 6,
  };
}

/** The folder for machine-readable results (one JSON per study step). */
export function resultsDir(cfg: StudyConfig): string {
  return path.join(cfg.out, 'results');
}

/** The folder for the study's own training runs. */
export function runsDir(cfg: StudyConfig): string {
  return path.join(cfg.out, 'runs');
}
