/**
 * The sampling flags of `sample`, `generate`, `eval:prior` and `eval:generation` (not a command):
 * their parseArgs options, usage text and parsing, with the defaults of DEFAULT_SAMPLING.
 */
import { DEFAULT_SAMPLING, type SamplingOptions } from '../sample/strategy';
import { numberAtLeast } from '../util/cli';

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
