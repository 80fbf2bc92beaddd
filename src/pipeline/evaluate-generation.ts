/**
 * `npm run eval:generation`: does a generator make sounds the project's own 3-way judge
 * (cat / dog / neither) recognises as the asked class, close to real held-out recordings in the
 * judge's embedding, and not copies of its training recordings?
 *
 * Every number comes with references measured in the same run, so the reader can see the metric can
 * fail: real held-out clips (the ceiling), the same clips through log-mel → Griffin–Lim (the vocoder's
 * ceiling), white noise and silence (must be called "neither"), and held-out clips' own similarity to
 * the training recordings (the memorisation check's baseline: the data set has near-duplicates).
 */
import { CLIP_SAMPLES } from '../audio/constants';
import { DEFAULT_MEL, logMelSpectrogram, logMelToAudio } from '../audio/mel';
import { normalize } from '../audio/clips';
import { evaluationClips } from '../data/batches';
import { loadExamples, splitDataset, type AudioExample, type AudioItem } from '../data/dataset';
import { neitherClip } from '../data/negatives';
import { openDataset } from '../data/open';
import type { SoundClassifier } from '../models/sound-classifier';
import { fad, type FadResult } from '../metrics/fad';
import { closerThan, judgeEmbedder, median, memorisationView, nearestTrainingSimilarity, recognition, type Closeness } from '../metrics/recognition';
import { Rng } from '../util/rng';
import type { GenerateSoundOptions, SoundGenerator } from './generators';

export interface EvaluationRow {
  /** What was judged ("generated cat", "real held-out dog", "white noise", …). */
  audio: string;
  className: string | null;
  clips: number;
  recognised: number | null;
  neither: number;
  /** FAD against the real held-out clips of the class (judge embedding). */
  fad: number | null;
  /**
   * Best cross-correlation with any training recording: median, max, every clip's value, and for
   * generated clips how much closer they are than the held-out clips of their class (`closerThan`).
   */
  nearestTrain: { median: number; max: number; values?: number[]; closerThanHeldOut?: Closeness } | null;
}

export interface GenerationEvaluation {
  data: string;
  generator: { kind: string; sources: Record<string, string> };
  judge: string;
  heldOut: { recordings: number; perClass: Record<string, number>; excludedAsTraining: number };
  rows: EvaluationRow[];
  /** Per class: generated vs held-out FAD, and held-out vs training FAD (the target: within 2×). */
  fad: Array<{ className: string; generated: FadResult; heldOutVsTraining: FadResult }>;
  secondsPerClip: number;
}

export interface EvaluateGenerationOptions {
  data: string;
  perClass: number;
  seed?: number;
  sampling?: GenerateSoundOptions;
  /** Ids the judge was trained on (excluded from the held-out set). */
  judgeTrainIds?: readonly string[] | null;
  /** Skip the memorisation check (slow: ~1 s per clip). */
  skipMemorisation?: boolean;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

const CLASS_NAMES = ['cat', 'dog'];

export async function evaluateGeneration(gen: SoundGenerator, judge: SoundClassifier, o: EvaluateGenerationOptions): Promise<GenerationEvaluation> {
  const log = o.log ?? (() => undefined);
  const ds = await openDataset(o.data);
  const excluded = new Set([...(gen.trainIds ?? []), ...(o.judgeTrainIds ?? [])]);
  const items = ds.items.filter((i) => i.label < 2);
  const known = items.filter((i) => excluded.has(i.id));
  let heldOutItems: AudioItem[];
  let trainItems: AudioItem[];
  if (known.length > 0) {
    // the same data set the models trained on: judge only what neither of them saw
    heldOutItems = items.filter((i) => !excluded.has(i.id));
    trainItems = items.filter((i) => (gen.trainIds ?? []).includes(i.id));
    if (trainItems.length === 0) trainItems = known;
  } else {
    // another data set: all of it is held out; the memorisation baseline uses its own split
    heldOutItems = items;
    trainItems = splitDataset(ds, { seed: o.seed ?? 0 }).train.filter((i) => i.label < 2);
  }
  const heldOut = await loadExamples(heldOutItems);
  const training = await loadExamples(trainItems);
  const centre = (ex: AudioExample[]) => ex.map((e) => evaluationClips(e.audio, { mode: 'center' })[0] as Float32Array);
  const rows: EvaluationRow[] = [];
  const trainViews = o.skipMemorisation ? [] : training.map((e) => memorisationView(normalize(e.audio, { mode: 'peak', targetDb: -1 })));
  const nearest = (clips: Float32Array[]) => {
    if (o.skipMemorisation) return null;
    const s = nearestTrainingSimilarity(clips, trainViews);
    return { median: median(s), max: Math.max(...s), values: s };
  };
  const embedder = judgeEmbedder(judge);
  const fads: GenerationEvaluation['fad'] = [];
  let genSeconds = 0;
  let genClips = 0;
  const perClass: Record<string, number> = {};
  for (const label of [0, 1]) {
    const className = CLASS_NAMES[label] as string;
    const real = centre(heldOut.filter((e) => e.label === label));
    const trainReal = centre(training.filter((e) => e.label === label));
    perClass[className] = real.length;
    if (real.length < 2) throw new Error(`eval:generation: ${o.data} has ${real.length} held-out ${className} recording(s); FAD needs at least 2`);
    log(`${className}: judging ${real.length} held-out recordings and their Griffin–Lim resynthesis`);
    const r = recognition(judge, real, label);
    const realNearest = nearest(real);
    rows.push({
      audio: `real held-out ${className}`,
      className,
      clips: real.length,
      recognised: r.recognised,
      neither: r.neither,
      fad: null,
      nearestTrain: realNearest,
    });
    const gl = real.map((c, i) =>
      normalize(logMelToAudio(logMelSpectrogram(c, DEFAULT_MEL), CLIP_SAMPLES, DEFAULT_MEL, { seed: i }), { mode: 'peak', targetDb: -1 }),
    );
    const rg = recognition(judge, gl, label);
    rows.push({
      audio: `real held-out ${className} → log-mel → Griffin–Lim`,
      className,
      clips: gl.length,
      recognised: rg.recognised,
      neither: rg.neither,
      fad: null,
      nearestTrain: null,
    });

    if (gen.layoutCeiling) {
      // where the gap is: real training events through the same layout and vocoder (a perfect event model)
      log(`${className}: the layout ceiling (real training events, same layout and vocoder)`);
      const trainAudio = training.filter((e) => e.label === label).map((e) => normalize(e.audio, { mode: 'peak', targetDb: -1 }));
      const ceiling = gen.layoutCeiling(label, trainAudio, {
        clips: o.perClass,
        seed: o.seed ?? 0,
        ...(o.sampling?.layout !== undefined ? { layout: o.sampling.layout } : {}),
      });
      const rc = recognition(judge, ceiling, label);
      const fc = await fad(real, ceiling, embedder, { reference: `real held-out ${className}`, test: `training events, same layout` });
      rows.push({
        audio: `real training ${className} events → same layout → Griffin–Lim`,
        className,
        clips: ceiling.length,
        recognised: rc.recognised,
        neither: rc.neither,
        fad: fc.fad,
        nearestTrain: null,
      });
    }
    log(`${className}: generating ${o.perClass} clips with ${gen.kind}`);
    const t0 = performance.now();
    const g = await gen.generate(label, { ...o.sampling, clips: o.perClass, seed: `${o.seed ?? 0}/eval/${className}` });
    genSeconds += (performance.now() - t0) / 1000;
    genClips += g.clips.length;
    const rr = recognition(judge, g.clips, label);
    const f = await fad(real, g.clips, embedder, { reference: `real held-out ${className}`, test: `generated ${className}` });
    const fRef = await fad(real, trainReal, embedder, { reference: `real held-out ${className}`, test: `real training ${className}` });
    fads.push({ className, generated: f, heldOutVsTraining: fRef });
    log(`${className}: memorisation check`);
    const genNearest = nearest(g.clips);
    rows.push({
      audio: `generated ${className}`,
      className,
      clips: g.clips.length,
      recognised: rr.recognised,
      neither: rr.neither,
      fad: f.fad,
      nearestTrain:
        genNearest && realNearest?.values
          ? { ...genNearest, closerThanHeldOut: closerThan(genNearest.values ?? [], realNearest.values, { seed: `${o.seed ?? 0}/${className}` }) }
          : genNearest,
    });
  }
  // the metric must be able to fail: noise and silence
  const rng = new Rng(`eval/noise/${o.seed ?? 0}`);
  for (const kind of ['white', 'pink', 'silence'] as const) {
    const clips = Array.from({ length: 8 }, () => neitherClip(kind, CLIP_SAMPLES, rng));
    const r = recognition(judge, clips, -1);
    rows.push({
      audio: `${kind} noise`.replace('silence noise', 'silence'),
      className: null,
      clips: clips.length,
      recognised: null,
      neither: r.neither,
      fad: null,
      nearestTrain: null,
    });
  }
  return {
    data: o.data,
    generator: { kind: gen.kind, sources: gen.sources },
    judge: embedder.name,
    heldOut: { recordings: heldOut.length, perClass, excludedAsTraining: known.length },
    rows,
    fad: fads,
    secondsPerClip: genSeconds / Math.max(1, genClips),
  };
}

function nearestCell(n: EvaluationRow['nearestTrain']): string {
  if (!n) return '–';
  const c = n.closerThanHeldOut;
  return `${n.median.toFixed(2)} / ${n.max.toFixed(2)}${c ? ` (${c.p.toFixed(2)} [${c.low.toFixed(2)}, ${c.high.toFixed(2)}])` : ''}`;
}

/** The report as a Markdown table (what the command prints and the notebook shows). */
export function formatGenerationEvaluation(e: GenerationEvaluation): string {
  const pct = (v: number | null) => (v === null ? '–' : v.toFixed(2));
  const lines = [
    `data ${e.data}: ${e.heldOut.recordings} held-out recordings (${Object.entries(e.heldOut.perClass)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}); generator ${e.generator.kind} (${Object.values(e.generator.sources).join(', ')})`,
    '',
    '| audio | clips | recognised as its class | called "neither" | FAD vs held-out (judge) | nearest training clip: median / max (P closer than held-out [95 %]) |',
    '|---|---:|---:|---:|---:|---:|',
    ...e.rows.map(
      (r) =>
        `| ${r.audio} | ${r.clips} | ${pct(r.recognised)} | ${pct(r.neither)} | ${r.fad === null ? '–' : r.fad.toFixed(1)} | ${nearestCell(r.nearestTrain)} |`,
    ),
    '',
    ...e.fad.map(
      (f) =>
        `FAD ${f.className}: generated vs held-out ${f.generated.fad.toFixed(1)}; held-out vs training ${f.heldOutVsTraining.fad.toFixed(1)} (ratio ${(f.generated.fad / f.heldOutVsTraining.fad).toFixed(2)})`,
    ),
    `${e.secondsPerClip.toFixed(2)} s per generated 7.2-s clip`,
  ];
  return lines.join('\n');
}
