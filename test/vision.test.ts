import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index';
import { darknetTinySpec, loadBackbone, type BackboneSpec } from '../src/vision/backbone';
import { CatDogClassifier, trainClassifierHead } from '../src/vision/classifier';
import { probeMedia, readImage, readVideoFrames } from '../src/vision/media';
import { InputError } from '../src/util/errors';
import { ffmpeg, tempDir } from './helpers';

const dir = tempDir();
const CAT = 'data/images/cat/cat-gcompris-kitten-posing.webp';
const DOG = 'data/images/dog/dog-gcompris-german-shepherd.webp';
const video = path.join(dir, 'cat-then-dog.mp4');

async function inputError(p: Promise<unknown>): Promise<InputError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(InputError);
  return e as InputError;
}

/** A tiny layers model saved by the test: conv → ReLU → conv 'features' → global pool → dense(3). */
async function saveTinyLayersModel(folder: string): Promise<void> {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [32, 32, 3],
      filters: 4,
      kernelSize: 3,
      strides: 2,
      activation: 'relu',
      name: 'conv_a',
      kernelInitializer: 'glorotUniform',
      biasInitializer: 'zeros',
    }),
  );
  m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, activation: 'relu', name: 'features' }));
  m.add(tf.layers.globalAveragePooling2d({ name: 'pool' }));
  m.add(tf.layers.dense({ units: 3, name: 'logits' }));
  mkdirSync(folder, { recursive: true });
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      writeFileSync(path.join(folder, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      writeFileSync(
        path.join(folder, 'model.json'),
        JSON.stringify({
          modelTopology: a.modelTopology,
          format: a.format,
          generatedBy: a.generatedBy,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  m.dispose();
}

/** A tiny graph model written by hand: features = mean over height and width of the input image. */
function saveTinyGraphModel(folder: string): void {
  mkdirSync(folder, { recursive: true });
  const axes = new Int32Array([1, 2]);
  writeFileSync(path.join(folder, 'w.bin'), new Uint8Array(axes.buffer));
  const node = [
    {
      name: 'image',
      op: 'Placeholder',
      attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '32' }, { size: '32' }, { size: '3' }] } } },
    },
    { name: 'axes', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '2' }] } } } } },
    { name: 'pooled', op: 'Mean', input: ['image', 'axes'], attr: { keep_dims: { b: false }, T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' } } },
  ];
  writeFileSync(
    path.join(folder, 'model.json'),
    JSON.stringify({
      format: 'graph-model',
      modelTopology: { node, versions: { producer: 1 } },
      weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'axes', shape: [2], dtype: 'int32' }] }],
    }),
  );
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  // a 4-s video: 2.5 s of the cat photo, 1.5 s of the dog photo (made from the embedded photos);
  // 8 frames at 2 fps (ffmpeg's fps filter takes the nearest frame: slot 2.0 s shows 2.2 s, slot 2.5 s shows
  // 2.7 s): 5 cat frames, then 3 dog frames
  await ffmpeg([
    '-loop',
    '1',
    '-t',
    '2.5',
    '-i',
    CAT,
    '-loop',
    '1',
    '-t',
    '1.5',
    '-i',
    DOG,
    '-filter_complex',
    '[0]scale=320:240,setsar=1,fps=10[a];[1]scale=320:240,setsar=1,fps=10[b];[a][b]concat=n=2:v=1[v]',
    '-map',
    '[v]',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    video,
  ]);
}, 120_000);

describe('images and video frames through ffmpeg', () => {
  it('decodes webp/png/jpg to 224 × 224 RGB in [0, 1]', async () => {
    const im = await readImage(CAT);
    expect([im.width, im.height, im.data.length]).toEqual([224, 224, 224 * 224 * 3]);
    expect(im.data.reduce((a, v) => Math.max(a, v), 0)).toBeLessThanOrEqual(1);
    const png = path.join(dir, 'dog.png');
    const jpg = path.join(dir, 'dog.jpg');
    await ffmpeg(['-i', DOG, png]);
    await ffmpeg(['-i', DOG, jpg]);
    expect((await readImage(png, 64)).data.length).toBe(64 * 64 * 3);
    expect((await readImage(jpg, 64)).data.length).toBe(64 * 64 * 3);
  });

  it('bad images are clear errors naming the file', async () => {
    const text = path.join(dir, 'notes.jpg');
    writeFileSync(text, 'this is a text file, not a photo\n');
    const e1 = await inputError(readImage(text));
    expect(e1.message).toContain(text);
    expect(e1.code).toBe('decode-failed');
    const empty = path.join(dir, 'empty.png');
    writeFileSync(empty, '');
    expect((await inputError(readImage(empty))).code).toBe('empty');
    expect((await inputError(readImage(path.join(dir, 'missing.webp')))).code).toBe('not-found');
    expect((await inputError(readImage(path.join(dir, 'anim.gif')))).code).toBe('unsupported-format');
  });

  it('samples video frames at 2 fps and reads the duration', async () => {
    const info = await probeMedia(video);
    expect(info.video?.codec).toBe('h264');
    expect(info.durationSeconds).toBeCloseTo(4, 0);
    const v = await readVideoFrames(video);
    expect(v.frames.length).toBe(8);
    expect(v.times.slice(0, 3)).toEqual([0, 0.5, 1]);
  });

  it('a video without a video stream and an empty video are clear errors', async () => {
    const audioOnly = path.join(dir, 'audio-only.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=f=440:d=1', '-c:a', 'aac', audioOnly]);
    expect((await inputError(readVideoFrames(audioOnly))).message).toMatch(/has no video stream/);
    const empty = path.join(dir, 'empty.mp4');
    writeFileSync(empty, '');
    expect((await inputError(readVideoFrames(empty))).code).toBe('empty');
  });
});

describe('backbones', () => {
  it('the embedded Tiny Darknet: 512-dim features and a zero-shot P(dog) that gets the shepherd right', async () => {
    const b = await loadBackbone(await darknetTinySpec());
    const ims = [await readImage(CAT), await readImage(DOG)];
    const f = b.features(ims);
    expect(f[0]).toHaveLength(512);
    const p = b.zeroShotDog(ims)!;
    expect(p[1]).toBeGreaterThan(0.9);
    b.dispose();
  });

  it('loads user-supplied layers and graph models from a folder, with a chosen feature layer', async () => {
    const layersDir = path.join(dir, 'tiny-layers');
    await saveTinyLayersModel(layersDir);
    const spec: BackboneSpec = {
      name: 'tiny',
      source: layersDir,
      format: 'layers',
      inputSize: 32,
      inputScale: 'unit',
      featureLayer: 'features',
      imagenet: null,
    };
    const b = await loadBackbone(spec);
    expect(b.features([await readImage(CAT, 32)])[0]).toHaveLength(6);
    b.dispose();
    await expect(loadBackbone({ ...spec, featureLayer: 'nope' })).rejects.toThrow(/has no layer 'nope'/);
    const graphDir = path.join(dir, 'tiny-graph');
    saveTinyGraphModel(graphDir);
    const g = await loadBackbone({ ...spec, source: graphDir, format: 'graph', featureLayer: 'pooled' });
    const im = await readImage(DOG, 32);
    const feats = g.features([im])[0]!;
    expect(feats).toHaveLength(3);
    const meanRed = im.data.filter((_, i) => i % 3 === 0).reduce((a, v) => a + v, 0) / (32 * 32);
    expect(feats[0]).toBeCloseTo(meanRed, 4);
    g.dispose();
    await expect(loadBackbone({ ...spec, source: path.join(dir, 'no-model') })).rejects.toThrow(/backbone model not found/);
  });
});

describe('classifier head and video vote', () => {
  it('trains a head on a photo set (cat/ and dog/), beats chance on held-out photos, and votes per video frame', async () => {
    // photo set from the embedded photos with colour shifts and crops (a stand-in for a real set)
    const set = path.join(dir, 'photos');
    for (const [cls, src] of [
      ['cat', CAT],
      ['dog', DOG],
    ] as const) {
      mkdirSync(path.join(set, cls), { recursive: true });
      for (let i = 0; i < 6; i++) {
        await ffmpeg([
          '-i',
          src,
          '-vf',
          `crop=iw*${0.7 + 0.05 * i}:ih*${0.7 + 0.05 * i},hue=h=${i * 20}:s=${0.6 + 0.1 * i},scale=160:120`,
          path.join(set, cls, `${cls}${i}.png`),
        ]);
      }
    }
    const out = path.join(dir, 'head');
    const r = await trainClassifierHead({ images: set, out, steps: 60 });
    expect(r.images.split).toBe('seeded');
    expect(r.images.val).toBeGreaterThan(0);
    expect(r.zeroShot).not.toBeNull();
    expect(r.head.accuracy).toBeGreaterThanOrEqual(0.75);
    const clf = await CatDogClassifier.load(out);
    expect(clf.mode).toMatch(/head on tiny-darknet/);
    expect((await clf.classifyImage(DOG)).className).toBe('dog');
    expect((await clf.classifyImage(CAT)).className).toBe('cat');
    const v = await clf.classifyVideo(video);
    expect(v.frames.map((f) => f.className)).toEqual(['cat', 'cat', 'cat', 'cat', 'cat', 'dog', 'dog', 'dog']);
    expect(v.className).toBe('cat'); // the median of 5 cat and 3 dog frames
    expect(v.label).toBe(0);
    expect(v.agreement).toBe(5 / 8);
    expect(v.vote).toBe('median');
    clf.dispose();
  }, 120_000);

  it('a photo folder without cat/ and dog/ is a clear error', async () => {
    const bad = path.join(dir, 'no-classes');
    mkdirSync(path.join(bad, 'birds'), { recursive: true });
    await expect(trainClassifierHead({ images: bad, out: path.join(dir, 'x') })).rejects.toThrow(/no cat\/ folder/);
  });
});
