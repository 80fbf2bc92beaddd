/** npm run generate -- --input IMAGE|VIDEO --out FILE.wav|FILE.mp4 [--class cat|dog] [--seed N] [--top-k 6] [--top-p 1] [--temperature 1] [--guidance 1] [--backend NAME] */
import { formatBackend, initBackend } from '../backend/index';
import { generate } from '../pipeline/generate';
import { parseCli, runCli, UsageError } from '../util/cli';
import { flag, samplingFlags } from '../util/flags';

const USAGE = `npm run generate -- --input IMAGE|VIDEO --out FILE.wav|FILE.mp4 [--class cat|dog] [--seed N]
                    [--top-k 6] [--top-p 1] [--temperature 1] [--guidance 1] [--fps 2] [--vote median|mean]
                    [--codec DIR --top DIR --bottom DIR --classifier DIR|zero-shot] [--backend NAME]
Image → cat/dog → Top prior → Bottom prior → decoder → 4 kHz WAV; a video gets a track as long as it,
and with --out x.mp4 the video is copied with the track muxed in (AAC at 16 kHz). Defaults: the shipped
checkpoints in checkpoints/.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      input: { type: 'string' },
      out: { type: 'string' },
      class: { type: 'string' },
      seed: { type: 'string', default: '0' },
      'top-k': { type: 'string', default: '6' },
      'top-p': { type: 'string', default: '1' },
      temperature: { type: 'string', default: '1' },
      guidance: { type: 'string', default: '1' },
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
  if (!values.input || !values.out) throw new UsageError(`--input and --out are required\n\n${USAGE}`);
  if (values.class !== undefined && values.class !== 'cat' && values.class !== 'dog') throw new UsageError(`unknown --class '${values.class}' (choose cat or dog)`);
  if (values.vote !== 'median' && values.vote !== 'mean') throw new UsageError('--vote is median or mean');
  const sampling = samplingFlags(values);
  const fps = flag('fps', values.fps) as number;
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const models: { codec?: string; top?: string; bottom?: string; classifier?: string | null } = {};
  if (values.codec) models.codec = values.codec;
  if (values.top) models.top = values.top;
  if (values.bottom) models.bottom = values.bottom;
  if (values.classifier) models.classifier = values.classifier === 'zero-shot' ? null : values.classifier;
  const r = await generate({
    input: values.input,
    out: values.out,
    ...(values.class ? { className: values.class } : {}),
    ...sampling,
    fps,
    vote: values.vote,
    models,
  });
  const t = r.timings;
  const lines = [
    `input     ${values.input}`,
    `label     ${r.className}${r.confidence !== null ? ` (${(100 * r.confidence).toFixed(1)} %)` : ''} — ${r.labelSource}`,
  ];
  if (r.video) lines.push(`frames    ${r.video.frames.map((f) => `${f.time.toFixed(1)}s:${f.className}`).join(' ')}`);
  lines.push(
    `backend   ${formatBackend(backend)}`,
    `time      load ${t.load.toFixed(2)} s · classify ${t.classify.toFixed(2)} s · top ${t.top.toFixed(2)} s · bottom ${t.bottom.toFixed(2)} s · decode ${t.decode.toFixed(2)} s · write ${t.write.toFixed(2)} s · total ${t.total.toFixed(2)} s`,
    `wrote     ${r.out}: ${r.seconds.toFixed(2)} s of sound at ${r.sampleRate} Hz from ${r.clips} clip${r.clips > 1 ? 's' : ''}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

runCli(main);
