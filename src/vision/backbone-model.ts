/**
 * A frozen image backbone as a tfjs model, without file I/O (the browser page uses it as is; the
 * Node loader in src/vision/backbone.ts adds reading model folders from disk): images → feature
 * vectors for the cat/dog head, and ImageNet probabilities for the zero-shot baseline.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../util/errors';

/** An RGB image [height, width, 3], values in [0, 1], row-major. */
export interface RgbImage {
  data: Float32Array;
  width: number;
  height: number;
}

export interface BackboneSpec {
  /** Name printed in reports. */
  name: string;
  /** Folder with model.json, a model.json path, or an http(s) URL to model.json. */
  source: string;
  format: 'layers' | 'graph';
  inputSize: number;
  /** How [0, 1] RGB is mapped to the network's input. */
  inputScale: 'unit' | 'byte' | 'symmetric' | 'imagenet';
  /** Layer (layers models) or node (graph models) whose activations are the features (global-average-pooled when spatial). */
  featureLayer: string;
  /** ImageNet classifier output for the zero-shot baseline: its class indices for cats and dogs. */
  imagenet: { output: string | null; catIndices: number[]; dogIndices: number[] } | null;
}

export class Backbone {
  readonly spec: BackboneSpec;
  private readonly layers: tf.LayersModel | null;
  private readonly graph: tf.GraphModel | null;
  private readonly featureModel: tf.LayersModel | null;

  private constructor(spec: BackboneSpec, layers: tf.LayersModel | null, graph: tf.GraphModel | null) {
    this.spec = spec;
    this.layers = layers;
    this.graph = graph;
    if (layers) {
      let layer: tf.layers.Layer;
      try {
        layer = layers.getLayer(spec.featureLayer);
      } catch {
        throw new InputError(
          spec.source,
          'bad-argument',
          `the model has no layer '${spec.featureLayer}' (layers: ${layers.layers
            .slice(-6)
            .map((l) => l.name)
            .join(', ')}, …)`,
        );
      }
      this.featureModel = tf.model({ inputs: layers.inputs, outputs: layer.output as tf.SymbolicTensor });
    } else this.featureModel = null;
  }

  /** Load the model behind `spec` through a tfjs IO handler (files in Node) or from a model.json URL (tf.io.http). */
  static async fromHandler(spec: BackboneSpec, handler: tf.io.IOHandler | string): Promise<Backbone> {
    try {
      if (spec.format === 'layers') return new Backbone(spec, await tf.loadLayersModel(handler), null);
      return new Backbone(spec, null, await tf.loadGraphModel(handler));
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(spec.source, 'decode-failed', `cannot load the ${spec.format} model: ${(e as Error).message.split('\n')[0]}`, { cause: e });
    }
  }

  /** [b, size, size, 3] network input from RGB images in [0, 1]. */
  input(images: readonly RgbImage[]): tf.Tensor4D {
    const s = this.spec.inputSize;
    return tf.tidy(() => {
      const buf = new Float32Array(images.length * s * s * 3);
      images.forEach((im, i) => {
        if (im.width !== s || im.height !== s) throw new Error(`image is ${im.width}×${im.height}, the backbone takes ${s}×${s}`);
        buf.set(im.data, i * s * s * 3);
      });
      const x = tf.tensor4d(buf, [images.length, s, s, 3]);
      switch (this.spec.inputScale) {
        case 'unit':
          return x;
        case 'byte':
          return tf.mul(x, 255) as tf.Tensor4D;
        case 'symmetric':
          return tf.sub(tf.mul(x, 2), 1) as tf.Tensor4D;
        case 'imagenet':
          return tf.div(tf.sub(x, tf.tensor1d([0.485, 0.456, 0.406])), tf.tensor1d([0.229, 0.224, 0.225])) as tf.Tensor4D;
      }
    });
  }

  private run(x: tf.Tensor4D, node: string | null): tf.Tensor {
    if (this.layers)
      return node
        ? (tf.model({ inputs: this.layers.inputs, outputs: this.layers.getLayer(node).output as tf.SymbolicTensor }).predict(x) as tf.Tensor)
        : (this.layers.predict(x) as tf.Tensor);
    const g = this.graph as tf.GraphModel;
    return (node ? g.execute(x, node) : g.execute(x)) as tf.Tensor;
  }

  /** Feature vectors [b, features]: the feature layer's activations, averaged over space when spatial. */
  features(images: readonly RgbImage[]): Float32Array[] {
    const out = tf.tidy(() => {
      const x = this.input(images);
      const y = this.featureModel ? (this.featureModel.predict(x) as tf.Tensor) : this.run(x, this.spec.featureLayer);
      return y.rank === 4 ? tf.mean(y, [1, 2]) : tf.reshape(y, [images.length, -1]);
    });
    const data = out.dataSync() as Float32Array;
    const dim = out.shape[1] as number;
    out.dispose();
    return images.map((_, i) => data.slice(i * dim, (i + 1) * dim));
  }

  /** Zero-shot P(dog) among cat and dog ImageNet classes (null when the backbone is no ImageNet classifier). */
  zeroShotDog(images: readonly RgbImage[]): number[] | null {
    const inet = this.spec.imagenet;
    if (!inet) return null;
    const probs = tf.tidy(() => tf.softmax(this.run(this.input(images), inet.output)).dataSync() as Float32Array);
    const k = probs.length / images.length;
    return images.map((_, i) => {
      const row = probs.subarray(i * k, (i + 1) * k);
      const cat = inet.catIndices.reduce((a, j) => a + (row[j] as number), 0);
      const dog = inet.dogIndices.reduce((a, j) => a + (row[j] as number), 0);
      return dog / Math.max(cat + dog, 1e-12);
    });
  }

  dispose(): void {
    this.layers?.dispose();
    this.graph?.dispose();
  }
}
