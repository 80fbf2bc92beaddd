/**
 * Small helpers shared by the command-line entry points: argument parsing (node:util parseArgs),
 * --help text, and one clear line for expected errors (bad input, unavailable backend).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BackendError, InputError, UsageError } from './errors';
import { flag } from './flags';

export { UsageError };

type Options = NonNullable<ParseArgsConfig['options']>;

/** The run flags every training command takes (checkpoint and validation cadence, resume, backend, workers). */
export const TRAIN_RUN_FLAGS = {
  'checkpoint-every': { type: 'string' },
  'validate-every': { type: 'string' },
  resume: { type: 'boolean' },
  backend: { type: 'string' },
  workers: { type: 'string' },
} as const;

/** TRAIN_RUN_FLAGS as the trainers' RunOptions take them (absent numbers stay undefined). */
export function trainRunOptions(values: { 'checkpoint-every'?: string; 'validate-every'?: string; resume?: boolean; workers?: string }): {
  checkpointEvery?: number;
  validateEvery?: number;
  resume: boolean;
  workers?: number;
} {
  return {
    checkpointEvery: flag('checkpoint-every', values['checkpoint-every']),
    validateEvery: flag('validate-every', values['validate-every']),
    resume: values.resume ?? false,
    workers: flag('workers', values.workers),
  };
}

/**
 * The options a command collected, without the ones left undefined (so the trainer's defaults apply;
 * on --resume the trainer takes what is missing from the run, hence a cast at the call).
 */
export function definedOptions<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

type HelpFlag = { help: { type: 'boolean'; short: 'h' } };
/** What parseArgs returns for these options (named, so declaration emit — tslab's — can write it). */
export type ParsedCli<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O & HelpFlag; allowPositionals: boolean; strict: true }>>;

export function parseCli<O extends Options>(argv: string[], options: O, usage: string, allowPositionals = false): ParsedCli<O> {
  const withHelp = { ...options, help: { type: 'boolean', short: 'h' } } as O & HelpFlag;
  const parse = () => {
    try {
      return parseArgs({ args: argv, options: withHelp, allowPositionals, strict: true });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\n\n${usage}`);
    }
  };
  const parsed = parse();
  if ((parsed.values as Record<string, unknown>)['help']) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return parsed;
}

/** A number option that must be at least `lo`, or a UsageError. */
export function numberAtLeast(name: string, v: string, lo: number): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < lo) throw new UsageError(`--${name} must be a number ≥ ${lo}, got '${v}'`);
  return x;
}

/** An optional non-negative number option (`--name`): undefined when absent, a UsageError when malformed. */
export function nonNegative(name: string, v: string | undefined, integer = true): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
    throw new UsageError(`--${name} must be a non-negative ${integer ? 'integer' : 'number'}, got '${v}'`);
  return n;
}

/** How an error ends a command: usage errors exit 2, expected errors (bad input, backend) exit 1 with one line. */
export function cliFailure(e: unknown): { exitCode: number; text: string } {
  if (e instanceof UsageError) return { exitCode: 2, text: `usage error: ${e.message}\n` };
  if (e instanceof InputError || e instanceof BackendError) return { exitCode: 1, text: `error: ${e.message}\n` };
  return { exitCode: 1, text: `${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n` };
}

/**
 * Set `globalThis[CLI_HOOK]` to a function before importing a command to receive its main function
 * instead of running it (tests run the commands in-process; see test/helpers-cli.ts).
 */
export const CLI_HOOK = Symbol.for('soundtrack-lab/cli-main');

/** Run a CLI main function: expected errors print one line and exit 1 (usage errors exit 2). */
export function runCli(main: () => Promise<void>): void {
  const hook = (globalThis as Record<symbol, unknown>)[CLI_HOOK];
  if (typeof hook === 'function') {
    (hook as (m: () => Promise<void>) => void)(main);
    return;
  }
  // A file size limit (ulimit -f) then fails the write with EFBIG, which is reported and cleaned up,
  // instead of killing the process and leaving a partial temp file.
  process.on('SIGXFSZ', () => {});
  main().then(
    () => {
      // Let pending stdout drain; some backends keep handles open, so exit explicitly.
      process.stdout.write('', () => process.exit(process.exitCode ?? 0));
    },
    (e: unknown) => {
      const f = cliFailure(e);
      process.stderr.write(f.text);
      process.exit(f.exitCode);
    },
  );
}
