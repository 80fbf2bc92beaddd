/**
 * The study, step by step (one function per notebook). Each step computes with the library, writes
 * its numbers to <out>/results/NN-*.json and its figures to <out>/, and returns what the notebook
 * shows. Notebooks stay thin: they call these and explain.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { readAudio } from '../audio/decode';
import { runFfmpeg } from '../audio/ffmpeg';
import { DEFAULT_MEL, logMelSpectrogram, melCenters } from '../audio/mel';
import { SAMPLE_RATE } from '../audio/constants';
import { extractCodes } from '../codes/extract';
import { readCodes } from '../codes/store';
import { evaluationClips } from '../data/batches';
import { loadExamples, splitDataset } from '../data/dataset';
import { openDataset } from '../data/open';
import { summarizeDataset, summaryMarkdown, type DatasetSummary } from '../data/summary';
import { pooledLatents } from '../metrics/codec';
import { perplexityReport, type PerplexityReport } from '../metrics/perplexity';
import { latentProbe, type ProbeResult } from '../metrics/probe';
import { describeModel } from '../models/describe';
import { CODEC_KINDS, type CodecKind } from '../models/presets';
import { evaluateCodecCheckpoint, evaluateGeneration, type CodecReport, type GenerationReport } from '../pipeline/evaluate';
import { generate } from '../pipeline/generate';
import { shippedPath } from '../pipeline/models';
import { disposeSoundModels, loadSoundModels, soundForClass } from '../pipeline/sound';
import { findCheckpoint, loadCheckpoint } from '../checkpoint/checkpoint';
import { trainCodec } from '../train/codec';
import { loadCodec, loadPrior } from '../checkpoint/models';
import { priorRows } from '../train/prior';
import { writeFileAtomic } from '../util/fs';
import { projectRoot } from '../util/project';
import { CatDogClassifier } from '../vision/classifier';
import { openImageSet } from '../vision/images';
import { readImage } from '../vision/media';
import { resultsDir, runsDir, type StudyConfig } from './config';
import { audioHtml, saveFigure, tableHtml, tableMarkdown, videoHtml, type Figure } from './figures';

async function saveResult(cfg: StudyConfig, name: string, value: unknown): Promise<void> {
  await writeFileAtomic(path.join(resultsDir(cfg), `${name}.json`), `${JSON.stringify(value, null, 1)}\n`);
}

export async function readResult<T>(cfg: StudyConfig, name: string): Promise<T | null> {
  try {
    return JSON.parse(await fsp.readFile(path.join(resultsDir(cfg), `${name}.json`), 'utf8')) as T;
  } catch {
    return null;
  }
}

function melHeatmap(clip: Float32Array, title: string): Figure {
  const m = logMelSpectrogram(clip, DEFAULT_MEL);
  const z: number[][] = Array.from({ length: m.bins }, (_, b) => Array.from({ length: m.frames }, (_, t) => m.data[t * m.bins + b] as number));
  const x = Array.from({ length: m.frames }, (_, t) => (t * DEFAULT_MEL.hop) / SAMPLE_RATE);
  return {
    data: [{ type: 'heatmap', z, x, y: Array.from(melCenters(DEFAULT_MEL), Math.round), colorscale: 'Viridis', zmin: -11.5, zmax: 2, showscale: false }],
    layout: { title: { text: title }, xaxis: { title: { text: 's' } }, yaxis: { title: { text: 'Hz (mel)' } } },
  };
}

// --------------------------------------------------------------------------------------------
// 01 · data
// --------------------------------------------------------------------------------------------

export interface DataStep {
  summary: DatasetSummary;
  table: string;
  figures: string[];
  players: string;
}

export async function dataStep(cfg: StudyConfig): Promise<DataStep> {
  const ds = await openDataset(cfg.data);
  const summary = await summarizeDataset(ds);
  const examples = await loadExamples(ds.items);
  const figures: string[] = [];
  // durations per class
  figures.push(
    (
      await saveFigure(
        '01-durations',
        {
          data: ds.classes.map((c, label) => ({
            type: 'histogram',
            name: c,
            x: examples.filter((e) => e.label === label).map((e) => e.audio.length / SAMPLE_RATE),
            opacity: 0.7,
            nbinsx: 20,
          })),
          layout: {
            title: { text: 'Recording lengths per class' },
            barmode: 'overlay',
            xaxis: { title: { text: 'seconds' } },
            yaxis: { title: { text: 'recordings' } },
          },
        },
        { dir: cfg.out },
      )
    ).html,
  );
  let players = '';
  for (const [label, c] of ds.classes.entries()) {
    const ex = examples.find((e) => e.label === label);
    if (!ex) continue;
    const clip = evaluationClips(ex.audio)[0] as Float32Array;
    const step = 8;
    figures.push(
      (
        await saveFigure(
          `01-waveform-${c}`,
          {
            data: [
              {
                type: 'scatter',
                mode: 'lines',
                x: Array.from({ length: clip.length / step }, (_, i) => (i * step) / SAMPLE_RATE),
                y: Array.from({ length: clip.length / step }, (_, i) => clip[i * step] as number),
                line: { width: 1 },
              },
            ],
            layout: {
              title: { text: `${c}: ${ex.id} (7.2-s clip, 4 kHz)` },
              xaxis: { title: { text: 's' } },
              yaxis: { title: { text: 'amplitude' }, range: [-1, 1] },
            },
          },
          { dir: cfg.out, height: 220 },
        )
      ).html,
    );
    figures.push((await saveFigure(`01-logmel-${c}`, melHeatmap(clip, `${c}: log-mel spectrogram`), { dir: cfg.out, height: 260 })).html);
    players += audioHtml(ex.audio, SAMPLE_RATE, `${c}: ${ex.id}`);
  }
  await saveResult(cfg, '01-data', summary);
  return { summary, table: summaryMarkdown(summary), figures, players };
}

// --------------------------------------------------------------------------------------------
// 02 · codecs (thesis §2.2, Fig. 13, Table 2 row 1)
// --------------------------------------------------------------------------------------------

export interface CodecRow {
  kind: CodecKind;
  run: string;
  steps: number;
  trainSeconds: number;
  parameters: number;
  report: CodecReport;
}

/** Train (or reuse) the three codecs on the study data. */
export async function trainStudyCodecs(cfg: StudyConfig, log: (s: string) => void = () => undefined): Promise<Array<{ kind: CodecKind; run: string }>> {
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
      await trainCodec({
        kind,
        preset: cfg.preset,
        data: cfg.data,
        out: run,
        steps,
        quiet: true,
        validateEvery: Math.max(1, Math.ceil(steps / 5)),
        ...(cfg.small ? { batchSize: 2 } : {}),
      });
    }
    out.push({ kind, run });
  }
  return out;
}

export interface CodecsStep {
  rows: CodecRow[];
  table: string;
  figures: string[];
  players: string;
}

export async function codecsStep(cfg: StudyConfig, log: (s: string) => void = () => undefined): Promise<CodecsStep> {
  const runs = await trainStudyCodecs(cfg, log);
  const rows: CodecRow[] = [];
  for (const r of runs) {
    const report = await evaluateCodecCheckpoint({ codec: r.run, data: cfg.data });
    const ck = await loadCheckpoint(r.run);
    for (const w of Object.values(ck.weights)) w.dispose();
    rows.push({
      kind: r.kind,
      run: r.run,
      steps: ck.meta.step,
      trainSeconds: ck.meta.trainSeconds,
      parameters: describeModel(r.kind, cfg.preset).parameters,
      report,
    });
  }
  // Fig. 13: one held-out clip of each class, reconstructed by each codec
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
      figures.push(
        (await saveFigure(`02-fig13-${c}-${r.kind}`, melHeatmap(rec as Float32Array, `${c}: ${r.kind} reconstruction`), { dir: cfg.out, height: 220 })).html,
      );
      players += audioHtml(rec as Float32Array, SAMPLE_RATE, `${c}: ${r.kind}`);
    }
  }
  // training curves from the JSONL logs
  const curves: object[] = [];
  for (const r of runs) {
    const lines = (await fsp.readFile(path.join(r.run, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; split: string; recon?: number });
    const tr = lines.filter((l) => l.split === 'train');
    curves.push({ type: 'scatter', mode: 'lines', name: r.kind, x: tr.map((l) => l.step), y: tr.map((l) => l.recon) });
  }
  figures.push(
    (
      await saveFigure(
        '02-training-curves',
        {
          data: curves,
          layout: {
            title: { text: 'Reconstruction loss while training (train batches)' },
            xaxis: { title: { text: 'step' } },
            yaxis: { title: { text: 'MSE (normalised input)' }, type: 'log' },
          },
        },
        { dir: cfg.out },
      )
    ).html,
  );
  const table = tableMarkdown([
    ['codec', 'parameters', 'steps', 'train time (s)', 'val clips', 'MSE', 'SI-SDR (dB)', 'FAD', 'bottom code usage'],
    ...rows.map((r) => [
      r.kind,
      r.parameters.toLocaleString('en-US'),
      r.steps,
      r.trainSeconds.toFixed(0),
      r.report.trained.clips,
      r.report.trained.mse.toExponential(2),
      r.report.trained.siSdr.toFixed(1),
      r.report.trained.fad.fad.toFixed(1),
      `${(100 * r.report.trained.usage.bottom).toFixed(0)} %`,
    ]),
  ]);
  await saveResult(
    cfg,
    '02-codecs',
    rows.map((r) => ({
      kind: r.kind,
      steps: r.steps,
      trainSeconds: r.trainSeconds,
      parameters: r.parameters,
      data: cfg.data,
      ...r.report.trained,
      probe: undefined,
    })),
  );
  return { rows, table, figures, players };
}

// --------------------------------------------------------------------------------------------
// 03 · latents (Fig. 14)
// --------------------------------------------------------------------------------------------

export interface LatentRow {
  kind: CodecKind;
  level: 'top' | 'bottom';
  probe: ProbeResult;
}

export async function latentsStep(
  cfg: StudyConfig,
  log: (s: string) => void = () => undefined,
): Promise<{ rows: LatentRow[]; table: string; figures: string[] }> {
  const runs = await trainStudyCodecs(cfg, log);
  const ds = await openDataset(cfg.data);
  const ex = await loadExamples(ds.items);
  const clips = ex.map((e) => evaluationClips(e.audio)[0] as Float32Array);
  const labels = ex.map((e) => e.label);
  const rows: LatentRow[] = [];
  const figures: string[] = [];
  for (const r of runs) {
    const { codec } = await loadCodec(r.run);
    const lat = pooledLatents(codec, clips);
    codec.dispose();
    for (const [level, feats] of [
      ['top', lat.top],
      ['bottom', lat.bottom],
    ] as const) {
      if (!feats) continue;
      const probe = latentProbe(feats, labels);
      rows.push({ kind: r.kind, level, probe });
      figures.push(
        (
          await saveFigure(
            `03-fig14-${r.kind}-${level}`,
            {
              data: ds.classes.slice(0, 2).map((c, label) => ({
                type: 'scatter',
                mode: 'markers',
                name: c,
                x: probe.pca.filter((_, i) => labels[i] === label).map((p) => p[0]),
                y: probe.pca.filter((_, i) => labels[i] === label).map((p) => p[1]),
              })),
              layout: {
                title: { text: `${r.kind}, ${level} latents: probe ${(100 * probe.probeAccuracy).toFixed(0)} %, silhouette ${probe.silhouette.toFixed(2)}` },
                xaxis: { title: { text: `PC1 (${(100 * probe.explained[0]).toFixed(0)} %)` } },
                yaxis: { title: { text: `PC2 (${(100 * probe.explained[1]).toFixed(0)} %)` } },
              },
            },
            { dir: cfg.out, height: 320 },
          )
        ).html,
      );
    }
  }
  const table = tableMarkdown([
    ['codec', 'level', 'clips', 'linear probe (k-fold)', 'majority baseline', 'silhouette'],
    ...rows.map((r) => [
      r.kind,
      r.level,
      r.probe.n,
      `${(100 * r.probe.probeAccuracy).toFixed(1)} %`,
      `${(100 * r.probe.majorityBaseline).toFixed(1)} %`,
      r.probe.silhouette.toFixed(3),
    ]),
  ]);
  await saveResult(
    cfg,
    '03-latents',
    rows.map((r) => ({
      kind: r.kind,
      level: r.level,
      probeAccuracy: r.probe.probeAccuracy,
      majority: r.probe.majorityBaseline,
      silhouette: r.probe.silhouette,
      n: r.probe.n,
    })),
  );
  return { rows, table, figures };
}

// --------------------------------------------------------------------------------------------
// 04 · priors (Table 1, Table 2 rows 2–3)
// --------------------------------------------------------------------------------------------

export interface PriorsStep {
  perplexity: Array<{ level: 'top' | 'bottom'; report: PerplexityReport; heldOut: string }>;
  table: string;
  figures: string[];
  players: string;
}

export async function priorsStep(cfg: StudyConfig): Promise<PriorsStep> {
  const figures: string[] = [];
  // training curves of the shipped priors (their runs' JSONL logs ship beside them)
  for (const level of ['top', 'bottom'] as const) {
    const file = path.join(shippedPath(level), 'metrics.jsonl');
    if (!existsSync(file)) continue;
    const lines = (await fsp.readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; split: string; loss?: number; val_loss?: number });
    const tr = lines.filter((l) => l.split === 'train');
    const va = lines.filter((l) => l.split === 'val');
    figures.push(
      (
        await saveFigure(
          `04-curves-${level}`,
          {
            data: [
              { type: 'scatter', mode: 'lines', name: 'train', x: tr.map((l) => l.step), y: tr.map((l) => l.loss) },
              { type: 'scatter', mode: 'lines+markers', name: 'validation', x: va.map((l) => l.step), y: va.map((l) => l.val_loss) },
            ],
            layout: {
              title: { text: `${level} prior (shipped): cross-entropy (nats per code)` },
              xaxis: { title: { text: 'step' } },
              yaxis: { title: { text: 'loss' } },
            },
          },
          { dir: cfg.out, height: 280 },
        )
      ).html,
    );
  }
  // perplexity on codes of the study data, extracted with the shipped codec
  const codesDir = path.join(runsDir(cfg), 'codes-shipped-codec');
  if (!existsSync(path.join(codesDir, 'codes.json'))) await extractCodes({ codec: shippedPath('codec'), data: cfg.data, out: codesDir, mode: 'center' });
  const set = await readCodes(codesDir);
  const perplexity: PriorsStep['perplexity'] = [];
  for (const level of ['top', 'bottom'] as const) {
    const { prior } = await loadPrior(shippedPath(level), level);
    try {
      let rows = priorRows(set, level, 'val', prior.vocab);
      let heldOut = `${cfg.data} validation clips`;
      if (rows.sources.length === 0) {
        rows = priorRows(set, level, 'train', prior.vocab);
        heldOut = `${cfg.data} (all clips)`;
      }
      perplexity.push({ level, report: perplexityReport(prior, rows, { samples: cfg.small ? 1 : 2, sampling: { topK: 6, seed: 0 } }), heldOut });
    } finally {
      prior.dispose();
    }
  }
  // samples
  const models = await loadSoundModels({ codec: shippedPath('codec'), top: shippedPath('top'), bottom: shippedPath('bottom') });
  let players = '';
  try {
    for (const [label, c] of ['cat', 'dog'].entries()) {
      const r = await soundForClass(models, label, { seed: `study/${c}`, topK: 6 });
      players += audioHtml(
        r.clips[0] as Float32Array,
        SAMPLE_RATE,
        `${c}: sampled (top-k 6) in ${(r.timings.topSeconds + r.timings.bottomSeconds + r.timings.decodeSeconds).toFixed(1)} s`,
      );
      figures.push((await saveFigure(`04-sample-${c}`, melHeatmap(r.clips[0] as Float32Array, `${c}: a generated clip`), { dir: cfg.out, height: 220 })).html);
    }
  } finally {
    disposeSoundModels(models);
  }
  const table = tableMarkdown([
    ['prior', 'held-out codes', 'teacher-forced perplexity', 'own-sample perplexity (thesis measure, top-k 6)'],
    ...perplexity.map((p) => [p.level, `${p.report.heldOut} clips (${p.heldOut})`, p.report.teacherForced.toFixed(2), p.report.ownSamples.toFixed(2)]),
  ]);
  await saveResult(
    cfg,
    '04-priors',
    perplexity.map((p) => ({ level: p.level, heldOutSet: p.heldOut, ...p.report })),
  );
  return { perplexity, table, figures, players };
}

// --------------------------------------------------------------------------------------------
// 05 · classifier (Table 2 row 4)
// --------------------------------------------------------------------------------------------

export interface ClassifierStep {
  photos: number;
  zeroShot: { accuracy: number; confusion: number[][] };
  head: { accuracy: number; confusion: number[][] };
  shippedTraining: Record<string, number>;
  table: string;
  misclassified: string;
}

export async function classifierStep(cfg: StudyConfig): Promise<ClassifierStep> {
  const set = await openImageSet(cfg.images);
  const items = set.split === 'given' ? set.items.filter((i) => i.split === 'val') : set.items;
  const zero = await CatDogClassifier.load(null);
  const head = await CatDogClassifier.load(shippedPath('classifier'));
  const conf = () => [
    [0, 0],
    [0, 0],
  ];
  const cz = conf();
  const ch = conf();
  let wrong = '';
  try {
    for (let i = 0; i < items.length; i += 16) {
      const part = items.slice(i, i + 16);
      const ims = await Promise.all(part.map((it) => readImage(it.path)));
      const pz = zero.probDog(ims);
      const ph = head.probDog(ims);
      part.forEach((it, k) => {
        (cz[it.label] as number[])[(pz[k] as number) >= 0.5 ? 1 : 0]++;
        (ch[it.label] as number[])[(ph[k] as number) >= 0.5 ? 1 : 0]++;
        if (((ph[k] as number) >= 0.5 ? 1 : 0) !== it.label && wrong.length < 200_000)
          wrong += `<figure style="display:inline-block;margin:4px"><img width="112" src="data:image/png;base64,PLACEHOLDER-${i + k}"/><figcaption style="font-size:80%">${path.basename(it.path)}: P(dog) ${(ph[k] as number).toFixed(2)}</figcaption></figure>`;
      });
    }
  } finally {
    zero.dispose();
    head.dispose();
  }
  // thumbnails of the misclassified photos (PNG via ffmpeg)
  for (const m of [...wrong.matchAll(/PLACEHOLDER-(\d+)/g)]) {
    const it = items[Number(m[1])];
    if (!it) continue;
    const png = (
      await runFfmpeg(['-loglevel', 'error', '-i', it.path, '-vf', 'scale=112:-1', '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', '-'], it.path)
    ).stdout.toString('base64');
    wrong = wrong.replace(`PLACEHOLDER-${m[1]}`, png);
  }
  const acc = (c: number[][]) => ((c[0]?.[0] ?? 0) + (c[1]?.[1] ?? 0)) / Math.max(1, items.length);
  const ck = await loadCheckpoint(shippedPath('classifier'));
  for (const w of Object.values(ck.weights)) w.dispose();
  const res = {
    photos: items.length,
    zeroShot: { accuracy: acc(cz), confusion: cz },
    head: { accuracy: acc(ch), confusion: ch },
    shippedTraining: ck.meta.metrics,
  };
  await saveResult(cfg, '05-classifier', { images: cfg.images, ...res });
  const table = tableMarkdown([
    ['', 'photos', 'accuracy', 'confusion [[cat→cat, cat→dog], [dog→cat, dog→dog]]'],
    ['zero-shot Tiny Darknet (before)', items.length, `${(100 * res.zeroShot.accuracy).toFixed(1)} %`, JSON.stringify(cz)],
    ['trained head (after)', items.length, `${(100 * res.head.accuracy).toFixed(1)} %`, JSON.stringify(ch)],
    [
      'shipped head, at training (800 held-out photos)',
      800,
      `${(100 * (ck.meta.metrics['val_accuracy'] ?? Number.NaN)).toFixed(1)} % (zero-shot ${(100 * (ck.meta.metrics['zero_shot_accuracy'] ?? Number.NaN)).toFixed(1)} %)`,
      '–',
    ],
  ]);
  return { ...res, table, misclassified: wrong || '<p>none</p>' };
}

// --------------------------------------------------------------------------------------------
// 06 · generate (Fig. 12, Table 2 row 5)
// --------------------------------------------------------------------------------------------

export async function generateStep(cfg: StudyConfig): Promise<{ html: string; report: GenerationReport; table: string }> {
  const outDir = path.join(cfg.out, 'generated');
  await fsp.mkdir(outDir, { recursive: true });
  let html = '';
  const photos = (await openImageSet(path.join(projectRoot(), 'data', 'images'))).items;
  for (const p of photos) {
    const out = path.join(outDir, `${path.basename(p.path, path.extname(p.path))}.wav`);
    const r = await generate({ input: p.path, out, seed: 'study' });
    const thumb = (
      await runFfmpeg(['-loglevel', 'error', '-i', p.path, '-vf', 'scale=160:-1', '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', '-'], p.path)
    ).stdout.toString('base64');
    html += `<div style="display:inline-block;margin:6px;vertical-align:top"><img width="160" src="data:image/png;base64,${thumb}"/>${audioHtml((await readAudio(out)).audio, SAMPLE_RATE, `${r.className} (${(100 * (r.confidence ?? 1)).toFixed(0)} %), ${r.timings.total.toFixed(1)} s`)}</div>`;
  }
  // a video made from the dog photo, with its generated sound track
  const dog = photos.find((p) => p.label === 1);
  if (dog) {
    const video = path.join(outDir, 'dog-photo-video.mp4');
    await runFfmpeg(
      [
        '-loglevel',
        'error',
        '-y',
        '-loop',
        '1',
        '-t',
        '4',
        '-i',
        dog.path,
        '-vf',
        "crop='min(iw,ih)':'min(iw,ih)',scale=240:240,fps=10",
        '-c:v',
        'libx264',
        '-pix_fmt',
        'yuv420p',
        video,
      ],
      dog.path,
    );
    const withSound = path.join(outDir, 'dog-photo-video-with-sound.mp4');
    const r = await generate({ input: video, out: withSound, seed: 'study' });
    html += await videoHtml(withSound, `video → ${r.className}, ${r.clips} clip(s), ${r.timings.total.toFixed(1)} s`, 240);
  }
  const models = await loadSoundModels({ codec: shippedPath('codec'), top: shippedPath('top'), bottom: shippedPath('bottom') });
  let report: GenerationReport;
  try {
    report = await evaluateGeneration(models, { data: cfg.data, perClass: cfg.generatePerClass });
  } finally {
    disposeSoundModels(models);
  }
  await saveResult(cfg, '06-generate', report);
  const table = tableMarkdown([
    ['class', 'generated clips', 'classified as the asked class', 'FAD vs real (mel-stats)'],
    ...report.perClass.map((c) => [c.className, c.generated, `${(100 * c.classifiedAsAsked).toFixed(0)} %`, c.fad.fad.toFixed(1)]),
  ]);
  return { html, report, table };
}

// --------------------------------------------------------------------------------------------
// 07 · tables (Table 1 and Table 2, thesis beside ours)
// --------------------------------------------------------------------------------------------

export async function tablesStep(cfg: StudyConfig): Promise<{ markdown: string; html: string }> {
  const data = await readResult<DatasetSummary>(cfg, '01-data');
  const codecs = await readResult<
    Array<{ kind: string; steps: number; trainSeconds: number; parameters: number; fad: { fad: number; embedder: string }; mse: number }>
  >(cfg, '02-codecs');
  const latents = await readResult<Array<{ kind: string; level: string; probeAccuracy: number; silhouette: number }>>(cfg, '03-latents');
  const priors = await readResult<Array<{ level: string; teacherForced: number; ownSamples: number }>>(cfg, '04-priors');
  const clf = await readResult<{ zeroShot: { accuracy: number }; head: { accuracy: number }; shippedTraining: Record<string, number>; photos: number }>(
    cfg,
    '05-classifier',
  );
  const gen = await readResult<GenerationReport>(cfg, '06-generate');
  const raw = describeModel('raw-vqvae2', 'thesis');
  const top = describeModel('prior-top', 'thesis');
  const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)} %`);
  const t1 = [
    ['Table 1 (priors)', 'thesis', 'ours (thesis preset)'],
    ['encoder / decoder layers', '6 / 12', '6 / 12'],
    ['d_model, heads, feed-forward', '100, 4, 1024', '100, 4, 1024'],
    ['vocabulary', '2048 codes + specials (2052)', '2052'],
    ['Top prior: source → target', 'label → 900 (+start = 901)', 'class token → 900 (+START)'],
    ['Bottom prior: source → target', '900 → 3600 (+start = 3601)', '900 → 3600 (+START)'],
    ['parameters per prior', '5,341,084', top.parameters.toLocaleString('en-US')],
  ];
  const rawRow = codecs?.find((c) => c.kind === 'raw-vqvae2');
  const t2 = [
    ['Table 2', 'thesis', 'ours', 'where ours comes from'],
    [
      'classifier accuracy (before → after head)',
      '0.51 → 0.98 (ResNet-50)',
      clf ? `${pct(clf.shippedTraining['zero_shot_accuracy'])} → ${pct(clf.shippedTraining['val_accuracy'])}` : '–',
      'Tiny Darknet frozen + head, 800 held-out photos of the shared set (shipped head)',
    ],
    [
      'classifier on the study photos',
      '–',
      clf ? `${pct(clf.zeroShot.accuracy)} → ${pct(clf.head.accuracy)}` : '–',
      `${clf?.photos ?? '?'} photos of ${path.basename(cfg.images)}`,
    ],
    ['codec parameters', '580,641', raw.parameters.toLocaleString('en-US'), 'thesis preset (raw-audio VQ-VAE-2)'],
    [
      'codec FAD of reconstructions',
      'reported in the thesis',
      rawRow ? `${rawRow.fad.fad.toFixed(1)} (${cfg.preset}, ${rawRow.steps} steps)` : '–',
      `${cfg.data}, mel-stats-v1 embedder`,
    ],
    ['prior parameters', '5,341,084', top.parameters.toLocaleString('en-US'), 'thesis preset'],
    [
      'Top prior perplexity (held-out / own samples)',
      'reported in the thesis',
      priors?.find((p) => p.level === 'top')
        ? `${priors.find((p) => p.level === 'top')!.teacherForced.toFixed(2)} / ${priors.find((p) => p.level === 'top')!.ownSamples.toFixed(2)}`
        : '–',
      'shipped quick prior',
    ],
    [
      'Bottom prior perplexity (held-out / own samples)',
      'reported in the thesis',
      priors?.find((p) => p.level === 'bottom')
        ? `${priors.find((p) => p.level === 'bottom')!.teacherForced.toFixed(2)} / ${priors.find((p) => p.level === 'bottom')!.ownSamples.toFixed(2)}`
        : '–',
      'shipped quick prior',
    ],
    [
      'training steps (codec / priors / head)',
      '10,920 / 10,080 / 160',
      `${rawRow?.steps ?? '–'} (study) · shipped: 1,500 / 150+100 / 160`,
      'CPU, quick presets',
    ],
    [
      'generated clips classified as the asked class',
      '– ("mostly like noise")',
      gen ? pct(gen.fidelity) : '–',
      `audio classifier ${gen ? pct(gen.audioClassifier.heldOutAccuracy) : '?'} on real held-out clips`,
    ],
  ];
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
