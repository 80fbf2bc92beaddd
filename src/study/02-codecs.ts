/** Notebook 02 · codecs (thesis §2.2, Fig. 13, Table 2 row 1): train or reuse the three codecs, reconstruct, measure. */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SAMPLE_RATE } from '../audio/constants';
import { findCheckpoint, loadCheckpoint } from '../checkpoint/checkpoint';
import { loadCodec } from '../checkpoint/models';
import { evaluationClips } from '../data/batches';
import { loadExamples, splitDataset } from '../data/dataset';
import { openDataset } from '../data/open';
import { describeModel } from '../models/describe';
import { CODEC_KINDS, type CodecKind } from '../models/presets';
import { type CodecReport, evaluateCodecCheckpoint } from '../pipeline/evaluate';
import { trainCodec } from '../train/codec';
import { runsDir, type StudyConfig } from './config';
import { curvesFigure, melHeatmap } from './figures';
import { audioHtml, saveFigure, tableMarkdown } from './html';
import { readMetricsLog, saveResult } from './results';

export interface CodecRow {
  kind: CodecKind;
  run: string;
  steps: number;
  trainSeconds: number;
  parameters: number;
  report: CodecReport;
}

export interface CodecsStep {
  rows: CodecRow[];
  table: string;
  figures: string[];
  players: string;
}

type Log = (s: string) => void;

/** Train (or reuse) the three codecs on the study data. */
export async function trainStudyCodecs(cfg: StudyConfig, log: Log = () => undefined): Promise<Array<{ kind: CodecKind; run: string }>> {
  const out: Array<{ kind: CodecKind; run: string }> = [];
  for (const kind of CODEC_KINDS) {
    const run = path.join(runsDir(cfg), `${kind}-${cfg.preset}`);
    const steps = kind === 'raw-vqvae2' ? cfg.codecSteps.raw : cfg.codecSteps.spec;
    const existing = await findCheckpoint(run);
    const done = existing ? (await loadCheckpoint(existing)).meta : null;
    if (done && done.step >= steps && done.data?.spec === cfg.data) log(`${kind}: reusing ${run} (step ${done.step})\n`);
    else {
      if (existing) await fsp.rm(run, { recursive: true, force: true });
      log(`${kind}: training ${steps} steps on ${cfg.data} (${cfg.preset} preset)\n`);
      const validateEvery = Math.max(1, Math.ceil(steps / 5));
      await trainCodec({ kind, preset: cfg.preset, data: cfg.data, out: run, steps, quiet: true, validateEvery, ...(cfg.small ? { batchSize: 2 } : {}) });
    }
    out.push({ kind, run });
  }
  return out;
}

/** Fig. 13: one held-out clip of each class, reconstructed by each codec. */
async function reconstructions(cfg: StudyConfig, runs: Array<{ kind: CodecKind; run: string }>): Promise<{ figures: string[]; players: string }> {
  const ds = await openDataset(cfg.data);
  const val = splitDataset(ds).val;
  const figures: string[] = [];
  let players = '';
  for (const [label, c] of ds.classes.entries()) {
    const item = val.find((i) => i.label === label) ?? ds.items.find((i) => i.label === label);
    if (!item) continue;
    const clip = evaluationClips((await loadExamples([item]))[0]!.audio)[0] as Float32Array;
    figures.push((await saveFigure(`02-fig13-${c}-original`, melHeatmap(clip, `${c} (${item.id}): original`), { dir: cfg.out, height: 220 })).html);
    players += audioHtml(clip, SAMPLE_RATE, `${c}: original`);
    for (const r of runs) {
      const { codec } = await loadCodec(r.run);
      const [rec] = await codec.reconstruct([clip]);
      codec.dispose();
      const fig = melHeatmap(rec as Float32Array, `${c}: ${r.kind} reconstruction`);
      figures.push((await saveFigure(`02-fig13-${c}-${r.kind}`, fig, { dir: cfg.out, height: 220 })).html);
      players += audioHtml(rec as Float32Array, SAMPLE_RATE, `${c}: ${r.kind}`);
    }
  }
  return { figures, players };
}

export async function codecsStep(cfg: StudyConfig, log: Log = () => undefined): Promise<CodecsStep> {
  const runs = await trainStudyCodecs(cfg, log);
  const rows: CodecRow[] = [];
  for (const r of runs) {
    const report = await evaluateCodecCheckpoint({ codec: r.run, data: cfg.data });
    const ck = await loadCheckpoint(r.run);
    for (const w of Object.values(ck.weights)) w.dispose();
    const parameters = describeModel(r.kind, cfg.preset).parameters;
    rows.push({ kind: r.kind, run: r.run, steps: ck.meta.step, trainSeconds: ck.meta.trainSeconds, parameters, report });
  }
  const { figures, players } = await reconstructions(cfg, runs);
  // training curves from the JSONL logs
  const curves = [];
  for (const r of runs) {
    const train = (await readMetricsLog<{ step: number; split: string; recon?: number }>(path.join(r.run, 'metrics.jsonl'))).filter((l) => l.split === 'train');
    curves.push({ name: r.kind, x: train.map((l) => l.step), y: train.map((l) => l.recon) });
  }
  const curvesFig = curvesFigure(curves, 'Reconstruction loss while training (train batches)', 'MSE (normalised input)', true);
  figures.push((await saveFigure('02-training-curves', curvesFig, { dir: cfg.out })).html);
  const table = tableMarkdown([
    ['codec', 'parameters', 'steps', 'train time (s)', 'val clips', 'MSE', 'SI-SDR (dB)', 'FAD', 'bottom code usage'],
    ...rows.map(({ kind, parameters, steps, trainSeconds, report: { trained } }) => [
      kind,
      parameters.toLocaleString('en-US'),
      steps,
      trainSeconds.toFixed(0),
      trained.clips,
      trained.mse.toExponential(2),
      trained.siSdr.toFixed(1),
      trained.fad.fad.toFixed(1),
      `${(100 * trained.usage.bottom).toFixed(0)} %`,
    ]),
  ]);
  const results = rows.map((r) => ({
    kind: r.kind,
    steps: r.steps,
    trainSeconds: r.trainSeconds,
    parameters: r.parameters,
    data: cfg.data,
    ...r.report.trained,
    probe: undefined,
  }));
  await saveResult(cfg, '02-codecs', results);
  return { rows, table, figures, players };
}
