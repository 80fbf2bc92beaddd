/** npm run sample -- --class cat|dog --out cat.wav [--generator mel-flow|thesis] [--clips N] [--seed N] … */
import * as path from 'node:path';
import { encodeWav } from '../audio/wav';
import { formatBackend, initBackend } from '../backend/index';
import { GENERATOR_KINDS, loadGenerator, type GeneratorKind } from '../pipeline/generators';
import { DEFAULT_SAMPLING } from '../sample/strategy';
import { parseCli, runCli, UsageError } from '../util/cli';
import { checkOutput, writeOutputBytes } from '../util/output';

const USAGE = `npm run sample -- --class cat|dog --out FILE.wav [--clips N] [--seed N] [--backend NAME]
   default generator (mel-flow, checkpoints/generator): [--model DIR] [--guidance 2] [--steps 10] [--temperature 1]
   thesis pipeline:  --generator thesis [--codec DIR --top DIR --bottom DIR] [--top-k 6] [--top-p 1] [--temperature 1] [--guidance 1]
Generates 7.2-s clips for a class (no picture needed) and writes them, one after another, to a 4 kHz WAV.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      class: { type: 'string' },
      out: { type: 'string' },
      generator: { type: 'string' },
      model: { type: 'string' },
      codec: { type: 'string' },
      top: { type: 'string' },
      bottom: { type: 'string' },
      clips: { type: 'string', default: '1' },
      seed: { type: 'string', default: '0' },
      steps: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      temperature: { type: 'string' },
      guidance: { type: 'string' },
      backend: { type: 'string' },
    },
    USAGE,
  );
  for (const k of ['class', 'out'] as const) if (!values[k]) throw new UsageError(`--${k} is required\n\n${USAGE}`);
  const classes = ['cat', 'dog'];
  const label = classes.indexOf(String(values.class).toLowerCase());
  if (label < 0) throw new UsageError(`unknown --class '${values.class}' (choose cat or dog)`);
  if (path.extname(String(values.out)).toLowerCase() !== '.wav') throw new UsageError('--out must end in .wav');
  const thesisFlags = values.codec !== undefined || values.top !== undefined || values.bottom !== undefined;
  const kind = String(values.generator ?? (thesisFlags ? 'thesis' : 'mel-flow')) as GeneratorKind;
  if (!GENERATOR_KINDS.includes(kind)) throw new UsageError(`unknown --generator '${values.generator}' (choose ${GENERATOR_KINDS.join(' or ')})`);
  if (kind === 'mel-flow' && thesisFlags) throw new UsageError('--codec/--top/--bottom belong to --generator thesis');
  if (kind === 'thesis' && values.model !== undefined)
    throw new UsageError('--model belongs to the mel-flow generator (use --codec/--top/--bottom with --generator thesis)');
  const num = (k: string, v: string | undefined, lo: number, hi: number, integer = false): number | undefined => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || x < lo || x > hi || (integer && !Number.isInteger(x)))
      throw new UsageError(`--${k} must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got '${v}'`);
    return x;
  };
  const clips = num('clips', values.clips, 1, 1000, true) as number;
  const seed = num('seed', values.seed, 0, Number.MAX_SAFE_INTEGER, true) as number;
  const sampling = Object.fromEntries(
    Object.entries({
      steps: num('steps', values.steps, 1, 200, true),
      topK: num('top-k', values['top-k'], 0, 1e6, true),
      topP: num('top-p', values['top-p'], Number.MIN_VALUE, 1),
      temperature: num('temperature', values.temperature, 0, 10),
      guidance: num('guidance', values.guidance, 0, 20),
    }).filter(([, v]) => v !== undefined),
  );
  await checkOutput(String(values.out)); // before any computation
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const t0 = performance.now();
  const gen = await loadGenerator(kind, { generator: values.model, codec: values.codec, top: values.top, bottom: values.bottom });
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    const r = await gen.generate(label, { ...(kind === 'thesis' ? DEFAULT_SAMPLING : {}), ...sampling, clips, seed });
    const audio = new Float32Array(r.clips.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of r.clips) {
      audio.set(c, at);
      at += c.length;
    }
    await writeOutputBytes(String(values.out), encodeWav(audio, gen.sampleRate, 'pcm16'));
    process.stderr.write(
      `${[
        `backend   ${formatBackend(backend)}`,
        `generator ${gen.kind} (${Object.values(gen.sources).join(', ')})`,
        `class     ${classes[label]} (label ${label})`,
        `load      ${loadSeconds.toFixed(2)} s`,
        ...Object.entries(r.stages).map(([k, v]) => `${k.padEnd(9)} ${v.toFixed(2)} s`),
        `wrote     ${values.out}: ${audio.length} samples at ${gen.sampleRate} Hz (${(audio.length / gen.sampleRate).toFixed(1)} s)`,
      ].join('\n')}\n`,
    );
  } finally {
    gen.dispose();
  }
}

runCli(main);
