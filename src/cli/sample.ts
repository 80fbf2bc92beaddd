/** npm run sample -- --class cat|dog --out cat.wav [--generator mel-flow|thesis] [--clips N] [--seed N] … */
import * as path from 'node:path';
import { encodeWav } from '../audio/wav';
import { formatBackend, initBackend } from '../backend/index';
import { GENERATOR_KINDS, loadGenerator, type GeneratorKind } from '../pipeline/generators';
import { DEFAULT_SAMPLING } from '../sample/strategy';
import { parseCli, runCli, UsageError } from '../util/cli';
import { flag, samplingFlags } from '../util/flags';
import { MEL_FLOW_FLAGS, MEL_FLOW_USAGE, melFlowFromFlags } from './sampling-options';
import { checkOutput, writeOutputBytes } from '../util/output';

const USAGE = `npm run sample -- --class cat|dog --out FILE.wav [--clips N] [--seed N] [--backend NAME]
   default generator (mel-flow, checkpoints/generator + generator-late): [--guidance 3 (4 with --late-model none)] [--temperature 1]
                                  ${MEL_FLOW_USAGE}
   thesis pipeline:  --generator thesis [--codec DIR --top DIR --bottom DIR] [--top-k 6] [--top-p 1] [--temperature 1] [--guidance 1]
Generates 7.2-s clips for a class (no picture needed) and writes them, one after another, to a 4 kHz WAV.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      class: { type: 'string' },
      out: { type: 'string' },
      generator: { type: 'string' },
      ...MEL_FLOW_FLAGS,
      codec: { type: 'string' },
      top: { type: 'string' },
      bottom: { type: 'string' },
      clips: { type: 'string', default: '1' },
      seed: { type: 'string', default: '0' },
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
  if (kind === 'thesis' && (values.model !== undefined || values['late-model'] !== undefined))
    throw new UsageError('--model/--late-model belong to the mel-flow generator (use --codec/--top/--bottom with --generator thesis)');
  const clips = flag('clips', values.clips) as number;
  const seed = flag('seed', values.seed) as number;
  // every number through util/flags.ts (one place for ranges and messages); --steps: the flow's integration steps
  const { seed: _seed, ...sampling } = samplingFlags(values);
  const flow = melFlowFromFlags(values);
  Object.assign(sampling, flow.sampling);
  await checkOutput(String(values.out)); // before any computation
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const t0 = performance.now();
  const gen = await loadGenerator(kind, { ...flow.paths, codec: values.codec, top: values.top, bottom: values.bottom });
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
