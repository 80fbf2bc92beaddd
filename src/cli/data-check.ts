/** npm run data:check -- --data embedded|DIR [--json] — load a dataset (any supported layout) and print clips and seconds per class. */
import { type AudioCache, defaultCache } from '../data/cache';
import { openDataset } from '../data/open';
import { formatSummary, summarizeDataset } from '../data/summary';
import type { DatasetLayout } from '../data/dataset';
import { parseCli, runCli, UsageError } from '../util/cli';
import { flag } from '../util/flags';

const USAGE = `npm run data:check -- --data embedded|DIR [--layout embedded|folder|kaggle-cats-dogs|esc50|vggsound]
                      [--val-fraction 0.2] [--seed 0] [--no-cache] [--json]
Loads every recording (decoding to mono 4 kHz, cached on disk) and prints clips and seconds per class.
Exits 1 when any file cannot be decoded (the summary names each one and the reason).`;

const LAYOUTS: readonly DatasetLayout[] = ['embedded', 'folder', 'kaggle-cats-dogs', 'esc50', 'vggsound'];

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      data: { type: 'string', default: 'embedded' },
      layout: { type: 'string' },
      'val-fraction': { type: 'string' },
      seed: { type: 'string' },
      'no-cache': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.layout && !(LAYOUTS as readonly string[]).includes(values.layout)) throw new UsageError(`unknown layout '${values.layout}'\n\n${USAGE}`);
  const valFraction = flag('val-fraction', values['val-fraction']);
  const seed = flag('seed', values.seed);
  const ds = await openDataset(values.data as string, values.layout ? { layout: values.layout as DatasetLayout } : {});
  const cache: AudioCache | null = values['no-cache'] ? null : defaultCache();
  const split: { valFraction?: number; seed?: number } = {};
  if (valFraction !== undefined) split.valFraction = valFraction;
  if (seed !== undefined) split.seed = seed;
  const summary = await summarizeDataset(ds, { cache, split });
  process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
  if (summary.failed.length > 0) process.exitCode = 1;
  // the thesis' two classes: one without any decodable recording makes the data unusable for the priors
  const empty = summary.classes.filter((c) => (c.name === 'cat' || c.name === 'dog') && c.clips === 0);
  for (const c of empty) process.stderr.write(`error: ${summary.root}: class ${c.name} (label ${c.label}) has no decodable recordings\n`);
  if (empty.length > 0) process.exitCode = 1;
}

runCli(main);
