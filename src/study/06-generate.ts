/** Notebook 06 · generate (Fig. 12, Table 2 row 5): photo → sound, video → MP4, and generation measured. */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SAMPLE_RATE } from '../audio/constants';
import { readAudio } from '../audio/decode';
import { runFfmpeg } from '../audio/ffmpeg';
import { evaluateGeneration, type GenerationReport } from '../pipeline/evaluate';
import { generate } from '../pipeline/generate';
import { shippedPath } from '../pipeline/models';
import { disposeSoundModels, loadSoundModels } from '../pipeline/sound';
import { projectRoot } from '../util/project';
import { type ImageItem, openImageSet } from '../vision/images';
import type { StudyConfig } from './config';
import { audioHtml, tableMarkdown, thumbnailBase64, videoHtml } from './html';
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

export async function generateStep(cfg: StudyConfig): Promise<{ html: string; report: GenerationReport; table: string }> {
  const outDir = path.join(cfg.out, 'generated');
  await fsp.mkdir(outDir, { recursive: true });
  const photos = (await openImageSet(path.join(projectRoot(), 'data', 'images'))).items;
  const html = await generatedHtml(photos, outDir);
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
