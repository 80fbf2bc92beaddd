/**
 * The sampling flags of `sample`, `generate`, `eval:prior` and `eval:generation` (not a command):
 * their parseArgs options, usage text and parsing, with the defaults of DEFAULT_SAMPLING.
 */
import { DEFAULT_SWITCH_AT } from '../pipeline/generators';
import { CLIP_LAYOUTS, PATCH_SMOOTHING, type ClipLayout, type PatchSmoothing } from '../pipeline/mel-sound';
import { DEFAULT_SAMPLING, type SamplingOptions } from '../sample/strategy';
import { numberAtLeast } from '../util/cli';
import { choiceFlag, numberFlag } from '../util/flags';

const d = DEFAULT_SAMPLING;

export const SAMPLING_FLAGS = {
  'top-k': { type: 'string', default: String(d.topK) },
  'top-p': { type: 'string', default: String(d.topP) },
  temperature: { type: 'string', default: String(d.temperature) },
  guidance: { type: 'string', default: String(d.guidance) },
} as const;

export const SAMPLING_USAGE = `[--top-k ${d.topK}] [--top-p ${d.topP}] [--temperature ${d.temperature}] [--guidance ${d.guidance}]`;

type SamplingValues = { [K in keyof typeof SAMPLING_FLAGS]?: string | boolean | undefined };

/** The sampling options from parsed flags (each a number ≥ 0, else a UsageError). */
export function samplingFromFlags(values: SamplingValues): Required<Omit<SamplingOptions, 'seed'>> {
  return {
    topK: numberAtLeast('top-k', String(values['top-k']), 0),
    topP: numberAtLeast('top-p', String(values['top-p']), 0),
    temperature: numberAtLeast('temperature', String(values.temperature), 0),
    guidance: numberAtLeast('guidance', String(values.guidance), 0),
  };
}

/** The default generator's (mel-flow's) flags of `sample`, `generate` and `eval:generation`. */
export const MEL_FLOW_FLAGS = {
  model: { type: 'string' },
  'late-model': { type: 'string' },
  'switch-at': { type: 'string' },
  steps: { type: 'string' },
  layout: { type: 'string' },
  smooth: { type: 'string' },
} as const;

export const MEL_FLOW_USAGE = `[--model DIR] [--late-model DIR|none] [--switch-at ${DEFAULT_SWITCH_AT}] [--steps 10] [--layout data|full] [--smooth median|none]`;

type MelFlowValues = { [K in keyof typeof MEL_FLOW_FLAGS]?: string | boolean | undefined };

/** The mel-flow options from parsed flags (absent flags left out; a bad value is a UsageError naming the flag). */
export function melFlowFromFlags(values: MelFlowValues): {
  sampling: { steps?: number; layout?: ClipLayout; smooth?: PatchSmoothing; switchAt?: number };
  paths: { generator?: string; late?: string };
} {
  const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
  const steps = numberFlag('steps', str(values.steps), { integer: true, min: 1, max: 200 });
  const switchAt = numberFlag('switch-at', str(values['switch-at']), { min: 0, max: 1 });
  const layout = choiceFlag('layout', str(values.layout), CLIP_LAYOUTS);
  const smooth = choiceFlag('smooth', str(values.smooth), PATCH_SMOOTHING);
  const model = str(values.model);
  const late = str(values['late-model']);
  return {
    sampling: {
      ...(steps !== undefined ? { steps } : {}),
      ...(switchAt !== undefined ? { switchAt } : {}),
      ...(layout !== undefined ? { layout } : {}),
      ...(smooth !== undefined ? { smooth } : {}),
    },
    paths: { ...(model !== undefined ? { generator: model } : {}), ...(late !== undefined ? { late } : {}) },
  };
}
