/**
 * The page: a photo or a video → cat/dog (backbone + head, median vote over video frames) → a sound
 * from the mel-flow generator (class → flow-matching log-mel events → composed 7.2-s clip → NNLS +
 * Griffin–Lim → 4 kHz) — the project's own code from src/, run in the browser. The result is also
 * exposed as `window.soundtrack` for the browser test (web/test/browser.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { peak, rms } from '../../src/audio/clips';
import { CLIP_SECONDS, SAMPLE_RATE } from '../../src/audio/constants';
import { logMelSpectrogram, type Spectrogram } from '../../src/audio/mel';
import { melSoundForClass, type MelSoundStage } from '../../src/pipeline/mel-sound';
import { pairField } from '../../src/sample/mel-flow';
import type { RgbImage } from '../../src/vision/backbone-model';
import { CLASS_NAMES, predict, probDog, voteFrames, type FramePrediction, type Prediction } from '../../src/vision/predict';
import { startBackend, type BrowserBackend } from './backend';
import { decodeImage, MediaError, mediaKind, videoFrames, type MediaKind } from './media';
import { loadPageModels, type PageModels } from './models';
import { wavBytes } from './wav';

type Stage = 'load' | 'classify' | 'flow' | 'vocoder';

export interface PageResult {
  source: MediaKind;
  name: string;
  /** The label the sound was made for (the override when one was chosen). */
  label: number;
  className: string;
  /** What the classifier said (for a video: the median vote). */
  predicted: Prediction & { vote?: 'median'; agreement?: number };
  frames: FramePrediction[];
  overridden: boolean;
  seed: number;
  sampleRate: number;
  samples: number;
  rms: number;
  peak: number;
  /** The AudioBuffer that plays it. */
  buffer: { sampleRate: number; length: number; duration: number };
  /** Seconds per stage of this run. */
  stages: Partial<Record<Stage, number>>;
  /** From the input event to the sound being ready, ms (includes waiting for the models on a cold load). */
  firstSoundMs: number;
}

export interface PageState {
  state: 'loading' | 'ready' | 'working' | 'done' | 'error';
  backend: BrowserBackend | null;
  error: string | null;
  result: PageResult | null;
  /** Runs finished (done or error) since the page loaded. */
  runs: number;
  /** Where playback is: the video's clock and the generated track's, seconds. */
  playback(): { playing: boolean; videoTime: number | null; audioTime: number | null };
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
};
const ui = {
  backend: $('backend'),
  drop: $('drop'),
  file: $<HTMLInputElement>('file'),
  examples: $('examples'),
  cls: $<HTMLSelectElement>('cls'),
  seed: $<HTMLInputElement>('seed'),
  again: $<HTMLButtonElement>('again'),
  status: $('status'),
  error: $('error'),
  result: $('result'),
  verdict: $('verdict'),
  frames: $('frames'),
  video: $<HTMLVideoElement>('video'),
  play: $<HTMLButtonElement>('play'),
  stop: $<HTMLButtonElement>('stop'),
  download: $<HTMLAnchorElement>('download'),
  spec: $<HTMLCanvasElement>('spec'),
  about: $('about'),
  credits: $('credits'),
};

const page: PageState = {
  state: 'loading',
  backend: null,
  error: null,
  result: null,
  runs: 0,
  playback: () => ({ playing: player.playing, videoTime: ui.video.hidden ? null : ui.video.currentTime, audioTime: player.position() }),
};
(window as unknown as { soundtrack: PageState }).soundtrack = page;

// ---- progress ------------------------------------------------------------------------------

const STAGES: Stage[] = ['load', 'classify', 'flow', 'vocoder'];
const stageStart = new Map<Stage, number>();

function setStage(s: Stage, fraction: number, seconds?: number): void {
  const bar = $<HTMLProgressElement>(`p-${s}`);
  bar.value = fraction;
  const t = $<HTMLOutputElement>(`t-${s}`);
  if (seconds !== undefined) t.value = `${seconds.toFixed(2)} s`;
  else if (fraction === 0) t.value = '';
  else t.value = '…';
}

function startStage(s: Stage): void {
  stageStart.set(s, performance.now());
  setStage(s, 0);
  $(`t-${s}`).textContent = '…';
}

function endStage(s: Stage): number {
  const sec = (performance.now() - (stageStart.get(s) ?? performance.now())) / 1000;
  setStage(s, 1, sec);
  return sec;
}

/** Let the browser paint (progress bars) before the next piece of blocking work. */
const repaint = () => new Promise<void>((r) => setTimeout(r, 0));

function status(msg: string): void {
  ui.status.textContent = msg;
}

function showError(msg: string): void {
  page.error = msg;
  page.state = 'error';
  ui.error.textContent = msg;
  ui.error.hidden = false;
  status('Stopped: see the message below.');
}

function clearError(): void {
  page.error = null;
  ui.error.hidden = true;
  ui.error.textContent = '';
}

function setBusy(busy: boolean): void {
  ui.result.setAttribute('aria-busy', String(busy));
  ui.file.disabled = busy;
  ui.drop.setAttribute('aria-disabled', String(busy));
  for (const b of ui.examples.querySelectorAll('button')) b.disabled = busy;
  ui.again.disabled = busy || current === null;
}

// ---- playback (Web Audio; a video plays muted with the generated track locked to its clock) --

class Player {
  private ctx: AudioContext | null = null;
  private buffer: AudioBuffer | null = null;
  private node: AudioBufferSourceNode | null = null;
  private startedAt = 0;
  private offset = 0;
  playing = false;

  context(): AudioContext {
    this.ctx ??= new AudioContext();
    return this.ctx;
  }

  set(samples: Float32Array, sampleRate: number): AudioBuffer {
    this.stop();
    const b = this.context().createBuffer(1, samples.length, sampleRate);
    b.getChannelData(0).set(samples);
    this.buffer = b;
    return b;
  }

  /** Start the track at `offset` seconds. */
  async start(offset = 0): Promise<void> {
    if (!this.buffer) return;
    const ctx = this.context();
    if (ctx.state === 'suspended') await ctx.resume();
    this.halt();
    const node = ctx.createBufferSource();
    node.buffer = this.buffer;
    node.connect(ctx.destination);
    node.onended = () => {
      if (this.node === node) {
        this.node = null;
        this.playing = false;
        syncButtons();
      }
    };
    this.offset = Math.min(offset, this.buffer.duration);
    this.startedAt = ctx.currentTime;
    node.start(0, this.offset);
    this.node = node;
    this.playing = true;
    syncButtons();
  }

  private halt(): void {
    if (this.node) {
      const n = this.node;
      this.node = null;
      n.onended = null;
      try {
        n.stop();
      } catch {
        // already stopped
      }
      n.disconnect();
    }
  }

  stop(): void {
    this.halt();
    this.playing = false;
    syncButtons();
  }

  /** Seconds into the track now (null when not playing). */
  position(): number | null {
    if (!this.playing || !this.ctx) return null;
    return this.offset + (this.ctx.currentTime - this.startedAt);
  }
}
const player = new Player();

function syncButtons(): void {
  const has = page.result !== null && page.state === 'done';
  ui.play.disabled = !has;
  ui.stop.disabled = !has || !(player.playing || !ui.video.paused);
}

ui.video.addEventListener('play', () => void player.start(ui.video.currentTime));
ui.video.addEventListener('seeked', () => {
  if (!ui.video.paused) void player.start(ui.video.currentTime);
});
ui.video.addEventListener('pause', () => player.stop());
ui.video.addEventListener('ended', () => player.stop());

ui.play.addEventListener('click', () => {
  if (!ui.video.hidden) {
    ui.video.currentTime = 0;
    void ui.video.play().catch((e: Error) => showError(`The video cannot play: ${e.message}`));
  } else void player.start(0);
});
ui.stop.addEventListener('click', () => {
  if (!ui.video.hidden) ui.video.pause();
  player.stop();
});

// ---- drawing -------------------------------------------------------------------------------

/** A perceptual dark-to-bright colour ramp (approximately magma). */
function ramp(v: number): [number, number, number] {
  const stops: Array<[number, number, number]> = [
    [0, 0, 4],
    [59, 15, 112],
    [140, 41, 129],
    [222, 73, 104],
    [254, 159, 109],
    [252, 253, 191],
  ];
  const x = Math.max(0, Math.min(1, v)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i] as [number, number, number];
  const b = stops[i + 1] as [number, number, number];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

function drawSpectrogram(spec: Spectrogram): void {
  const { frames, bins, data } = spec;
  let hi = -Infinity;
  for (const v of data) hi = Math.max(hi, v);
  const lo = hi - Math.log(10 ** (80 / 20)); // 80 dB of range
  const img = new ImageData(frames, bins);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < bins; m++) {
      const [r, g, b] = ramp(((data[t * bins + m] as number) - lo) / (hi - lo));
      const k = ((bins - 1 - m) * frames + t) * 4;
      img.data[k] = r;
      img.data[k + 1] = g;
      img.data[k + 2] = b;
      img.data[k + 3] = 255;
    }
  }
  const off = document.createElement('canvas');
  off.width = frames;
  off.height = bins;
  off.getContext('2d')?.putImageData(img, 0, 0);
  ui.spec.width = Math.max(902, frames * 2);
  ui.spec.height = 256;
  const ctx = ui.spec.getContext('2d');
  if (!ctx) return;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, ui.spec.width, ui.spec.height);
  ui.spec.setAttribute('aria-label', `log-mel spectrogram of the generated sound: ${(frames / (SAMPLE_RATE / 64)).toFixed(1)} s, 64 mel bands`);
}

function showFrames(frames: Array<{ canvas: HTMLCanvasElement; p: FramePrediction | Prediction; time: number | null }>): void {
  ui.frames.replaceChildren(
    ...frames.map(({ canvas, p, time }) => {
      const fig = document.createElement('figure');
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `${time === null ? 'photo' : `frame at ${time.toFixed(1)} s`}`);
      const cap = document.createElement('figcaption');
      cap.className = p.className;
      cap.textContent = `${time === null ? 'photo' : `${time.toFixed(1)} s`} · ${p.className} ${(100 * p.probability).toFixed(0)} %`;
      fig.append(canvas, cap);
      return fig;
    }),
  );
}

// ---- the run -------------------------------------------------------------------------------

let models: Promise<PageModels> | null = null;
let modelsLoaded = false;

interface Classified {
  kind: MediaKind;
  name: string;
  prediction: Prediction & { vote?: 'median'; agreement?: number };
  frames: FramePrediction[];
  durationSeconds: number | null;
  /** null when reused ("Make the sound again"). */
  classifySeconds: number | null;
}
/** The last classified input ("Make the sound again" reuses it). */
let current: Classified | null = null;
let busy = false;
let objectUrl: string | null = null;

async function classify(m: PageModels, blob: Blob, name: string): Promise<Classified> {
  const kind = mediaKind({ name, type: blob.type });
  const size = m.backbone.spec.inputSize;
  startStage('classify');
  await repaint();
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = null;
  if (kind === 'image') {
    ui.video.hidden = true;
    ui.video.removeAttribute('src');
    const { image, canvas } = await decodeImage(blob, name, size);
    const p = predict(probDog(m.backbone, m.head, [image])[0] as number);
    showFrames([{ canvas, p, time: null }]);
    return { kind, name, prediction: p, frames: [], durationSeconds: null, classifySeconds: endStage('classify') };
  }
  objectUrl = URL.createObjectURL(blob);
  ui.video.hidden = false;
  const v = await videoFrames(ui.video, objectUrl, name, size);
  const images: RgbImage[] = v.frames.map((f) => f.image);
  const vote = voteFrames(
    probDog(m.backbone, m.head, images),
    v.frames.map((f) => f.time),
    'median',
  );
  showFrames(v.frames.map((f, i) => ({ canvas: f.canvas, p: vote.frames[i] as FramePrediction, time: f.time })));
  const classifySeconds = endStage('classify');
  return {
    kind,
    name,
    prediction: { label: vote.label, className: vote.className, probability: vote.probability, pDog: vote.pDog, vote: 'median', agreement: vote.agreement },
    frames: vote.frames,
    durationSeconds: v.durationSeconds,
    classifySeconds,
  };
}

async function generate(m: PageModels, c: Classified, t0: number): Promise<void> {
  const override = ui.cls.value === 'auto' ? null : Number(ui.cls.value);
  const label = override ?? c.prediction.label;
  const seedRaw = Number(ui.seed.value);
  const seed = Number.isInteger(seedRaw) && seedRaw >= 0 ? seedRaw : 0;
  ui.seed.value = String(seed);
  const clips = c.durationSeconds ? Math.min(4, Math.max(1, Math.ceil(c.durationSeconds / CLIP_SECONDS))) : 1;
  status(`Making a ${CLASS_NAMES[label]} sound (seed ${seed}${clips > 1 ? `, ${clips} clips for the video's ${c.durationSeconds?.toFixed(1)} s` : ''})…`);
  const times: Partial<Record<Stage, number>> = {};
  let inVocoder = false;
  const onProgress = async (s: MelSoundStage, f: number) => {
    if (s === 'flow') setStage('flow', f);
    else {
      if (!inVocoder) {
        endStage('flow');
        startStage('vocoder');
        inVocoder = true;
      }
      if (s === 'vocoder') setStage('vocoder', f);
    }
    await repaint();
  };
  startStage('flow');
  await repaint();
  const pair = pairField({ model: m.generator, dir: m.generatorUrl }, m.late && { model: m.late.model, dir: m.late.url });
  const r = await melSoundForClass(pair.field, label, { seed, clips, onProgress, ...(pair.guidance !== undefined ? { guidance: pair.guidance } : {}) });
  times.flow = r.timings.flowSeconds;
  times.vocoder = r.timings.composeSeconds + r.timings.vocoderSeconds;
  setStage('flow', 1, times.flow);
  setStage('vocoder', 1, times.vocoder);
  const audio = new Float32Array(r.clips.reduce((a, x) => a + x.length, 0));
  let k = 0;
  for (const x of r.clips) {
    audio.set(x, k);
    k += x.length;
  }
  const buffer = player.set(audio, SAMPLE_RATE);
  const firstSoundMs = performance.now() - t0;
  drawSpectrogram(logMelSpectrogram(audio));
  const wav = new Blob([wavBytes(audio, SAMPLE_RATE)], { type: 'audio/wav' });
  if (ui.download.href.startsWith('blob:')) URL.revokeObjectURL(ui.download.href);
  ui.download.href = URL.createObjectURL(wav);
  ui.download.download = `soundtrack-${CLASS_NAMES[label]}-seed${seed}.wav`;
  ui.download.hidden = false;
  ui.download.removeAttribute('aria-disabled');
  page.result = {
    source: c.kind,
    name: c.name,
    label,
    className: CLASS_NAMES[label] as string,
    predicted: c.prediction,
    frames: c.frames,
    overridden: override !== null,
    seed,
    sampleRate: SAMPLE_RATE,
    samples: audio.length,
    rms: rms(audio),
    peak: peak(audio),
    buffer: { sampleRate: buffer.sampleRate, length: buffer.length, duration: buffer.duration },
    stages: { ...(c.classifySeconds !== null ? { classify: c.classifySeconds } : {}), ...times },
    firstSoundMs,
  };
  const said =
    c.kind === 'video'
      ? `median vote over ${c.frames.length} frames: ${c.prediction.className} (${(100 * (c.prediction.agreement ?? 1)).toFixed(0)} % of frames agree)`
      : `${c.prediction.className}, ${(100 * c.prediction.probability).toFixed(0)} % sure`;
  ui.verdict.textContent = `${c.name}: ${said}. Sound: ${CLASS_NAMES[label]}${override !== null ? ' (your choice)' : ''}, seed ${seed}, ${(audio.length / SAMPLE_RATE).toFixed(1)} s at ${SAMPLE_RATE / 1000} kHz.`;
  page.state = 'done';
  status(`Done in ${(firstSoundMs / 1000).toFixed(1)} s. Press Play${c.kind === 'video' ? ' (the video plays with the new sound)' : ''}.`);
  syncButtons();
}

async function run(input: { blob: Blob; name: string } | 'again'): Promise<void> {
  if (busy) return;
  busy = true;
  const t0 = performance.now();
  clearError();
  player.stop();
  if (!ui.video.hidden) ui.video.pause();
  page.state = 'working';
  page.result = null;
  syncButtons();
  setBusy(true);
  try {
    if (input !== 'again') mediaKind({ name: input.name, type: input.blob.type }); // reject bad types before waiting for models
    if (!modelsLoaded) status('Waiting for the models to load…');
    const m = await (models ?? Promise.reject(new Error('the models were never requested')));
    for (const s of ['classify', 'flow', 'vocoder'] as const) setStage(s, 0);
    if (input !== 'again') {
      current = null;
      ui.frames.replaceChildren();
      ui.verdict.textContent = `Looking at ${input.name}…`;
      status(`Classifying ${input.name}…`);
      current = await classify(m, input.blob, input.name);
    }
    if (!current) throw new Error('choose a picture first');
    if (input === 'again') current = { ...current, classifySeconds: null };
    await generate(m, current, t0);
  } catch (e) {
    const msg = e instanceof MediaError ? e.message : e instanceof Error ? e.message : String(e);
    showError(msg);
    ui.verdict.textContent = 'No sound: see the message above.';
    for (const s of STAGES) if ($<HTMLOutputElement>(`t-${s}`).value === '…') $(`t-${s}`).textContent = 'stopped';
    console.error(e);
  } finally {
    busy = false;
    page.runs++;
    setBusy(false);
    syncButtons();
  }
}

// ---- inputs --------------------------------------------------------------------------------

ui.file.addEventListener('change', () => {
  const f = ui.file.files?.[0];
  if (f) void run({ blob: f, name: f.name });
  ui.file.value = '';
});
ui.drop.addEventListener('click', () => ui.file.click());
ui.drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    ui.file.click();
  }
});
ui.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) void run({ blob: f, name: f.name });
  else showError('Nothing to use in what was dropped: drop an image or a video file.');
});
ui.again.addEventListener('click', () => void run('again'));

interface ExampleEntry {
  id: string;
  cls: string;
  file: string;
  license: string;
  copyright: string;
  note?: string;
}

async function showExamples(): Promise<void> {
  try {
    const r = await fetch('examples/manifest.json');
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const entries = ((await r.json()) as { entries: ExampleEntry[] }).entries;
    ui.examples.replaceChildren(
      ...entries.map((e) => {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.type = 'button';
        b.dataset.example = e.id;
        const what = e.note?.replace(/^photo: /, '') ?? e.id;
        b.setAttribute('aria-label', `Use the example photo: ${what}`);
        const img = document.createElement('img');
        img.src = `examples/${e.file}`;
        img.alt = '';
        b.append(img);
        b.addEventListener('click', async () => {
          try {
            const res = await fetch(`examples/${e.file}`);
            if (!res.ok) throw new Error(`HTTP ${res.status}`);
            await run({ blob: await res.blob(), name: e.file.split('/').pop() ?? e.id });
          } catch (err) {
            showError(`The example photo could not be fetched (${(err as Error).message}).`);
          }
        });
        li.append(b);
        return li;
      }),
    );
    ui.credits.replaceChildren(
      ...entries.map((e) => {
        const li = document.createElement('li');
        li.textContent = `${e.file}: ${e.copyright} — ${e.license}`;
        return li;
      }),
    );
  } catch (e) {
    ui.examples.textContent = `(the example photos could not be loaded: ${(e as Error).message})`;
  }
}

// ---- start ---------------------------------------------------------------------------------

async function start(): Promise<void> {
  void showExamples();
  const forced = new URLSearchParams(location.search).get('backend');
  startStage('load');
  try {
    page.backend = await startBackend(new URL('wasm/', location.href).href, forced);
    ui.backend.textContent = `Compute backend: ${page.backend.name} — ${page.backend.reason}. (tfjs ${tf.version.tfjs})`;
  } catch (e) {
    ui.backend.textContent = `Compute backend: none could start (${(e as Error).message})`;
  }
  models = loadPageModels(location.href);
  models.then(
    (m) => {
      modelsLoaded = true;
      const sec = endStage('load');
      ui.about.textContent = `Generator: mel-flow/${m.generator.cfg.preset}, step ${m.generatorStep}${m.late ? ` + mel-flow/${m.late.model.cfg.preset} (late expert${m.late.model.cfg.predict === 'data' ? ', predicts the clean patch' : ''}), step ${m.late.step}` : ''}; classifier: ${m.backbone.spec.name} + trained head.`;
      if (page.state === 'loading') {
        page.state = 'ready';
        status(`Models loaded in ${sec.toFixed(1)} s. Choose a picture.`);
      }
    },
    (e: Error) => {
      $(`t-load`).textContent = 'failed';
      showError(`${e.message} Reload the page to try again.`);
    },
  );
}

void start();
