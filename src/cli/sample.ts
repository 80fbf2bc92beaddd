/** npm run sample -- --class cat|dog --codec CKPT --top CKPT --bottom CKPT --out cat.wav [--clips N] [--seed N] [--top-k 6] [--top-p 1] [--temperature 1] [--guidance 1] */
import * as path from 'node:path';
import { encodeWav } from '../audio/wav';
import { checkOutput, writeOutputBytes } from '../util/output';
import { formatBackend, initBackend } from '../backend/index';
import { disposeSoundModels, loadSoundModels, soundForClass } from '../pipeline/sound';
import { parseCli, runCli, UsageError } from '../util/cli';
import { flag, samplingFlags } from '../util/flags';

const USAGE = `npm run sample -- --class cat|dog --codec CKPT --top CKPT --bottom CKPT --out FILE.wav
                  [--clips N] [--seed N] [--top-k 6] [--top-p 1] [--temperature 1] [--guidance 1] [--backend NAME]`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      class: { type: 'string' },
      codec: { type: 'string' },
      top: { type: 'string' },
      bottom: { type: 'string' },
      out: { type: 'string' },
      clips: { type: 'string', default: '1' },
      seed: { type: 'string', default: '0' },
      'top-k': { type: 'string', default: '6' },
      'top-p': { type: 'string', default: '1' },
      temperature: { type: 'string', default: '1' },
      guidance: { type: 'string', default: '1' },
      backend: { type: 'string' },
    },
    USAGE,
  );
  for (const k of ['class', 'codec', 'top', 'bottom', 'out'] as const) if (!values[k]) throw new UsageError(`--${k} is required\n\n${USAGE}`);
  const classes = ['cat', 'dog'];
  const label = classes.indexOf(String(values.class).toLowerCase());
  if (label < 0) throw new UsageError(`unknown --class '${values.class}' (choose cat or dog)`);
  if (path.extname(String(values.out)).toLowerCase() !== '.wav') throw new UsageError('--out must end in .wav');
  const sampling = samplingFlags(values);
  const clips = flag('clips', values.clips) as number;
  await checkOutput(String(values.out)); // before any computation
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const t0 = performance.now();
  const models = await loadSoundModels({ codec: String(values.codec), top: String(values.top), bottom: String(values.bottom) });
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    const r = await soundForClass(models, label, {
      clips,
      ...sampling,
    });
    const audio = new Float32Array(r.clips.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of r.clips) {
      audio.set(c, at);
      at += c.length;
    }
    await writeOutputBytes(String(values.out), encodeWav(audio, models.codec.config.sampleRate, 'pcm16'));
    const t = r.timings;
    process.stderr.write(
      [
        `backend  ${formatBackend(backend)}`,
        `class    ${classes[label]} (label ${label})`,
        `load     ${loadSeconds.toFixed(2)} s`,
        `top      ${t.topSeconds.toFixed(2)} s (${t.topTokensPerSecond.toFixed(0)} tokens/s, KV cache)`,
        `bottom   ${t.bottomSeconds.toFixed(2)} s (${t.bottomTokensPerSecond.toFixed(0)} tokens/s, KV cache)`,
        `decode   ${t.decodeSeconds.toFixed(2)} s`,
        `wrote    ${values.out}: ${audio.length} samples at ${models.codec.config.sampleRate} Hz (${(audio.length / models.codec.config.sampleRate).toFixed(1)} s)`,
      ].join('\n') + '\n',
    );
  } finally {
    disposeSoundModels(models);
  }
}

runCli(main);
