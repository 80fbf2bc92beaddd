/** npm run classify -- <image|video|dir> [--classifier DIR|zero-shot] [--fps 2] [--vote median|mean] [--json] */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../backend/index';
import { CatDogClassifier, type Prediction, type VideoPrediction } from '../vision/classifier';
import { IMAGE_EXTENSIONS, VIDEO_INPUT_EXTENSIONS } from '../vision/media';
import { defaultClassifier } from '../pipeline/models';
import { errorMessage, InputError } from '../util/errors';
import { parseCli, runCli, UsageError } from '../util/cli';
import { flag } from '../util/flags';

const USAGE = `npm run classify -- FILE|DIR [...] [--classifier DIR|zero-shot] [--fps 2] [--vote median|mean] [--json] [--backend NAME]
Prints cat or dog and the probability for each image, and per frame plus the vote for each video.`;

async function expand(target: string): Promise<string[]> {
  const st = await fsp.stat(target).catch(() => null);
  if (!st?.isDirectory()) return [target];
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of (await fsp.readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const st = e.isSymbolicLink() ? await fsp.stat(p).catch(() => null) : e;
      if (st?.isDirectory()) await walk(p);
      else if (st?.isFile() && [...IMAGE_EXTENSIONS, ...VIDEO_INPUT_EXTENSIONS].includes(path.extname(e.name).toLowerCase())) out.push(p);
    }
  };
  await walk(target);
  return out;
}

async function main(): Promise<void> {
  const { values, positionals } = parseCli(
    process.argv.slice(2),
    {
      classifier: { type: 'string' },
      fps: { type: 'string', default: '2' },
      vote: { type: 'string', default: 'median' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
    },
    USAGE,
    true,
  );
  if (positionals.length === 0) throw new UsageError(`give at least one image, video or folder\n\n${USAGE}`);
  if (values.vote !== 'median' && values.vote !== 'mean') throw new UsageError('--vote is median or mean');
  const fps = flag('fps', values.fps) as number;
  // a folder with nothing to classify is an error, said before any model is loaded
  for (const p of positionals) {
    if ((await fsp.stat(p).catch(() => null))?.isDirectory() && (await expand(p)).length === 0) {
      throw new InputError(p, 'empty', `holds no images or videos (${[...IMAGE_EXTENSIONS, ...VIDEO_INPUT_EXTENSIONS].join(' ')})`);
    }
  }
  await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const clf =
    values.classifier === 'zero-shot' ? await CatDogClassifier.load(null) : await CatDogClassifier.load(values.classifier ?? (await defaultClassifier()));
  let failures = 0;
  try {
    const files = (await Promise.all(positionals.map(expand))).flat();
    if (!values.json) process.stdout.write(`classifier: ${clf.mode}\n`);
    for (const file of files) {
      let r: Prediction | VideoPrediction;
      try {
        r = await clf.classify(file, { fps, vote: values.vote });
      } catch (e) {
        failures++;
        if (values.json) process.stdout.write(`${JSON.stringify({ file, error: errorMessage(e) })}\n`);
        else process.stderr.write(`error: ${errorMessage(e)}\n`);
        continue;
      }
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ file, ...r })}\n`);
        continue;
      }
      if ('frames' in r) {
        process.stdout.write(
          `${file}: ${r.className} (${(100 * r.probability).toFixed(1)} %, ${r.vote} of ${r.frames.length} frames at ${r.fps} fps, ${(100 * r.agreement).toFixed(0)} % agree, ${r.durationSeconds.toFixed(1)} s)\n`,
        );
        process.stdout.write('    time  label  P(dog)\n');
        for (const f of r.frames) process.stdout.write(`  ${f.time.toFixed(1).padStart(6)}  ${f.className.padEnd(5)}  ${f.pDog.toFixed(3)}\n`);
      } else process.stdout.write(`${file}: ${r.className} (${(100 * r.probability).toFixed(1)} %)\n`);
    }
  } finally {
    clf.dispose();
  }
  if (failures > 0) process.exitCode = 1;
}

runCli(main);
