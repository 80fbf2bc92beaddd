/**
 * npm run bench:cpu [-- --repeats 2 --skip-cpu --skip-parallel --cpu-timeout 1200]
 *
 * Training on CPU (F7): the thesis codec step (batch 8 × 28,800 samples) and the thesis prior step
 * (batch 4, 900 → 901 tokens) on the wasm backend, and both at batch 1 on tfjs' cpu backend, each next to the
 * PyTorch CPU twin (Debian python3-torch + OpenBLAS, 2 threads) measured in the same run; every
 * tfjs measurement runs in its own process so its peak RSS is its own.
 *
 * tfjs-wasm computes on one thread in Node (its threaded build is disabled there), so training can
 * add gradient worker threads (--workers 2, src/train/parallel.ts): measured as whole training-loop
 * steps with 1 and 2 threads, and against the ceiling — two processes, each with half the batch,
 * side by side on the two cores.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseCli, runCli } from '../src/util/cli';
import { emit, ratio, runTwin, type Measurement } from './common';

const TSX = path.join(process.cwd(), 'node_modules', '.bin', 'tsx');

function lines(stdout: string): Measurement[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Measurement);
}

/** One benchmark script in a child process; its first JSON line, or null (with the reason on stderr). */
function child(script: string, args: string[], timeoutS: number): Measurement | null {
  const r = spawnSync(TSX, [path.join('bench', script), ...args, '--no-twin'], { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    process.stderr.write(
      `${script} ${args.join(' ')}: ${r.signal ? `stopped after ${timeoutS} s` : `exit ${r.status}`}\n${(r.stderr ?? '').split('\n').slice(-4).join('\n')}\n`,
    );
    return null;
  }
  return lines(r.stdout)[0] ?? null;
}

/** Two children at once (half the batch each); the slower one's step time is the pair's step. */
async function pair(script: string, args: string[]): Promise<Measurement[] | null> {
  const run = () =>
    new Promise<Measurement | null>((resolve) => {
      const p = spawn(TSX, [path.join('bench', script), ...args, '--no-twin'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', () => undefined);
      p.on('close', (code) => resolve(code === 0 ? (lines(out)[0] ?? null) : null));
    });
  const both = await Promise.all([run(), run()]);
  return both.every((m) => m !== null) ? (both as Measurement[]) : null;
}

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      repeats: { type: 'string', default: '2' },
      'skip-cpu': { type: 'boolean' },
      'skip-parallel': { type: 'boolean' },
      'cpu-timeout': { type: 'string', default: '1500' },
    },
    'npm run bench:cpu -- [--repeats 2] [--skip-cpu] [--skip-parallel] [--cpu-timeout 1500]',
  );
  const repeats = values.repeats as string;
  const cpuTimeout = Number(values['cpu-timeout']);
  const codecTwin = runTwin('vqvae2_twin.py', ['--batch', '8', '--steps', repeats]);
  const priorTwin = runTwin('prior_twin.py', ['--batch', '4', '--src', '900', '--tgt', '900', '--steps', repeats, '--sample-tokens', '1']);
  const twinDevice = (t: typeof codecTwin) => (t ? `pytorch ${String(t['torch'])} ${t.device} (${String(t['threads'])} threads)` : null);
  const report = (m: Measurement | null, name: string, backend: string, twin: typeof codecTwin, extra: Record<string, unknown> = {}) => {
    emit({
      name,
      backend,
      device: m?.device ?? 'n/a',
      step_s: m ? m.step_s : Number.NaN,
      twin_s: twin ? Number(twin.step_s.toFixed(3)) : null,
      ratio: m ? ratio(m.step_s, twin?.step_s) : null,
      twin_device: twinDevice(twin),
      peak_rss_gib: m ? (m['peak_rss_gib'] as number) : null,
      ...(m ? {} : { note: 'did not finish (see stderr)' }),
      ...extra,
    });
  };

  const codecArgs = ['--preset', 'thesis', '--batch', '8', '--repeats', repeats];
  const priorArgs = ['--batch', '4', '--repeats', repeats, '--sample-tokens', '0'];
  report(child('codec.ts', ['--backend', 'wasm', ...codecArgs], 1800), 'codec_train_step_thesis_b8', 'wasm', codecTwin);
  report(child('prior.ts', ['--backend', 'wasm', ...priorArgs], 1800), 'prior_train_step_thesis_b4_900to901', 'wasm', priorTwin);
  if (!values['skip-cpu']) {
    // tfjs' cpu backend is plain JavaScript (a thesis codec step at batch 8 takes ~13 minutes): one
    // step at batch 1, no warm-up, next to the twin at batch 1.
    const codecTwin1 = runTwin('vqvae2_twin.py', ['--batch', '1', '--steps', repeats]);
    const priorTwin1 = runTwin('prior_twin.py', ['--batch', '1', '--src', '900', '--tgt', '900', '--steps', repeats, '--sample-tokens', '1']);
    report(
      child('codec.ts', ['--backend', 'cpu', '--preset', 'thesis', '--batch', '1', '--repeats', '1', '--warmup', '0'], cpuTimeout),
      'codec_train_step_thesis_b1',
      'cpu',
      codecTwin1,
    );
    report(
      child('prior.ts', ['--backend', 'cpu', '--batch', '1', '--repeats', '1', '--warmup', '0', '--sample-tokens', '0'], cpuTimeout),
      'prior_train_step_thesis_b1_900to901',
      'cpu',
      priorTwin1,
    );
  }
  if (!values['skip-parallel']) {
    // The training loop itself (npm run train:codec -- --workers N): whole steps, one thread vs two.
    for (const w of ['1', '2'])
      report(
        child('train-loop.ts', ['--workers', w], 900),
        `codec_train_loop_step_thesis_b8_workers${w}`,
        w === '1' ? 'wasm' : 'wasm, 2 threads (data parallel)',
        codecTwin,
      );
    const topTwin = runTwin('prior_twin.py', ['--batch', '4', '--src', '1', '--tgt', '900', '--steps', repeats, '--sample-tokens', '1']);
    for (const w of ['1', '2'])
      report(
        child('train-loop.ts', ['--model', 'prior-top', '--batch', '4', '--workers', w], 1200),
        `prior_top_train_loop_step_thesis_b4_1to901_workers${w}`,
        w === '1' ? 'wasm' : 'wasm, 2 threads (data parallel)',
        topTwin,
      );
    const c = await pair('codec.ts', ['--backend', 'wasm', '--preset', 'thesis', '--batch', '4', '--repeats', repeats]);
    const slow = (ms: Measurement[] | null) => (ms ? { ...(ms[0]!.step_s >= ms[1]!.step_s ? ms[0]! : ms[1]!) } : null);
    report(slow(c), 'codec_train_step_thesis_b8_as_2_processes_x_b4', 'wasm ×2 processes', codecTwin, {
      note: 'two processes at once, batch 4 each: the data-parallel ceiling on 2 cores (gradient exchange not included)',
    });
    const p = await pair('prior.ts', ['--backend', 'wasm', '--batch', '2', '--repeats', repeats, '--sample-tokens', '0']);
    report(slow(p), 'prior_train_step_thesis_b4_as_2_processes_x_b2', 'wasm ×2 processes', priorTwin, {
      note: 'two processes at once, batch 2 each: the data-parallel ceiling on 2 cores (gradient exchange not included)',
    });
  }
}

runCli(main);
