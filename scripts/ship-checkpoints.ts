/**
 * Copy trained runs into checkpoints/ (weights and metadata, no optimizer state) and write
 * checkpoints/README.md with one line per model: command, data, steps, backend, wall time, metrics.
 *
 *   npx tsx scripts/ship-checkpoints.ts --codec RUN --top RUN --bottom RUN --classifier RUN
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { exportCheckpoint, loadCheckpoint, type CheckpointMeta } from '../src/checkpoint/checkpoint';
import { formatDuration } from '../src/train/progress';
import { SHIPPED } from '../src/pipeline/models';
import { parseCli, runCli, UsageError } from '../src/util/cli';
import { projectRoot } from '../src/util/project';
import { initBackend } from '../src/backend/index';

const USAGE = 'npx tsx scripts/ship-checkpoints.ts --codec RUN --top RUN --bottom RUN --classifier RUN';

function command(which: string, meta: CheckpointMeta<Record<string, unknown>>): string {
  const t = meta.train as Record<string, unknown>;
  const m = meta.model;
  const data = meta.data?.spec ?? '?';
  const shown = (p: string) => (p.includes('/shared/') ? `../shared/${p.split('/shared/')[1]}` : p);
  switch (which) {
    case 'codec':
      return `npm run train:codec -- --model ${String(m['kind'])} --preset ${String(m['preset'])} --data ${shown(data)} --steps ${meta.step}`;
    case 'top':
    case 'bottom':
      return `npm run train:prior -- --level ${which} --preset ${String(m['preset'])} --codes <codes of the codec above> --steps ${meta.step}`;
    default:
      return `npm run train:classifier -- --images ${shown(String(t['images'] ?? data))} --steps ${meta.step}${t['l2'] !== undefined ? ` --l2 ${String(t['l2'])}` : ''}`;
  }
}

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    { codec: { type: 'string' }, top: { type: 'string' }, bottom: { type: 'string' }, classifier: { type: 'string' } },
    USAGE,
  );
  for (const k of ['codec', 'top', 'bottom', 'classifier'] as const) if (!values[k]) throw new UsageError(`--${k} is required\n\n${USAGE}`);
  await initBackend({ backend: 'cpu' });
  const root = projectRoot();
  const rows: string[] = [];
  for (const which of ['codec', 'top', 'bottom', 'classifier'] as const) {
    const dst = path.join(root, SHIPPED[which]);
    const dir = await exportCheckpoint(String(values[which]), dst);
    // the training curve ships too (the study draws it)
    await fsp.copyFile(path.join(String(values[which]), 'metrics.jsonl'), path.join(dst, 'metrics.jsonl')).catch(() => undefined);
    const ck = await loadCheckpoint<Record<string, unknown>>(dir);
    const metrics = Object.entries(ck.meta.metrics)
      .filter(([k]) => /^(val_|loss|recon|perplexity|usage|train_accuracy|zero_shot)/.test(k))
      .map(([k, v]) => `${k} ${Number.isFinite(v) ? Number(v).toPrecision(4) : v}`)
      .join(', ');
    let data = ck.meta.data?.spec ?? '?';
    if (ck.meta.data?.layout === 'codes') {
      // priors: name the recordings the codes came from
      const codes = JSON.parse(await fsp.readFile(path.join(data, 'codes.json'), 'utf8').catch(() => '{}')) as { dataset?: { spec?: string } };
      data = `codes of checkpoints/codec on ${codes.dataset?.spec ?? 'its training data'}`;
    }
    data = data.includes('/shared/') ? data.replace(/\S*\/shared\//, '../shared/') : data;
    rows.push(
      `| \`${SHIPPED[which]}\` | \`${command(which, ck.meta)}\` | ${data} | ${ck.meta.step} | ${ck.meta.software.backend} | ${formatDuration(ck.meta.trainSeconds)} | ${metrics} |`,
    );
    process.stderr.write(`shipped ${which} → ${dir}\n`);
    for (const w of Object.values(ck.weights)) w.dispose();
  }
  const readme = [
    '# checkpoints/',
    '',
    'Trained models shipped with the project, loaded by `npm run generate` on a fresh clone. Weights only',
    '(no optimizer state): copy them with `scripts/ship-checkpoints.ts` from training runs.',
    '',
    '| folder | command | data | steps | backend | wall time | final metrics |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '| `checkpoints/darknet-tiny` | (pretrained, see NOTICE.md) | ImageNet-1k | – | – | – | zero-shot cat/dog 81.5 % on the shared val photos (measured in docs/FACTS.md) |',
    '',
    'The codec and priors use the `quick` presets: the thesis presets need a GPU for their 10,920 / 10,080 steps',
    '(see the benchmarks). All were trained on the CPU (wasm backend, 1 thread) of a 2-core machine.',
    '',
  ].join('\n');
  await fsp.writeFile(path.join(root, 'checkpoints', 'README.md'), readme);
}

runCli(main);
