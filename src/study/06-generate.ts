/**
 * Notebook 06 · generate (Fig. 12, Table 2 row 5): photo → sound, video → MP4, and generation measured
 * by the 3-way judge for the default generator (mel-flow) and the thesis pipeline side by side.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SAMPLE_RATE } from '../audio/constants';
import { readAudio } from '../audio/decode';
import { runFfmpeg } from '../audio/ffmpeg';
import { evaluateGeneration, formatGenerationEvaluation, type GenerationEvaluation } from '../pipeline/evaluate-generation';
import { generate } from '../pipeline/generate';
import { GENERATOR_KINDS, loadGenerator, loadJudge, type GeneratorKind } from '../pipeline/generators';
import { projectRoot } from '../util/project';
import { type ImageItem, openImageSet } from '../vision/images';
import type { StudyConfig } from './config';
import { audioHtml, thumbnailBase64, videoHtml } from './html';
import { saveResult } from './results';

/** Each photo with its generated sound, then a video made from the dog photo with its generated track. */
async function generatedHtml(photos: ImageItem[], outDir: string): Promise<string> {
  let html = '';
  for (const p of photos) {
    const out = path.join(outDir, `${path.basename(p.path, path.extname(p.path))}.wav`);
    const r = await generate({ input: p.path, out, seed: 'study' });
    const thumb = await thumbnailBase64(p.path, 160);
    const caption = `${r.className} (${(100 * (r.confidence ?? 1)).toFixed(0)} %), ${r.timings.total.toFixed(1)} s`;
    const player = audioHtml((await readAudio(out)).audio, SAMPLE_RATE, caption);
    html += `<div style="display:inline-block;margin:6px;vertical-align:top"><img width="160" src="data:image/png;base64,${thumb}"/>${player}</div>`;
  }
  const dog = photos.find((p) => p.label === 1);
  if (dog) {
    const video = path.join(outDir, 'dog-photo-video.mp4');
    const still = "crop='min(iw,ih)':'min(iw,ih)',scale=240:240,fps=10";
    await runFfmpeg(
      ['-loglevel', 'error', '-y', '-loop', '1', '-t', '4', '-i', dog.path, '-vf', still, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', video],
      dog.path,
    );
    const withSound = path.join(outDir, 'dog-photo-video-with-sound.mp4');
    const r = await generate({ input: video, out: withSound, seed: 'study' });
    html += await videoHtml(withSound, `video → ${r.className}, ${r.clips} clip(s), ${r.timings.total.toFixed(1)} s`, 240);
  }
  return html;
}

/** What notebook 06 saves: the judge's evaluation of each generator on the study's data. */
export type GenerationResult = Record<GeneratorKind, GenerationEvaluation>;

/** Two generated clips per class from each generator, as audio players. */
async function examplesHtml(): Promise<string> {
  let html = '';
  for (const kind of GENERATOR_KINDS) {
    const gen = await loadGenerator(kind);
    try {
      html += `<h4>${kind === 'mel-flow' ? 'default generator (mel-flow)' : 'thesis pipeline (Top → Bottom → VQ-VAE-2)'}</h4>`;
      for (const [label, name] of ['cat', 'dog'].entries()) {
        const r = await gen.generate(label, { clips: 2, seed: `study/${name}` });
        for (const c of r.clips) html += audioHtml(c, SAMPLE_RATE, `${name} · ${kind}`);
      }
    } finally {
      gen.dispose();
    }
  }
  return html;
}

/**
 * The evaluation on the thesis' recordings, as committed (`eval:generation -- --data
 * ../shared/datasets/audio-cats-and-dogs --n 32 --json`, saved as docs/results/eval-generation-KIND.json):
 * the study's own run uses the small embedded data set. Null where no report is committed.
 */
export async function measuredReports(): Promise<Record<GeneratorKind, string | null>> {
  const out = {} as Record<GeneratorKind, string | null>;
  for (const kind of GENERATOR_KINDS) {
    const file = path.join(projectRoot(), 'docs', 'results', `eval-generation-${kind}.json`);
    const text = await fsp.readFile(file, 'utf8').catch(() => null);
    out[kind] = text === null ? null : `${formatGenerationEvaluation(JSON.parse(text) as GenerationEvaluation)}\n\n(${path.relative(projectRoot(), file)})`;
  }
  return out;
}

export async function generateStep(cfg: StudyConfig): Promise<{ html: string; report: GenerationResult; tables: Record<GeneratorKind, string> }> {
  const outDir = path.join(cfg.out, 'generated');
  await fsp.mkdir(outDir, { recursive: true });
  const photos = (await openImageSet(path.join(projectRoot(), 'data', 'images'))).items;
  const html = (await generatedHtml(photos, outDir)) + (await examplesHtml());
  const { judge, trainIds } = await loadJudge();
  const report = {} as GenerationResult;
  const tables = {} as Record<GeneratorKind, string>;
  try {
    for (const kind of GENERATOR_KINDS) {
      const gen = await loadGenerator(kind);
      try {
        report[kind] = await evaluateGeneration(gen, judge, { data: cfg.data, perClass: cfg.generatePerClass, judgeTrainIds: trainIds });
        tables[kind] = formatGenerationEvaluation(report[kind]);
      } finally {
        gen.dispose();
      }
    }
  } finally {
    judge.dispose();
  }
  await saveResult(cfg, '06-generate', report);
  return { html, report, tables };
}
