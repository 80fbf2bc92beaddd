/** Notebook 01 · data: clips and seconds per class, a waveform, a log-mel spectrogram and a player of each class. */
import { SAMPLE_RATE } from '../audio/constants';
import { evaluationClips } from '../data/batches';
import { loadExamples } from '../data/dataset';
import { openDataset } from '../data/open';
import { type DatasetSummary, summarizeDataset, summaryMarkdown } from '../data/summary';
import type { StudyConfig } from './config';
import { durationsFigure, melHeatmap, waveformFigure } from './figures';
import { audioHtml, saveFigure } from './html';
import { saveResult } from './results';

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
  const seconds = ds.classes.map((name, label) => ({
    name,
    seconds: examples.filter((e) => e.label === label).map((e) => e.audio.length / SAMPLE_RATE),
  }));
  const figures = [(await saveFigure('01-durations', durationsFigure(seconds), { dir: cfg.out })).html];
  let players = '';
  for (const [label, c] of ds.classes.entries()) {
    const ex = examples.find((e) => e.label === label);
    if (!ex) continue;
    const clip = evaluationClips(ex.audio)[0] as Float32Array;
    const waveform = waveformFigure(clip, `${c}: ${ex.id} (7.2-s clip, 4 kHz)`);
    figures.push((await saveFigure(`01-waveform-${c}`, waveform, { dir: cfg.out, height: 220 })).html);
    figures.push((await saveFigure(`01-logmel-${c}`, melHeatmap(clip, `${c}: log-mel spectrogram`), { dir: cfg.out, height: 260 })).html);
    players += audioHtml(ex.audio, SAMPLE_RATE, `${c}: ${ex.id}`);
  }
  await saveResult(cfg, '01-data', summary);
  return { summary, table: summaryMarkdown(summary), figures, players };
}
