/**
 * One place that parses and range-checks the commands' numeric and choice flags. Every value comes
 * from the command line as text; `Number()` alone turns '' into 0, ' 7 ' into 7, '0x10' into 16 and
 * 'abc' into NaN that later becomes a default, so a flag is read with a strict decimal pattern, then
 * checked against its range. A bad value is a UsageError (exit 2) that names the flag, the value and
 * the range: `--top-p must be a number in (0, 1], got '2'`.
 */
import { UsageError } from './errors';

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

export interface NumberRange {
  /** Integers only. */
  integer?: boolean;
  min?: number;
  max?: number;
  /** The bounds themselves are not allowed. */
  minExclusive?: boolean;
  maxExclusive?: boolean;
}

function describe(r: NumberRange): string {
  const kind = r.integer ? 'an integer' : 'a number';
  if (r.min !== undefined && r.max !== undefined) return `${kind} in ${r.minExclusive ? '(' : '['}${r.min}, ${r.max}${r.maxExclusive ? ')' : ']'}`;
  if (r.min !== undefined) return `${kind} ${r.minExclusive ? '>' : '≥'} ${r.min}`;
  if (r.max !== undefined) return `${kind} ${r.maxExclusive ? '<' : '≤'} ${r.max}`;
  return kind;
}

/** Parse `--name value` as a number in `range`; undefined when absent (and no default). */
export function numberFlag(name: string, value: string | undefined, range: NumberRange = {}): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const x = DECIMAL.test(text) ? Number(text) : Number.NaN;
  const ok =
    Number.isFinite(x) &&
    (!range.integer || Number.isInteger(x)) &&
    (range.min === undefined || (range.minExclusive ? x > range.min : x >= range.min)) &&
    (range.max === undefined || (range.maxExclusive ? x < range.max : x <= range.max));
  if (!ok) throw new UsageError(`--${name} must be ${describe(range)}, got '${value}'`);
  return x;
}

/** Like numberFlag for a flag that has a default: always a number. */
export function requiredNumber(name: string, value: string | undefined, fallback: number, range: NumberRange = {}): number {
  return numberFlag(name, value, range) ?? fallback;
}

/** One of `choices` (or undefined when absent). */
export function choiceFlag<T extends string>(name: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

/**
 * Ranges of the flags the commands share. Seeds are integers (so `--seed 07` and `--seed 7` are the
 * same run); sampling follows src/sample/strategy.ts: top-k 0 = no limit, temperature 0 = greedy.
 */
export const FLAG_RANGES = {
  seed: { integer: true, min: 0, max: 2 ** 32 - 1 },
  'top-k': { integer: true, min: 0, max: 65536 },
  'top-p': { min: 0, max: 1, minExclusive: true },
  temperature: { min: 0, max: 100 },
  guidance: { min: 0, max: 50 },
  fps: { min: 0, max: 60, minExclusive: true },
  clips: { integer: true, min: 1, max: 1000 },
  steps: { integer: true, min: 0, max: 1e9 },
  batch: { integer: true, min: 1, max: 4096 },
  lr: { min: 0, max: 10, minExclusive: true },
  workers: { integer: true, min: 1, max: 64 },
  'checkpoint-every': { integer: true, min: 0, max: 1e9 },
  'validate-every': { integer: true, min: 0, max: 1e9 },
  'label-smoothing': { min: 0, max: 1, maxExclusive: true },
  'label-dropout': { min: 0, max: 1 },
  'val-fraction': { min: 0, max: 1, maxExclusive: true },
  n: { integer: true, min: 2, max: 10000 },
  samples: { integer: true, min: 0, max: 10000 },
  'embedder-rate': { integer: true, min: 1000, max: 192000 },
  'input-size': { integer: true, min: 16, max: 2048 },
  l2: { min: 0, max: 10 },
} as const satisfies Record<string, NumberRange>;

export type SharedFlag = keyof typeof FLAG_RANGES;

/** Parse a shared flag with its range (undefined when absent). */
export function flag(name: SharedFlag, value: string | undefined): number | undefined {
  return numberFlag(name, value, FLAG_RANGES[name]);
}

/** The seed as the samplers take it: the canonical decimal text of an integer seed. */
export function seedFlag(value: string | undefined): string | undefined {
  const n = flag('seed', value);
  return n === undefined ? undefined : String(n);
}

/** --top-k, --top-p, --temperature, --guidance, --seed together (absent flags are left out). */
export function samplingFlags(values: Record<string, unknown>): { topK?: number; topP?: number; temperature?: number; guidance?: number; seed?: string } {
  const s = (k: string) => (values[k] === undefined ? undefined : String(values[k]));
  const out: { topK?: number; topP?: number; temperature?: number; guidance?: number; seed?: string } = {};
  const topK = flag('top-k', s('top-k'));
  const topP = flag('top-p', s('top-p'));
  const temperature = flag('temperature', s('temperature'));
  const guidance = flag('guidance', s('guidance'));
  const seed = seedFlag(s('seed'));
  if (topK !== undefined) out.topK = topK;
  if (topP !== undefined) out.topP = topP;
  if (temperature !== undefined) out.temperature = temperature;
  if (guidance !== undefined) out.guidance = guidance;
  if (seed !== undefined) out.seed = seed;
  return out;
}

/** The long flags given explicitly on a command line (`--name value` or `--name=value`), to tell them from defaults. */
export function explicitFlags(argv: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const a of argv) {
    if (a === '--') break;
    const m = /^--([^=]+)/.exec(a);
    if (m) out.add(m[1] as string);
  }
  return out;
}
