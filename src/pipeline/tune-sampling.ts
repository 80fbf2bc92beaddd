/**
 * Choosing a generator's sampling settings (guidance, smoothing, layout, …) without looking at the
 * held-out recordings: each candidate generates clips per class, scored by FAD against the
 * generator's own *training* recordings in the judge's embedding, with the judge's recognition
 * beside it. The held-out recordings stay for `eval:generation`, which reports the chosen settings.
 *
 * Seeds differ from eval:generation's (`…/tune/…` vs `…/eval/…`), so the clips a choice is made on
 * are not the clips it is reported on.
 */
import { evaluationClips } from '../data/batches';
import { loadExamples } from '../data/dataset';
import { openDataset } from '../data/open';
import { fad } from '../metrics/fad';
import { judgeEmbedder, recognition } from '../metrics/recognition';
import type { SoundClassifier } from '../models/sound-classifier';
import type { GenerateSoundOptions, SoundGenerator } from './generators';

export interface SamplingCandidate {
  name: string;
  options: GenerateSoundOptions;
}

export interface SamplingScore {
  name: string;
  options: GenerateSoundOptions;
  perClass: Array<{ className: string; fadVsTraining: number; recognised: number; neither: number }>;
  /** Sum over classes of the FAD against the training recordings (lower is better). */
  fadSum: number;
}

const CLASS_NAMES = ['cat', 'dog'];

/** Score every candidate (in the given order); the best is the one with the lowest `fadSum`. */
export async function scoreSamplingOnTraining(
  gen: SoundGenerator,
  judge: SoundClassifier,
  o: { data: string; perClass: number; candidates: readonly SamplingCandidate[]; seed?: number; log?: (line: string) => void },
): Promise<SamplingScore[]> {
  if (!gen.trainIds || gen.trainIds.length === 0)
    throw new Error(`tune sampling: the generator (${Object.values(gen.sources).join(', ')}) does not record the recordings it trained on`);
  const ds = await openDataset(o.data);
  const ids = new Set(gen.trainIds);
  const items = ds.items.filter((i) => i.label < 2 && ids.has(i.id));
  if (items.length === 0) throw new Error(`tune sampling: ${o.data} holds none of the generator's training recordings`);
  const training = await loadExamples(items);
  const embedder = judgeEmbedder(judge);
  const scores: SamplingScore[] = [];
  for (const c of o.candidates) {
    const perClass: SamplingScore['perClass'] = [];
    for (const label of [0, 1]) {
      const className = CLASS_NAMES[label] as string;
      const real = training.filter((e) => e.label === label).map((e) => evaluationClips(e.audio, { mode: 'center' })[0] as Float32Array);
      if (real.length < 2) throw new Error(`tune sampling: ${o.data} has ${real.length} training ${className} recording(s); FAD needs at least 2`);
      o.log?.(`${c.name}: ${o.perClass} ${className} clips`);
      const g = await gen.generate(label, { ...c.options, clips: o.perClass, seed: `${o.seed ?? 0}/tune/${className}` });
      const f = await fad(real, g.clips, embedder, { reference: `training ${className}`, test: `${c.name} ${className}` });
      const r = recognition(judge, g.clips, label);
      perClass.push({ className, fadVsTraining: f.fad, recognised: r.recognised, neither: r.neither });
    }
    scores.push({ name: c.name, options: c.options, perClass, fadSum: perClass.reduce((s, p) => s + p.fadVsTraining, 0) });
  }
  return scores;
}

/** The scores as a Markdown table, in the given order. */
export function formatSamplingScores(scores: readonly SamplingScore[]): string {
  const head = `| settings | FAD vs training (sum) | ${CLASS_NAMES.map((c) => `${c}: FAD / recognised / "neither"`).join(' | ')} |`;
  const rule = `|---|---:|${CLASS_NAMES.map(() => '---:|').join('')}`;
  const rows = scores.map(
    (s) =>
      `| ${s.name} | ${s.fadSum.toFixed(1)} | ${s.perClass.map((p) => `${p.fadVsTraining.toFixed(1)} / ${p.recognised.toFixed(2)} / ${p.neither.toFixed(2)}`).join(' | ')} |`,
  );
  return [head, rule, ...rows].join('\n');
}
