/**
 * Run the commands of src/cli/ in-process: each command module hands its main function to the hook
 * in src/util/cli.ts instead of running it, and runCommand() calls it with argv set, stdout/stderr
 * captured and process.exit trapped, then maps a thrown error exactly as runCli does (cliFailure).
 * Spawning tsx costs 1–2 s per case; this costs only the command itself.
 */
import { CLI_HOOK, cliFailure } from '../src/util/cli';

type Main = () => Promise<void>;
const mains = new Map<string, Main>();

class ExitTrap extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

async function load(name: string): Promise<Main> {
  const have = mains.get(name);
  if (have) return have;
  let got: Main | null = null;
  const g = globalThis as Record<symbol, unknown>;
  g[CLI_HOOK] = (m: Main) => {
    got = m;
  };
  try {
    await import(`../src/cli/${name}.ts`);
  } finally {
    delete g[CLI_HOOK];
  }
  if (!got) throw new Error(`src/cli/${name}.ts did not call runCli`);
  mains.set(name, got);
  return got;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `src/cli/<name>.ts` with `args` in this process. */
export async function runCommand(name: string, args: string[]): Promise<CommandResult> {
  const main = await load(name);
  const argv = process.argv;
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const exit = process.exit.bind(process);
  let stdout = '';
  let stderr = '';
  process.argv = [argv[0] as string, `src/cli/${name}.ts`, ...args];
  process.stdout.write = ((s: string | Uint8Array) => {
    stdout += typeof s === 'string' ? s : Buffer.from(s).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += typeof s === 'string' ? s : Buffer.from(s).toString('utf8');
    return true;
  }) as typeof process.stderr.write;
  process.exit = ((code?: number) => {
    throw new ExitTrap(code ?? 0);
  }) as typeof process.exit;
  process.exitCode = undefined;
  let code: number;
  try {
    await main();
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof ExitTrap) code = e.code;
    else {
      const f = cliFailure(e);
      stderr += f.text;
      code = f.exitCode;
    }
  } finally {
    process.argv = argv;
    process.stdout.write = out;
    process.stderr.write = err;
    process.exit = exit;
    process.exitCode = undefined;
  }
  return { code, stdout, stderr };
}
