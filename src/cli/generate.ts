/** npm run generate -- --input IMAGE|VIDEO --out FILE.wav|FILE.mp4 [--class cat|dog] [--seed N] [--generator mel-flow|thesis] … */
import { formatBackend, initBackend } from '../backend/index';
import { generate } from '../pipeline/generate';
import { GENERATOR_KINDS, type GeneratorKind } from '../pipeline/generators';
import { parseCli, runCli, UsageError } from '../util/cli';
import { flag, samplingFlags } from '../util/flags';
import { MEL_FLOW_FLAGS, MEL_FLOW_USAGE, melFlowFromFlags } from './sampling-options';

const USAGE = `npm run generate -- --input IMAGE|VIDEO --out FILE.wav|FILE.mp4 [--class cat|dog] [--seed N]
                    [--fps 2] [--vote median|mean] [--classifier DIR|zero-shot] [--backend NAME]
   default generator (mel-flow):  [--guidance 3 (4 with --late-model none)] [--temperature 1]
                                  ${MEL_FLOW_USAGE}
   thesis pipeline:  --generator thesis [--codec DIR --top DIR --bottom DIR] [--top-k 6] [--top-p 1] [--temperature 1] [--guidance 1]
npm run generate -- --class cat|dog --out FILE.wav      (no picture: the sound of a class)
Image → cat/dog → sound generator → 4 kHz WAV; a video gets a track as long as it, and with --out x.mp4
the video is copied with the track muxed in (AAC at 16 kHz). Defaults: the shipped checkpoints in checkpoints/.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      input: { type: 'string' },
      out: { type: 'string' },
      class: { type: 'string' },
      seed: { type: 'string', default: '0' },
      generator: { type: 'string' },
      ...MEL_FLOW_FLAGS,
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      temperature: { type: 'string' },
      guidance: { type: 'string' },
      fps: { type: 'string', default: '2' },
      vote: { type: 'string', default: 'median' },
      codec: { type: 'string' },
      top: { type: 'string' },
      bottom: { type: 'string' },
      classifier: { type: 'string' },
      backend: { type: 'string' },
    },
    USAGE,
  );
  if (!values.out) throw new UsageError(`--out is required\n\n${USAGE}`);
  if (!values.input && !values.class) throw new UsageError(`--input (an image or a video) or --class is required\n\n${USAGE}`);
  const thesisFlags = values.codec !== undefined || values.top !== undefined || values.bottom !== undefined;
  const kind = String(values.generator ?? (thesisFlags ? 'thesis' : 'mel-flow')) as GeneratorKind;
  if (!GENERATOR_KINDS.includes(kind)) throw new UsageError(`unknown --generator '${values.generator}' (choose ${GENERATOR_KINDS.join(' or ')})`);
  if (kind === 'mel-flow' && thesisFlags) throw new UsageError('--codec/--top/--bottom belong to --generator thesis');
  if (kind === 'thesis' && (values.model !== undefined || values['late-model'] !== undefined))
    throw new UsageError('--model/--late-model belong to the mel-flow generator');
  if (values.class !== undefined && values.class !== 'cat' && values.class !== 'dog')
    throw new UsageError(`unknown --class '${values.class}' (choose cat or dog)`);
  if (values.vote !== 'median' && values.vote !== 'mean') throw new UsageError('--vote is median or mean');
  // every number through util/flags.ts (one place for ranges and messages); --steps: the flow's integration steps
  const { seed: _seed, ...sampling } = samplingFlags(values);
  const flow = melFlowFromFlags(values);
  Object.assign(sampling, flow.sampling);
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const models: { generator?: string; late?: string; codec?: string; top?: string; bottom?: string; classifier?: string | null } = { ...flow.paths };
  if (values.codec) models.codec = values.codec;
  if (values.top) models.top = values.top;
  if (values.bottom) models.bottom = values.bottom;
  if (values.classifier) models.classifier = values.classifier === 'zero-shot' ? null : values.classifier;
  const r = await generate({
    ...(values.input ? { input: values.input } : {}),
    out: values.out,
    ...(values.class ? { className: values.class } : {}),
    generator: kind,
    seed: flag('seed', values.seed) as number,
    ...sampling,
    fps: flag('fps', values.fps) as number,
    vote: values.vote,
    models,
  });
  const t = r.timings;
  const lines = [
    `input     ${values.input ?? '(none: --class)'}`,
    `label     ${r.className}${r.confidence !== null ? ` (${(100 * r.confidence).toFixed(1)} %)` : ''} — ${r.labelSource}`,
  ];
  if (r.video) lines.push(`frames    ${r.video.frames.map((f) => `${f.time.toFixed(1)}s:${f.className}`).join(' ')}`);
  lines.push(
    `backend   ${formatBackend(backend)}`,
    `generator ${r.generator}`,
    `time      ${Object.entries(t)
      .map(([k, v]) => `${k} ${v.toFixed(2)} s`)
      .join(' · ')}`,
    `wrote     ${r.out}: ${r.seconds.toFixed(2)} s of sound at ${r.sampleRate} Hz from ${r.clips} clip${r.clips > 1 ? 's' : ''}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

runCli(main);
