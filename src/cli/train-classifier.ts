/**
 * npm run train:classifier -- --images DIR [--out checkpoints/classifier-head] [--backbone PATH|URL --format
 * layers|graph --feature-layer NAME --input-size 224 --input-scale unit|byte|symmetric|imagenet] [--steps
 * 160]
 */
import { formatBackend, initBackend } from '../backend/index';
import type { BackboneSpec } from '../vision/backbone';
import { trainClassifierHead } from '../vision/classifier';
import { parseCli, runCli, UsageError } from '../util/cli';
import { flag } from '../util/flags';

const USAGE = `npm run train:classifier -- --images DIR [--out DIR] [--steps 160] [--lr 0.05] [--l2 0.001] [--no-zero-shot] [--seed 0] [--backend NAME]
                            [--backbone PATH|URL --format layers|graph --feature-layer NAME --input-size 224
                             --input-scale unit|byte|symmetric|imagenet]
DIR holds cat/ and dog/ photo folders, or train/ and val/ each with cat/ and dog/. Without --backbone the
embedded Tiny Darknet is the frozen backbone (and gives the zero-shot baseline).`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      images: { type: 'string' },
      out: { type: 'string', default: 'checkpoints/classifier-head' },
      steps: { type: 'string', default: '160' },
      lr: { type: 'string', default: '0.05' },
      l2: { type: 'string', default: '0.001' },
      'no-zero-shot': { type: 'boolean' },
      seed: { type: 'string', default: '0' },
      backbone: { type: 'string' },
      format: { type: 'string', default: 'layers' },
      'feature-layer': { type: 'string' },
      'input-size': { type: 'string', default: '224' },
      'input-scale': { type: 'string', default: 'unit' },
      backend: { type: 'string' },
    },
    USAGE,
  );
  if (!values.images) throw new UsageError(`--images is required\n\n${USAGE}`);
  const steps = flag('steps', values.steps) as number;
  const lr = flag('lr', values.lr) as number;
  const l2 = flag('l2', values.l2) as number;
  const seed = flag('seed', values.seed) as number;
  const inputSize = flag('input-size', values['input-size']) as number;
  let backbone: BackboneSpec | undefined;
  if (values.backbone) {
    if (values.format !== 'layers' && values.format !== 'graph') throw new UsageError('--format is layers or graph');
    if (!values['feature-layer']) throw new UsageError('--feature-layer is required with --backbone (the layer/node whose activations are the features)');
    if (!['unit', 'byte', 'symmetric', 'imagenet'].includes(String(values['input-scale'])))
      throw new UsageError('--input-scale is unit, byte, symmetric or imagenet');
    backbone = {
      name: values.backbone,
      source: values.backbone,
      format: values.format,
      inputSize,
      inputScale: values['input-scale'] as BackboneSpec['inputScale'],
      featureLayer: values['feature-layer'],
      imagenet: null,
    };
  }
  const info = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  process.stderr.write(`backend ${formatBackend(info)}\n`);
  const r = await trainClassifierHead({
    images: values.images,
    out: String(values.out),
    steps,
    learningRate: lr,
    l2,
    skipZeroShot: values['no-zero-shot'] ?? false,
    seed,
    ...(backbone ? { backbone } : {}),
    onProgress: (d, t) => {
      if (d === t || d % 200 === 0) process.stderr.write(`features ${d}/${t}\n`);
    },
  });
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  process.stdout.write(
    `${[
      `photos     ${r.images.train} train / ${r.images.val} val (${r.images.split} split)`,
      `backbone   ${r.backbone} (frozen)`,
      r.zeroShot
        ? `before     zero-shot ImageNet cat-vs-dog: ${pct(r.zeroShot.accuracy)} on val  (confusion [[cat→cat, cat→dog], [dog→cat, dog→dog]] = ${JSON.stringify(r.zeroShot.confusion)})`
        : 'before     (no ImageNet output: no zero-shot baseline)',
      `after      head (${r.head.steps} steps): ${pct(r.head.accuracy)} on val, ${pct(r.head.trainAccuracy)} on train  (confusion ${JSON.stringify(r.head.confusion)})`,
      `time       features ${r.seconds.features.toFixed(1)} s, head ${r.seconds.training.toFixed(1)} s`,
      `checkpoint ${r.checkpoint}`,
    ].join('\n')}\n`,
  );
}

runCli(main);
