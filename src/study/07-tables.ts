/** Notebook 07 · tables (Table 1 and Table 2, the thesis beside ours) → <out>/tables.md. */
import * as path from 'node:path';
import type { DatasetSummary } from '../data/summary';
import { summaryMarkdown } from '../data/summary';
import { describeModel } from '../models/describe';
import { THESIS } from '../models/thesis';
import type { GenerationResult } from './06-generate';
import { writeFileAtomic } from '../util/fs';
import type { StudyConfig } from './config';
import { tableHtml, tableMarkdown } from './html';
import { readResult } from './results';

type Rows = Array<Array<string | number>>;
type CodecResult = { kind: string; steps: number; trainSeconds: number; parameters: number; fad: { fad: number; embedder: string }; mse: number };
type LatentResult = { kind: string; level: string; probeAccuracy: number; silhouette: number };
type PriorResult = { level: string; teacherForced: number; ownSamples: number };
type ClassifierResult = { zeroShot: { accuracy: number }; head: { accuracy: number }; shippedTraining: Record<string, number>; photos: number };

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)} %`);
const count = (n: number) => n.toLocaleString('en-US');

function table1(): Rows {
  const top = describeModel('prior-top', 'thesis');
  return [
    ['Table 1 (priors)', 'thesis', 'ours (thesis preset)'],
    ['encoder / decoder layers', '6 / 12', '6 / 12'],
    ['d_model, heads, feed-forward', '100, 4, 1024', '100, 4, 1024'],
    ['vocabulary', '2048 codes + specials (2052)', '2052'],
    ['Top prior: source → target', 'label → 900 (+start = 901)', 'class token → 900 (+START)'],
    ['Bottom prior: source → target', '900 → 3600 (+start = 3601)', '900 → 3600 (+START)'],
    ['parameters per prior', count(THESIS.priorParameters), count(top.parameters)],
  ];
}

async function table2(cfg: StudyConfig): Promise<Rows> {
  const codecs = await readResult<CodecResult[]>(cfg, '02-codecs');
  const priors = await readResult<PriorResult[]>(cfg, '04-priors');
  const clf = await readResult<ClassifierResult>(cfg, '05-classifier');
  const gen = await readResult<GenerationResult>(cfg, '06-generate');
  const rawRow = codecs?.find((c) => c.kind === 'raw-vqvae2');
  const perplexity = (level: string) => {
    const p = priors?.find((r) => r.level === level);
    return p ? `${p.teacherForced.toFixed(2)} / ${p.ownSamples.toFixed(2)}` : '–';
  };
  const shipped = clf?.shippedTraining;
  const { classifier, steps } = THESIS;
  return [
    ['Table 2', 'thesis', 'ours', 'where ours comes from'],
    [
      'classifier accuracy (before → after head)',
      `${classifier.zeroShot} → ${classifier.head} (${classifier.backbone})`,
      shipped ? `${pct(shipped['zero_shot_accuracy'])} → ${pct(shipped['val_accuracy'])}` : '–',
      'Tiny Darknet frozen + head, 800 held-out photos of the shared set (shipped head)',
    ],
    [
      'classifier on the study photos',
      '–',
      clf ? `${pct(clf.zeroShot.accuracy)} → ${pct(clf.head.accuracy)}` : '–',
      `${clf?.photos ?? '?'} photos of ${path.basename(cfg.images)}`,
    ],
    ['codec parameters', count(THESIS.codecParameters), count(describeModel('raw-vqvae2', 'thesis').parameters), 'thesis preset (raw-audio VQ-VAE-2)'],
    [
      'codec FAD of reconstructions',
      'reported in the thesis',
      rawRow ? `${rawRow.fad.fad.toFixed(1)} (${cfg.preset}, ${rawRow.steps} steps)` : '–',
      `${cfg.data}, mel-stats-v1 embedder`,
    ],
    ['prior parameters', count(THESIS.priorParameters), count(describeModel('prior-top', 'thesis').parameters), 'thesis preset'],
    ['Top prior perplexity (held-out / own samples)', 'reported in the thesis', perplexity('top'), 'shipped quick prior'],
    ['Bottom prior perplexity (held-out / own samples)', 'reported in the thesis', perplexity('bottom'), 'shipped quick prior'],
    [
      'training steps (codec / priors / head)',
      `${count(steps.codec)} / ${count(steps.prior)} / ${count(steps.head)}`,
      `${rawRow?.steps ?? '–'} (study) · shipped: 1,500 / 150+100 / 160`,
      'CPU, quick presets',
    ],
    ...(['mel-flow', 'thesis'] as const).map((kind) => {
      const rows = gen?.[kind]?.rows.filter((r) => r.audio.startsWith('generated')) ?? [];
      const share = (k: 'recognised' | 'neither') => (rows.length ? pct(rows.reduce((a, r) => a + (r[k] ?? 0), 0) / rows.length) : '–');
      return [
        `generated clips recognised as the asked class / called "neither" (${kind === 'mel-flow' ? 'default generator' : 'thesis pipeline'})`,
        kind === 'thesis' ? '– ("mostly like noise")' : '–',
        `${share('recognised')} / ${share('neither')}`,
        `3-way judge (checkpoints/judge) on ${cfg.data}; real held-out: ${
          gen?.[kind]?.rows
            .filter((r) => r.audio.startsWith('real held-out') && !r.audio.includes('Griffin'))
            .map((r) => pct(r.recognised ?? 0))
            .join(' / ') ?? '?'
        }`,
      ];
    }),
  ];
}

export async function tablesStep(cfg: StudyConfig): Promise<{ markdown: string; html: string }> {
  const data = await readResult<DatasetSummary>(cfg, '01-data');
  const latents = await readResult<LatentResult[]>(cfg, '03-latents');
  const t1 = table1();
  const t2 = await table2(cfg);
  const t3 = latents
    ? [['Fig. 14', 'level', 'linear probe', 'silhouette'], ...latents.map((l) => [l.kind, l.level, pct(l.probeAccuracy), l.silhouette.toFixed(3)])]
    : null;
  const markdown = [
    '# Tables regenerated by `npm run study`',
    '',
    `Data: ${cfg.data} (${data ? `${data.totalClips} recordings, ${data.totalSeconds.toFixed(0)} s` : '?'}); preset ${cfg.preset}; photos ${cfg.images}.`,
    '',
    '## Table 1',
    '',
    tableMarkdown(t1),
    '',
    '## Table 2',
    '',
    tableMarkdown(t2),
    '',
    ...(t3 ? ['## Fig. 14 in numbers', '', tableMarkdown(t3), ''] : []),
    ...(data ? ['## Data', '', summaryMarkdown(data), ''] : []),
  ].join('\n');
  await writeFileAtomic(path.join(cfg.out, 'tables.md'), markdown);
  return { markdown, html: [tableHtml(t1), tableHtml(t2), t3 ? tableHtml(t3) : ''].join('<br/>') };
}
