/**
 * Bad input, table-driven (issue R1): every case runs a real command in-process (test/cli-harness.ts)
 * or, where a command would have to compute for minutes first, the library function it calls. Each
 * ends in correct behaviour or in one clear line naming the file or flag and the cause, exit code 1
 * (bad input) or 2 (usage), no stack trace, and no partial output or temp file left behind.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../src/audio/wav';
import { readAudio } from '../src/audio/decode';
import { writeCodes, type CodesMeta } from '../src/codes/store';
import { openDataset } from '../src/data/open';
import { Params } from '../src/models/nn';
import { saveCheckpoint } from '../src/checkpoint/checkpoint';
import { explicitFlags, samplingFlags, seedFlag } from '../src/util/flags';
import { OutputError, writeOutput } from '../src/util/output';
import { runCommand, type CommandResult } from './cli-harness';
import { ffmpeg, tempDir, tone } from './helpers';

const root = tempDir('soundtrack-bad-input-');
const p = (...s: string[]) => path.join(root, ...s);
const CHECKPOINTS = path.join(process.cwd(), 'checkpoints');

const wav = (file: string, seconds = 1, freq = 440) => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, encodeWav(tone(freq, 4000, seconds), 4000));
};
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Every *.tmp (file or folder, any depth) under `dir`. */
function temps(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (/\.tmp($|\.)/.test(e.name)) out.push(f);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(f);
    }
  };
  walk(dir);
  return out;
}

/** A fake codec/prior run folder (metadata as the trainers write it; one dummy weight). */
async function fakeRun(
  dir: string,
  kind: 'codec' | 'prior',
  model: Record<string, unknown>,
  train: Record<string, unknown>,
  data: { spec: string },
): Promise<void> {
  const params = new Params(0);
  params.create('w', [2], { kind: 'zeros' }, false);
  await saveCheckpoint(dir, {
    meta: {
      kind,
      model,
      step: 3,
      trainSeconds: 1,
      software: { soundtrackLab: 'test', tfjs: tf.version.tfjs, backend: tf.getBackend() },
      train,
      rng: null,
      sampler: null,
      data: { ...data, layout: 'folder', train: [], val: [] },
      metrics: {},
    },
    params,
  });
  params.dispose();
}

async function codes(dir: string, opts: { badCode?: boolean; badLabel?: boolean } = {}): Promise<void> {
  const K = 16;
  const clips: CodesMeta['clips'] = [];
  const top: Uint16Array[] = [];
  const bottom: Uint16Array[] = [];
  for (let i = 0; i < 8; i++) {
    clips.push({
      id: `c${i}`,
      label: opts.badLabel && i === 5 ? 7 : i % 2,
      className: i % 2 ? 'dog' : 'cat',
      split: i < 6 ? 'train' : 'val',
      segment: 0,
      source: `s/${i}`,
    });
    top.push(Uint16Array.from({ length: 4 }, (_, j) => (i + j) % K));
    bottom.push(Uint16Array.from({ length: 16 }, (_, j) => (opts.badCode && i === 3 && j === 9 ? 40000 : (i + j) % K)));
  }
  await writeCodes(dir, {
    meta: {
      format: 'soundtrack-lab/codes',
      version: 1,
      codec: { checkpoint: 'synthetic', kind: 'raw-vqvae2', preset: 'quick', step: 0, codebookSize: K },
      dataset: { spec: 'synthetic', layout: 'folder', classes: ['cat', 'dog'] },
      lengths: { top: 4, bottom: 16 },
      clips,
    },
    top,
    bottom,
  });
}

beforeAll(async () => {
  // images: a real JPEG, one truncated to 45 %, one without extension, a 1×1 PNG, text named .jpg
  await ffmpeg(['-i', path.join('data', 'images', 'dog', 'dog-gcompris-german-shepherd.webp'), '-q:v', '3', p('dog.jpg')]);
  const jpg = readFileSync(p('dog.jpg'));
  writeFileSync(p('truncated.jpg'), jpg.subarray(0, Math.floor(jpg.length * 0.45)));
  copyFileSync(p('dog.jpg'), p('photo-without-extension'));
  writeFileSync(p('tiny.png'), Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64'));
  writeFileSync(p('text.jpg'), 'this is not an image\n');
  writeFileSync(p('empty.jpg'), '');
  // videos: 2 s and 0.2 s, an audio-only .mp4, a corrupt .mp4
  await ffmpeg(['-loop', '1', '-t', '2', '-i', p('dog.jpg'), '-vf', 'scale=160:120,fps=10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', p('dog.mp4')]);
  await ffmpeg(['-loop', '1', '-t', '0.2', '-i', p('dog.jpg'), '-vf', 'scale=160:120,fps=10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', p('short.mp4')]);
  await ffmpeg(['-f', 'lavfi', '-i', 'sine=f=440:d=1', '-c:a', 'aac', p('audio-only.mp4')]);
  writeFileSync(p('corrupt.mp4'), Buffer.alloc(4000, 7));
  writeFileSync(p('a-file'), 'x');
  mkdirSync(p('out-is-dir.wav'));
  mkdirSync(p('empty-folder'));
  // datasets: real folders elsewhere, linked in
  wav(p('store', 'cats', 'meow1.wav'), 1, 600);
  wav(p('store', 'cats', 'meow2.wav'), 1, 650);
  wav(p('store', 'dogs', 'woof1.wav'), 1, 300);
  wav(p('store', 'dogs', 'woof2.wav'), 1, 320);
  mkdirSync(p('linked-class'));
  symlinkSync(p('store', 'cats'), p('linked-class', 'cat'));
  wav(p('linked-class', 'dog', 'woof.wav'), 1, 300);
  mkdirSync(p('linked-files', 'cat'), { recursive: true });
  mkdirSync(p('linked-files', 'dog'), { recursive: true });
  symlinkSync(p('store', 'cats', 'meow1.wav'), p('linked-files', 'cat', 'meow1.wav'));
  symlinkSync(p('store', 'dogs', 'woof1.wav'), p('linked-files', 'dog', 'woof1.wav'));
  symlinkSync(p('linked-files'), p('linked-files', 'dog', 'loop')); // a cycle must not hang the walk
  wav(p('dog-only', 'dog', 'a.wav'));
  wav(p('dog-only', 'dog', 'b.wav'));
  wav(p('with-broken', 'cat', 'ok1.wav'));
  wav(p('with-broken', 'cat', 'ok2.wav'));
  wav(p('with-broken', 'dog', 'ok3.wav'));
  wav(p('with-broken', 'dog', 'ok4.wav'));
  writeFileSync(p('with-broken', 'dog', 'broken.wav'), 'RIFF....WAVEjunk');
  // an 11-minute WAV header (8-bit, 4 kHz): its length is refused before the file is read
  const long = Buffer.from(encodeWav(new Float32Array(4000), 4000));
  const longFile = p('long', 'cat', 'hour.wav');
  mkdirSync(path.dirname(longFile), { recursive: true });
  writeFileSync(longFile, long);
  truncateSync(longFile, 11 * 60 * 8000);
  wav(p('long', 'dog', 'ok.wav'));
  // checkpoints: the shipped codec with NaN weights; fake runs for --resume
  cpSync(path.join(CHECKPOINTS, 'codec'), p('nan-codec'), { recursive: true });
  const nanStep = readdirSync(p('nan-codec')).find((n) => n.startsWith('step-')) as string;
  const wbin = p('nan-codec', nanStep, 'weights.bin');
  writeFileSync(wbin, Buffer.alloc(statSync(wbin).size, 0xff));
  cpSync(path.join(CHECKPOINTS, 'generator'), p('nan-generator'), { recursive: true });
  const genStep = readdirSync(p('nan-generator')).find((n) => n.startsWith('step-')) as string;
  const gbin = p('nan-generator', genStep, 'weights.bin');
  writeFileSync(gbin, Buffer.alloc(statSync(gbin).size, 0xff));
  cpSync(path.join(CHECKPOINTS, 'prior-top'), p('nan-top'), { recursive: true });
  const topStep = readdirSync(p('nan-top')).find((n) => n.startsWith('step-')) as string;
  const tbin = p('nan-top', topStep, 'weights.bin');
  writeFileSync(tbin, Buffer.alloc(statSync(tbin).size, 0xff));
  await fakeRun(
    p('codec-run'),
    'codec',
    { kind: 'raw-vqvae2', preset: 'quick' },
    { batchSize: 2, learningRate: 0.001, seed: 0, augment: true, valFraction: 0.2, steps: 10 },
    { spec: 'embedded' },
  );
  await fakeRun(
    p('prior-run'),
    'prior',
    { level: 'top', preset: 'quick' },
    { batchSize: 2, learningRate: 0.001, seed: 0, labelSmoothing: 0, labelDropout: 0.1, steps: 10 },
    { spec: p('codes-ok') },
  );
  await fakeRun(p('corrupt-latest'), 'codec', { kind: 'raw-vqvae2', preset: 'quick' }, { batchSize: 2 }, { spec: 'embedded' });
  writeFileSync(p('corrupt-latest', 'latest.json'), '{"format":"soundtrack-lab/lat');
  mkdirSync(p('foreign'));
  writeFileSync(p('foreign', 'metrics.jsonl'), '{"step":1,"loss":0.5}\n');
  await codes(p('codes-ok'));
  await codes(p('codes-bad-code'), { badCode: true });
  await codes(p('codes-bad-label'), { badLabel: true });
}, 120_000);

interface Case {
  name: string;
  cmd: string;
  args: () => string[];
  /** expected exit code */
  code: 0 | 1 | 2;
  /** patterns the error line (or, with code 0, stdout) must match */
  says?: RegExp[];
  /** paths that must not exist afterwards */
  absent?: () => string[];
  /** more checks after the command */
  check?: (r: CommandResult) => void;
  /** the one-line reason is in stdout (data:check's summary), checked by `check` */
  reasonInStdout?: boolean;
}

const G = (args: string[]) => ['--input', p('dog.jpg'), '--out', p('g.wav'), ...args];

const cases: Case[] = [
  // 6. numbers: parsed and range-checked in one place (usage errors, exit 2, before any model loads)
  { name: 'generate --fps abc', cmd: 'generate', args: () => G(['--fps', 'abc']), code: 2, says: [/--fps/, /'abc'/] },
  { name: 'generate --fps 0', cmd: 'generate', args: () => G(['--fps', '0']), code: 2, says: [/--fps must be a number in \(0, 60\]/] },
  { name: 'generate --seed banana', cmd: 'generate', args: () => G(['--seed', 'banana']), code: 2, says: [/--seed must be an integer/, /banana/] },
  { name: 'generate --seed 1.5', cmd: 'generate', args: () => G(['--seed', '1.5']), code: 2, says: [/--seed/] },
  { name: 'generate --seed -1', cmd: 'generate', args: () => G(['--seed', '-1']), code: 2, says: [/--seed/] },
  { name: 'generate --top-p 2', cmd: 'generate', args: () => G(['--top-p', '2']), code: 2, says: [/--top-p must be a number in \(0, 1\]/] },
  { name: 'generate --top-p 0', cmd: 'generate', args: () => G(['--top-p', '0']), code: 2, says: [/--top-p/] },
  { name: 'generate --top-k 2.5', cmd: 'generate', args: () => G(['--top-k', '2.5']), code: 2, says: [/--top-k must be an integer/] },
  { name: 'generate --top-k -1', cmd: 'generate', args: () => G(['--top-k', '-1']), code: 2, says: [/--top-k/] },
  { name: 'generate --guidance 1e300', cmd: 'generate', args: () => G(['--guidance', '1e300']), code: 2, says: [/--guidance must be a number in \[0, 50\]/] },
  { name: 'generate --guidance NaN', cmd: 'generate', args: () => G(['--guidance', 'NaN']), code: 2, says: [/--guidance/] },
  { name: 'generate --temperature -1', cmd: 'generate', args: () => G(['--temperature', '-1']), code: 2, says: [/--temperature/] },
  { name: 'generate --temperature (empty)', cmd: 'generate', args: () => G(['--temperature=']), code: 2, says: [/--temperature/] },
  { name: 'generate --vote max', cmd: 'generate', args: () => G(['--vote', 'max']), code: 2, says: [/--vote/] },
  { name: 'generate --class bird', cmd: 'generate', args: () => G(['--class', 'bird']), code: 2, says: [/--class 'bird'/] },
  {
    name: 'sample --clips 0',
    cmd: 'sample',
    args: () => ['--class', 'cat', '--codec', 'c', '--top', 't', '--bottom', 'b', '--out', p('s.wav'), '--clips', '0'],
    code: 2,
    says: [/--clips/],
  },
  {
    name: 'sample --top-k 0x10',
    cmd: 'sample',
    args: () => ['--class', 'cat', '--codec', 'c', '--top', 't', '--bottom', 'b', '--out', p('s.wav'), '--top-k', '0x10'],
    code: 2,
    says: [/--top-k/, /0x10/],
  },
  { name: 'classify --fps abc', cmd: 'classify', args: () => [p('dog.jpg'), '--fps', 'abc'], code: 2, says: [/--fps/] },
  { name: 'classify --fps -2', cmd: 'classify', args: () => [p('dog.jpg'), '--fps', '-2'], code: 2, says: [/--fps/] },
  {
    name: 'train:codec --steps -5',
    cmd: 'train-codec',
    args: () => ['--steps', '-5', '--out', p('tc1')],
    code: 2,
    says: [/--steps/],
    absent: () => [p('tc1')],
  },
  {
    name: 'train:codec --batch 0',
    cmd: 'train-codec',
    args: () => ['--batch', '0', '--out', p('tc2')],
    code: 2,
    says: [/--batch must be an integer in \[1/],
    absent: () => [p('tc2')],
  },
  { name: 'train:codec --lr 0', cmd: 'train-codec', args: () => ['--lr', '0', '--out', p('tc3')], code: 2, says: [/--lr/], absent: () => [p('tc3')] },
  { name: 'train:codec --lr abc', cmd: 'train-codec', args: () => ['--lr', 'abc', '--out', p('tc4')], code: 2, says: [/--lr/, /abc/] },
  { name: 'train:codec --workers 1.5', cmd: 'train-codec', args: () => ['--workers', '1.5', '--out', p('tc5')], code: 2, says: [/--workers/] },
  {
    name: 'train:judge --workers 2 (one thread only)',
    cmd: 'train-judge',
    args: () => ['--workers', '2', '--out', p('tj1')],
    code: 2,
    says: [/--workers: the judge trains on one thread/],
    absent: () => [p('tj1')],
  },
  {
    name: 'train:generator --checkpoint-every -1',
    cmd: 'train-generator',
    args: () => ['--checkpoint-every', '-1', '--out', p('tg1')],
    code: 2,
    says: [/--checkpoint-every/],
    absent: () => [p('tg1')],
  },
  {
    name: 'train:generator --pair --preset quick (the pair has its recipe)',
    cmd: 'train-generator',
    args: () => ['--pair', '--preset', 'quick', '--out', p('tg2')],
    code: 2,
    says: [/--preset does not go with --pair/],
    absent: () => [p('tg2')],
  },
  {
    name: 'train:prior --label-smoothing 1',
    cmd: 'train-prior',
    args: () => ['--level', 'top', '--codes', p('codes-ok'), '--label-smoothing', '1', '--out', p('tp1'), '--backend', 'cpu'],
    code: 2,
    says: [/--label-smoothing/],
  },
  {
    name: 'train:prior --lr -1',
    cmd: 'train-prior',
    args: () => ['--level', 'top', '--codes', p('codes-ok'), '--lr', '-1', '--out', p('tp2')],
    code: 2,
    says: [/--lr/],
  },
  { name: 'data:check --val-fraction 1', cmd: 'data-check', args: () => ['--data', 'embedded', '--val-fraction', '1'], code: 2, says: [/--val-fraction/] },
  { name: 'data:check --seed 7x', cmd: 'data-check', args: () => ['--data', 'embedded', '--seed', '7x'], code: 2, says: [/--seed/] },
  { name: 'eval:prior --samples -1', cmd: 'eval-prior', args: () => ['--prior', 'x', '--codes', 'y', '--samples', '-1'], code: 2, says: [/--samples/] },
  { name: 'eval:generation --n 1', cmd: 'eval-generation', args: () => ['--n', '1'], code: 2, says: [/--n must be an integer in \[2/] },
  {
    name: 'sample --switch-at 2',
    cmd: 'sample',
    args: () => ['--class', 'cat', '--out', p('sw.wav'), '--switch-at', '2'],
    code: 2,
    says: [/--switch-at must be a number in \[0, 1\]/],
    absent: () => [p('sw.wav')],
  },
  {
    name: 'sample --generator thesis --late-model x',
    cmd: 'sample',
    args: () => ['--class', 'cat', '--out', p('lm.wav'), '--generator', 'thesis', '--late-model', 'x'],
    code: 2,
    says: [/--model\/--late-model belong to the mel-flow generator/],
    absent: () => [p('lm.wav')],
  },
  {
    name: 'generate --late-model missing',
    cmd: 'generate',
    args: () => ['--class', 'dog', '--out', p('lm2.wav'), '--late-model', p('no-such-late')],
    code: 1,
    says: [/no-such-late: no checkpoint here/],
    absent: () => [p('lm2.wav')],
  },
  {
    name: 'tune:sampling --guidance 2,x',
    cmd: 'tune-sampling',
    args: () => ['--guidance', '2,x'],
    code: 2,
    says: [/--guidance must be a number in \[0, 50\], got 'x'/],
  },
  { name: 'tune:sampling --smooth blur', cmd: 'tune-sampling', args: () => ['--smooth', 'median,blur'], code: 2, says: [/--smooth/, /blur/] },
  { name: 'eval:codec --embedder-rate 12.5', cmd: 'eval-codec', args: () => ['--codec', 'x', '--embedder-rate', '12.5'], code: 2, says: [/--embedder-rate/] },
  { name: 'train:classifier --steps abc', cmd: 'train-classifier', args: () => ['--images', 'x', '--steps', 'abc'], code: 2, says: [/--steps/] },
  { name: 'train:classifier --input-size 4', cmd: 'train-classifier', args: () => ['--images', 'x', '--input-size', '4'], code: 2, says: [/--input-size/] },

  // 3, 4. generate's input and output: checked before computing, nothing destroyed, nothing partial
  {
    name: 'generate --out equal to --input',
    cmd: 'generate',
    args: () => ['--input', p('dog.mp4'), '--out', p('dog.mp4'), '--class', 'dog'],
    code: 2,
    says: [/--out .*dog\.mp4 is the same file as --input/],
  },
  {
    name: 'generate --out the input through another path',
    cmd: 'generate',
    args: () => ['--input', p('dog.mp4'), '--out', p('sub', '..', 'dog.mp4')],
    code: 2,
    says: [/same file as --input/],
  },
  {
    name: 'generate --class with a missing --input',
    cmd: 'generate',
    args: () => ['--input', p('missing.jpg'), '--out', p('g.wav'), '--class', 'cat'],
    code: 1,
    says: [/missing\.jpg: file not found/],
    absent: () => [p('g.wav')],
  },
  {
    name: 'generate --class with a text-as-JPEG --input',
    cmd: 'generate',
    args: () => ['--input', p('text.jpg'), '--out', p('g.wav'), '--class', 'cat'],
    code: 1,
    says: [/text\.jpg/, /not a readable image/],
    absent: () => [p('g.wav')],
  },
  {
    name: 'generate --class with a corrupt video --input',
    cmd: 'generate',
    args: () => ['--input', p('corrupt.mp4'), '--out', p('g.wav'), '--class', 'dog'],
    code: 1,
    says: [/corrupt\.mp4/],
    absent: () => [p('g.wav')],
  },
  {
    name: 'generate --out under a file',
    cmd: 'generate',
    args: () => ['--input', p('dog.jpg'), '--out', p('a-file', 'x.wav')],
    code: 1,
    says: [/--out/, /a-file.* is not a folder/],
  },
  {
    name: 'generate --out is a folder',
    cmd: 'generate',
    args: () => ['--input', p('dog.jpg'), '--out', p('out-is-dir.wav')],
    code: 1,
    says: [/out-is-dir\.wav: --out: is a folder/],
  },
  { name: 'generate --out .txt', cmd: 'generate', args: () => ['--input', p('dog.jpg'), '--out', p('g.txt')], code: 1, says: [/g\.txt/, /\.wav or an \.mp4/] },
  {
    name: 'generate .mp4 out from an image',
    cmd: 'generate',
    args: () => ['--input', p('dog.jpg'), '--out', p('g.mp4')],
    code: 1,
    says: [/needs a video input/],
  },
  {
    name: 'generate --input 1×1 PNG',
    cmd: 'generate',
    args: () => ['--input', p('tiny.png'), '--out', p('g.wav'), '--class', 'cat'],
    code: 1,
    says: [/tiny\.png: is 1×1 pixels/],
  },
  {
    name: 'generate --input truncated JPEG',
    cmd: 'generate',
    args: () => ['--input', p('truncated.jpg'), '--out', p('g.wav'), '--class', 'cat'],
    code: 1,
    says: [/truncated\.jpg/, /truncated/],
  },
  {
    name: 'generate --input audio-only .mp4',
    cmd: 'generate',
    args: () => ['--input', p('audio-only.mp4'), '--out', p('g.wav')],
    code: 1,
    says: [/audio-only\.mp4: has no video stream/],
  },
  {
    name: 'generate --input missing video',
    cmd: 'generate',
    args: () => ['--input', p('missing.mp4'), '--out', p('g.wav')],
    code: 1,
    says: [/missing\.mp4: file not found/],
  },
  {
    name: 'generate --input 0-byte image',
    cmd: 'generate',
    args: () => ['--input', p('empty.jpg'), '--out', p('g.wav'), '--class', 'dog'],
    code: 1,
    says: [/empty\.jpg: is an empty file/],
  },
  // 2. corrupt weights never become silent audio
  {
    name: 'generate with a NaN codec',
    cmd: 'generate',
    args: () => ['--input', p('dog.jpg'), '--out', p('nan.wav'), '--class', 'dog', '--codec', p('nan-codec')],
    code: 1,
    says: [/weights\.bin: holds \d+ non-finite value/],
    absent: () => [p('nan.wav')],
  },
  {
    name: 'sample with a NaN default generator',
    cmd: 'sample',
    args: () => ['--class', 'cat', '--model', p('nan-generator'), '--out', p('nan-gen.wav')],
    code: 1,
    says: [/weights\.bin: holds \d+ non-finite value/],
    absent: () => [p('nan-gen.wav')],
  },
  {
    name: 'sample with a NaN Top prior',
    cmd: 'sample',
    args: () => [
      '--class',
      'cat',
      '--codec',
      path.join(CHECKPOINTS, 'codec'),
      '--top',
      p('nan-top'),
      '--bottom',
      path.join(CHECKPOINTS, 'prior-bottom'),
      '--out',
      p('nan2.wav'),
    ],
    code: 1,
    says: [/nan-top.*weights\.bin: holds \d+ non-finite/],
    absent: () => [p('nan2.wav')],
  },
  {
    name: 'sample --out under a file (before loading models)',
    cmd: 'sample',
    args: () => ['--class', 'cat', '--codec', 'c', '--top', 't', '--bottom', 'b', '--out', p('a-file', 's.wav')],
    code: 1,
    says: [/--out/, /not a folder/],
  },

  // 7, 8, 10. classify
  { name: 'classify an empty folder', cmd: 'classify', args: () => [p('empty-folder')], code: 1, says: [/empty-folder: holds no images or videos/] },
  { name: 'classify a 1×1 PNG', cmd: 'classify', args: () => [p('tiny.png')], code: 1, says: [/tiny\.png: is 1×1 pixels; images need at least 32×32/] },
  { name: 'classify a truncated JPEG', cmd: 'classify', args: () => [p('truncated.jpg')], code: 1, says: [/truncated\.jpg: the JPEG file is truncated/] },
  { name: 'classify a missing file', cmd: 'classify', args: () => [p('nope.jpg')], code: 1, says: [/nope\.jpg: file not found/] },
  {
    name: 'classify a JPEG without extension (by content)',
    cmd: 'classify',
    args: () => [p('photo-without-extension')],
    code: 0,
    says: [/photo-without-extension: (cat|dog) \(/],
  },
  { name: 'classify a 0.2-s video (one frame)', cmd: 'classify', args: () => [p('short.mp4')], code: 0, says: [/short\.mp4: (cat|dog) .* of 1 frames/] },

  // 1, 10, 11. datasets
  {
    name: 'data:check follows a symlinked class folder',
    cmd: 'data-check',
    args: () => ['--data', p('linked-class'), '--json', '--no-cache'],
    code: 0,
    check: (r) => {
      const s = JSON.parse(r.stdout) as { classes: Array<{ name: string; label: number; clips: number }> };
      expect(s.classes.map((c) => [c.name, c.label, c.clips])).toEqual([
        ['cat', 0, 2],
        ['dog', 1, 1],
      ]);
    },
  },
  {
    name: 'data:check follows symlinked files (and a link cycle)',
    cmd: 'data-check',
    args: () => ['--data', p('linked-files'), '--json', '--no-cache'],
    code: 0,
    check: (r) => expect((JSON.parse(r.stdout) as { totalClips: number }).totalClips).toBe(2),
  },
  {
    name: 'data:check without cat recordings',
    cmd: 'data-check',
    args: () => ['--data', p('dog-only'), '--no-cache'],
    code: 1,
    says: [/dog-only: class cat \(label 0\) has no decodable recordings/],
    check: (r) => expect(r.stdout).toMatch(/1\s+dog\s+2/),
  },
  {
    name: 'data:check leaves undecodable files out of the split',
    cmd: 'data-check',
    args: () => ['--data', p('with-broken'), '--json', '--no-cache'],
    code: 1,
    reasonInStdout: true,
    check: (r) => {
      const s = JSON.parse(r.stdout) as { split: { train: number; val: number }; failed: Array<{ error: string }> };
      expect(s.split.train + s.split.val).toBe(4);
      expect(s.failed[0]!.error).toMatch(/broken\.wav: no fmt chunk/);
    },
  },
  {
    name: 'data:check an 11-minute WAV',
    cmd: 'data-check',
    args: () => ['--data', p('long'), '--no-cache'],
    code: 1,
    check: (r) => expect(r.stdout).toMatch(/FAILED .*hour\.wav: is 11\.0 min long; recordings over 10 min are not read/),
  },
  { name: 'data:check a missing folder', cmd: 'data-check', args: () => ['--data', p('no-such')], code: 1, says: [/no-such: dataset folder not found/] },
  {
    name: 'codes from a dataset without cats',
    cmd: 'codes',
    args: () => ['--codec', path.join(CHECKPOINTS, 'codec'), '--data', p('dog-only'), '--out', p('codes-dog')],
    code: 1,
    says: [/dog-only: has no cat recordings/],
    absent: () => [p('codes-dog')],
  },
  {
    name: 'codes --out under a file',
    cmd: 'codes',
    args: () => ['--codec', path.join(CHECKPOINTS, 'codec'), '--out', p('a-file', 'codes')],
    code: 1,
    says: [/--out/, /not a folder/],
  },

  // 5, 8, 9. training runs
  {
    name: 'train:codec --resume --lr',
    cmd: 'train-codec',
    args: () => ['--out', p('codec-run'), '--resume', '--lr', '0.5'],
    code: 1,
    says: [/--resume continues this run/, /--lr 0\.5 \(the run has 0\.001\)/],
  },
  {
    name: 'train:codec --resume --model',
    cmd: 'train-codec',
    args: () => ['--out', p('codec-run'), '--resume', '--model', 'spec-vqvae'],
    code: 1,
    says: [/--model spec-vqvae \(the run has raw-vqvae2\)/],
  },
  {
    name: 'train:codec --resume --preset',
    cmd: 'train-codec',
    args: () => ['--out', p('codec-run'), '--resume', '--preset', 'thesis'],
    code: 1,
    says: [/--preset thesis/],
  },
  {
    name: 'train:codec --resume --data',
    cmd: 'train-codec',
    args: () => ['--out', p('codec-run'), '--resume', '--data', p('dog-only')],
    code: 1,
    says: [/--data .*dog-only \(the run has embedded\)/],
  },
  {
    name: 'train:codec --resume --batch',
    cmd: 'train-codec',
    args: () => ['--out', p('codec-run'), '--resume', '--batch', '3'],
    code: 1,
    says: [/--batch 3 \(the run has 2\)/],
  },
  {
    name: 'train:prior --resume --lr and --seed',
    cmd: 'train-prior',
    args: () => ['--level', 'top', '--out', p('prior-run'), '--resume', '--lr', '0.01', '--seed', '4', '--backend', 'cpu'],
    code: 1,
    says: [/--lr 0\.01 .*--seed 4/],
  },
  {
    name: 'train:prior --resume --level',
    cmd: 'train-prior',
    args: () => ['--level', 'bottom', '--out', p('prior-run'), '--resume', '--backend', 'cpu'],
    code: 1,
    says: [/--level bottom \(the run has top\)/],
  },
  {
    name: "train:codec --out with another run's metrics.jsonl",
    cmd: 'train-codec',
    args: () => ['--out', p('foreign'), '--steps', '1'],
    code: 1,
    says: [/metrics\.jsonl: holds the metrics of another run/],
    check: () => expect(readFileSync(p('foreign', 'metrics.jsonl'), 'utf8')).toBe('{"step":1,"loss":0.5}\n'),
  },
  {
    name: 'train:codec --resume with a corrupt latest.json',
    cmd: 'train-codec',
    args: () => ['--out', p('corrupt-latest'), '--resume'],
    code: 1,
    says: [/latest\.json: is corrupt/, /newest intact checkpoint is .*step-0000003/],
  },
  {
    name: 'train:codec onto a corrupt latest.json (no overwrite)',
    cmd: 'train-codec',
    args: () => ['--out', p('corrupt-latest'), '--steps', '1'],
    code: 1,
    says: [/latest\.json: is corrupt/],
  },
  {
    name: 'train:codec --out is a file',
    cmd: 'train-codec',
    args: () => ['--out', p('a-file'), '--steps', '1'],
    code: 1,
    says: [/a-file: --out: is a file; give a folder/],
  },
  {
    name: 'train:prior on out-of-range codes',
    cmd: 'train-prior',
    args: () => ['--level', 'top', '--codes', p('codes-bad-code'), '--out', p('tp-bad'), '--steps', '1', '--backend', 'cpu'],
    code: 1,
    says: [/bottom\.u16: clip 3 holds code 40000 at position 9, outside the codebook of 16/],
    absent: () => [p('tp-bad')],
  },
  {
    name: 'train:prior on a label outside the classes',
    cmd: 'train-prior',
    args: () => ['--level', 'top', '--codes', p('codes-bad-label'), '--out', p('tp-bad2'), '--steps', '1', '--backend', 'cpu'],
    code: 1,
    says: [/codes\.json: clip 5 has label 7/],
    absent: () => [p('tp-bad2')],
  },
  {
    name: 'eval:prior with a NaN prior',
    cmd: 'eval-prior',
    args: () => ['--prior', p('nan-top'), '--codes', p('codes-ok')],
    code: 1,
    says: [/weights\.bin: holds \d+ non-finite/],
  },
  {
    name: 'eval:prior on a missing codes folder',
    cmd: 'eval-prior',
    args: () => ['--prior', path.join(CHECKPOINTS, 'prior-top'), '--codes', p('nope')],
    code: 1,
    says: [/codes\.json/],
  },
];

describe('bad input: commands end in correct behaviour or one clear line (exit 1 or 2), no stack, no leftovers', () => {
  it.each(cases.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      const r = await runCommand(c.cmd, c.args());
      const context = `${c.cmd} ${c.args().join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
      expect(r.code, context).toBe(c.code);
      expect(r.stderr, context).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
      if (c.code !== 0 && !c.reasonInStdout) {
        const line = r.stderr.split('\n').find((l) => /^(usage )?error: /.test(l));
        expect(line, context).toBeDefined();
        for (const re of c.says ?? []) expect(line, context).toMatch(re);
      } else for (const re of c.says ?? []) expect(r.stdout, context).toMatch(re);
      c.check?.(r);
      for (const f of c.absent?.() ?? []) expect(existsSync(f), `${f} should not exist`).toBe(false);
      expect(temps(root), 'temp files left').toEqual([]);
    },
    180_000,
  ); // seconds each when the machine is idle; generous for a loaded CI machine
});

describe('bad input: library level', () => {
  it('seeds are integers: 07 and 7 are the same seed, explicit flags are told from defaults', () => {
    expect(seedFlag('07')).toBe('7');
    expect(samplingFlags({ seed: '7', 'top-k': '6', 'top-p': '1', temperature: '1', guidance: '1' })).toEqual({
      seed: '7',
      topK: 6,
      topP: 1,
      temperature: 1,
      guidance: 1,
    });
    expect([...explicitFlags(['--lr=0.1', '--resume', 'x', '--', '--seed'])]).toEqual(['lr', 'resume']);
  });

  it('a dataset without cat keeps dog at label 1 (labels by name, never by position)', async () => {
    const ds = await openDataset(p('dog-only'));
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.items.map((i) => i.label)).toEqual([1, 1]);
  });

  it('a failing write (disk full) names --out and the cause and leaves no temp file', async () => {
    const out = p('w', 'full.wav');
    const err = await writeOutput(out, async (tmp) => {
      writeFileSync(tmp, 'partial');
      throw Object.assign(new Error(`ENOSPC: no space left on device, write '${tmp}'`), { code: 'ENOSPC' });
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toBe(`${out}: --out: cannot write: no space left on the device (ENOSPC)`);
    expect(existsSync(out)).toBe(false);
    expect(temps(root)).toEqual([]);
  });

  it('a file size limit (ulimit -f) is a clear error, the temp file is removed', () => {
    const out = p('limited.wav');
    const script = `import { writeOutputBytes } from './src/util/output.ts'; import { cliFailure } from './src/util/cli.ts';
process.on('SIGXFSZ', () => {});
writeOutputBytes(${JSON.stringify(out)}, new Uint8Array(200000)).then(() => process.exit(0), (e) => { const f = cliFailure(e); process.stderr.write(f.text); process.exit(f.exitCode); });`;
    const r = spawnSync('sh', ['-c', `ulimit -f 16; exec "${process.execPath}" --import tsx --input-type=module -e '${script.replace(/'/g, "'\\''")}'`], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim()).toBe(`error: ${out}: --out: cannot write: the file size limit was reached (EFBIG)`);
    expect(existsSync(out)).toBe(false);
    expect(temps(root)).toEqual([]);
  });

  it('an orphan .step-*.tmp of a killed run is removed by the next checkpoint save', async () => {
    const run = p('orphans');
    mkdirSync(path.join(run, '.step-0000002.999999999.abcdef.tmp'), { recursive: true });
    writeFileSync(path.join(run, '.step-0000002.999999999.abcdef.tmp', 'weights.bin'), 'half');
    await fakeRun(run, 'codec', { kind: 'raw-vqvae2', preset: 'quick' }, {}, { spec: 'embedded' });
    expect(readdirSync(run).sort()).toEqual(['latest.json', 'step-0000003']);
  });

  it('readAudio refuses an over-long WAV from its header, before reading it', async () => {
    await expect(readAudio(p('long', 'cat', 'hour.wav'))).rejects.toMatchObject({ code: 'too-long' });
  });

  it('the real images still pass the content checks (webp, jpeg)', async () => {
    const { readImage } = await import('../src/vision/media');
    for (const f of [path.join('data', 'images', 'cat', 'cat-gcompris-kitten-posing.webp'), p('dog.jpg'), p('photo-without-extension')]) {
      const img = await readImage(f, 32);
      expect(img.width).toBe(32);
    }
  });

  it('generate with the input equal to the output leaves the input unchanged', async () => {
    const before = sha(p('dog.mp4'));
    const r = await runCommand('generate', ['--input', p('dog.mp4'), '--out', p('dog.mp4')]);
    expect(r.code).toBe(2);
    expect(sha(p('dog.mp4'))).toBe(before);
  });
});
