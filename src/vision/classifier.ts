/**
 * Image/video → cat or dog (thesis §2.4): a frozen backbone plus the trained head — or, without a
 * head, the backbone's zero-shot ImageNet vote. A video is cut into frames (2 per second by default);
 * every frame gets a label and the median label is the video's (the thesis' rule), or the mean
 * probability when asked.
 */
import * as path from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint';
import { InputError } from '../util/errors';
import { projectRoot, projectVersion } from '../util/project';
import * as tf from '@tensorflow/tfjs';
import { restoreClassifierHead } from '../pipeline/restore';
import { loadBackbone, darknetTinySpec, type Backbone, type BackboneSpec } from './backbone';
import { ClassifierHead, featureStats, type HeadConfig } from './head';
import { CLASS_NAMES, predict, probDog, voteFrames, type Prediction, type VoteResult } from './predict';
import { imageFeatures, openImageSet } from './images';
import { looksLikeImage } from './image-header';
import { isImageFile, isVideoFile, readImage, readVideoFrames, type RgbImage } from './media';

export { CLASS_NAMES, type Prediction } from './predict';

/** Store paths inside the project relative to it, so checkpoints work from any clone. */
function portable(spec: BackboneSpec): BackboneSpec {
  const rel = path.relative(projectRoot(), spec.source);
  return !rel.startsWith('..') && !path.isAbsolute(rel) && !/^https?:/.test(spec.source) ? { ...spec, source: `project:${rel}` } : spec;
}

function resolved(spec: BackboneSpec): BackboneSpec {
  return spec.source.startsWith('project:') ? { ...spec, source: path.join(projectRoot(), spec.source.slice('project:'.length)) } : spec;
}

export { voteVideo } from './predict';
export class CatDogClassifier {
  readonly backbone: Backbone;
  readonly head: ClassifierHead | null;
  /** Where the head came from (null = zero-shot). */
  readonly source: string | null;

  private constructor(backbone: Backbone, head: ClassifierHead | null, source: string | null) {
    this.backbone = backbone;
    this.head = head;
    this.source = source;
  }

  /** Load a trained head (and its backbone) from a checkpoint, or the zero-shot embedded backbone when `head` is null. */
  static async load(head: string | null, backboneSpec?: BackboneSpec): Promise<CatDogClassifier> {
    if (head === null) return new CatDogClassifier(await loadBackbone(backboneSpec ?? (await darknetTinySpec())), null, null);
    const ck = await loadCheckpoint<HeadConfig>(head, 'classifier-head');
    const h = restoreClassifierHead(ck.meta, ck.weights, ck.dir, resolved(ck.meta.model.backbone).source);
    try {
      return new CatDogClassifier(await loadBackbone(h.config.backbone), h, ck.dir);
    } catch (e) {
      h.dispose();
      throw e;
    }
  }

  get mode(): string {
    return this.head ? `head on ${this.backbone.spec.name}` : `zero-shot ${this.backbone.spec.name}`;
  }

  /** P(dog) for RGB images at the backbone's input size. */
  probDog(images: readonly RgbImage[]): number[] {
    return probDog(this.backbone, this.head, images);
  }

  async classifyImage(file: string): Promise<Prediction> {
    return predict(this.probDog([await readImage(file, this.backbone.spec.inputSize)])[0]);
  }

  async classifyVideo(file: string, options: { fps?: number; vote?: 'median' | 'mean' } = {}): Promise<VideoPrediction> {
    const v = await readVideoFrames(file, { size: this.backbone.spec.inputSize, ...(options.fps ? { fps: options.fps } : {}) });
    return { ...voteFrames(this.probDog(v.frames), v.times, options.vote ?? 'median'), durationSeconds: v.durationSeconds, fps: v.fps };
  }

  /** Classify an image or a video file by its type. */
  async classify(file: string, options: { fps?: number; vote?: 'median' | 'mean' } = {}): Promise<Prediction | VideoPrediction> {
    // by extension, else by content (a JPEG saved without extension is still an image)
    return isImageFile(file) || (!isVideoFile(file) && (await looksLikeImage(file))) ? this.classifyImage(file) : this.classifyVideo(file, options);
  }

  dispose(): void {
    this.backbone.dispose();
    this.head?.dispose();
  }
}

export interface VideoPrediction extends VoteResult {
  durationSeconds: number;
  fps: number;
}

export interface HeadTrainingReport {
  images: { train: number; val: number; split: 'given' | 'seeded' };
  backbone: string;
  zeroShot: { accuracy: number; confusion: number[][] } | null;
  head: { trainAccuracy: number; accuracy: number; confusion: number[][]; steps: number; finalLoss: number };
  seconds: { features: number; training: number };
  checkpoint: string;
}

function confusionOf(labels: readonly number[], pDog: readonly number[]): { accuracy: number; confusion: number[][] } {
  const c = [
    [0, 0],
    [0, 0],
  ];
  labels.forEach((l, i) => (c[l] as number[])[pDog[i] >= 0.5 ? 1 : 0]++);
  return { accuracy: ((c[0]?.[0] ?? 0) + (c[1]?.[1] ?? 0)) / Math.max(1, labels.length), confusion: c };
}

/**
 * Train the head on a photo set (thesis: 160 steps), report validation accuracy before (zero-shot)
 * and after, and save the head as a checkpoint.
 */
export async function trainClassifierHead(request: {
  images: string;
  out: string;
  backbone?: BackboneSpec;
  steps?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
  /** Skip the zero-shot baseline (it decodes the validation photos again). */
  skipZeroShot?: boolean;
  onProgress?: (done: number, total: number) => void;
}): Promise<HeadTrainingReport> {
  const set = await openImageSet(request.images, request.seed !== undefined ? { seed: request.seed } : {});
  const spec = request.backbone ?? (await darknetTinySpec());
  const backbone = await loadBackbone(spec);
  try {
    const t0 = performance.now();
    const feats = await imageFeatures(
      backbone,
      set.items.map((i) => i.path),
      request.onProgress ? { onProgress: request.onProgress } : {},
    );
    const tFeatures = (performance.now() - t0) / 1000;
    const train = set.items.map((it, i) => ({ it, f: feats[i] as Float32Array })).filter((x) => x.it.split === 'train');
    const val = set.items.map((it, i) => ({ it, f: feats[i] as Float32Array })).filter((x) => x.it.split === 'val');
    if (train.length < 2 || new Set(train.map((x) => x.it.label)).size < 2)
      throw new InputError(set.root, 'bad-dataset', 'needs training photos of both cats and dogs');
    // zero-shot baseline on the validation photos (needs the pixels again; ImageNet backbones only)
    let zeroShot: HeadTrainingReport['zeroShot'] = null;
    if (spec.imagenet && val.length > 0 && !request.skipZeroShot) {
      const p: number[] = [];
      for (let i = 0; i < val.length; i += 16) {
        const ims = await Promise.all(val.slice(i, i + 16).map((x) => readImage(x.it.path, spec.inputSize)));
        p.push(...(backbone.zeroShotDog(ims) as number[]));
      }
      zeroShot = confusionOf(
        val.map((x) => x.it.label),
        p,
      );
    }
    const stats = featureStats(train.map((x) => x.f));
    const cfg: HeadConfig = {
      format: 'soundtrack-lab/classifier-head',
      version: 1,
      backbone: portable(spec),
      featureDim: train[0]!.f.length,
      ...stats,
      classes: [...CLASS_NAMES],
      l2: request.l2 ?? 1e-3,
    };
    const head = new ClassifierHead(cfg, request.seed ?? 0);
    try {
      const t1 = performance.now();
      const steps = request.steps ?? 160;
      const losses = head.train(
        train.map((x) => x.f),
        train.map((x) => x.it.label),
        { steps, learningRate: request.learningRate ?? 0.05 },
      );
      const tTrain = (performance.now() - t1) / 1000;
      const trainAcc = confusionOf(
        train.map((x) => x.it.label),
        head.probDog(train.map((x) => x.f)),
      ).accuracy;
      const after = val.length
        ? confusionOf(
            val.map((x) => x.it.label),
            head.probDog(val.map((x) => x.f)),
          )
        : { accuracy: Number.NaN, confusion: [] };
      const checkpoint = await saveCheckpoint(request.out, {
        meta: {
          kind: 'classifier-head',
          model: cfg,
          step: steps,
          trainSeconds: tTrain,
          software: { soundtrackLab: projectVersion(), tfjs: tf.version.tfjs, backend: tf.getBackend() },
          train: { steps, learningRate: request.learningRate ?? 0.05, l2: cfg.l2, images: set.root, split: set.split },
          rng: null,
          sampler: null,
          data: {
            spec: set.root,
            layout: 'images',
            train: train.map((x) => path.relative(set.root, x.it.path)),
            val: val.map((x) => path.relative(set.root, x.it.path)),
          },
          metrics: {
            val_accuracy: after.accuracy,
            train_accuracy: trainAcc,
            zero_shot_accuracy: zeroShot?.accuracy ?? Number.NaN,
            final_loss: losses[losses.length - 1] ?? Number.NaN,
          },
        },
        params: head.params,
      });
      return {
        images: { train: train.length, val: val.length, split: set.split },
        backbone: spec.name,
        zeroShot,
        head: { trainAccuracy: trainAcc, accuracy: after.accuracy, confusion: after.confusion, steps, finalLoss: losses[losses.length - 1] ?? Number.NaN },
        seconds: { features: tFeatures, training: tTrain },
        checkpoint,
      };
    } finally {
      head.dispose();
    }
  } finally {
    backbone.dispose();
  }
}
