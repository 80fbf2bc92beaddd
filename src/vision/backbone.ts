/**
 * Pretrained image backbones, kept frozen (thesis §2.4): the embedded Tiny Darknet, or any
 * TensorFlow.js layers or graph model the user gives by path or URL (e.g. a ResNet-50 as the thesis
 * used). A backbone turns images into feature vectors (global-average-pooled activations of a chosen
 * layer) for the cat/dog head, and — when it is an ImageNet classifier — into ImageNet probabilities
 * for the zero-shot baseline.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../util/errors';
import { projectRoot } from '../util/project';
import { Backbone, type BackboneSpec } from './backbone-model';

export { Backbone, type BackboneSpec } from './backbone-model';

/** The embedded default: Tiny Darknet (checkpoints/darknet-tiny), features from its last 512-channel layer. */
export async function darknetTinySpec(): Promise<BackboneSpec> {
  const dir = path.join(projectRoot(), 'checkpoints', 'darknet-tiny');
  const map = JSON.parse(await fsp.readFile(path.join(dir, 'darknet_imagenet_map.json'), 'utf8')) as { cat_idx: number[]; dog_idx: number[] };
  return {
    name: 'tiny-darknet (ImageNet, embedded)',
    source: dir,
    format: 'layers',
    inputSize: 224,
    inputScale: 'unit',
    featureLayer: 'leaky_re_lu_14',
    imagenet: { output: null, catIndices: map.cat_idx, dogIndices: map.dog_idx },
  };
}

interface ModelArtifactsJson {
  modelTopology?: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/** An IO handler that reads a tfjs model folder from disk (tfjs without tfjs-node has no file://). */
export function fileHandler(modelJson: string): tf.io.IOHandler {
  return {
    load: async () => {
      let json: ModelArtifactsJson;
      try {
        json = JSON.parse(await fsp.readFile(modelJson, 'utf8')) as ModelArtifactsJson;
      } catch (e) {
        throw new InputError(modelJson, 'not-found', `cannot read the model description (${(e as Error).message})`, { cause: e });
      }
      if (!json.modelTopology || !Array.isArray(json.weightsManifest))
        throw new InputError(modelJson, 'bad-argument', 'is not a TensorFlow.js model.json (no modelTopology / weightsManifest)');
      const dir = path.dirname(modelJson);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const parts: Buffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          try {
            parts.push(await fsp.readFile(path.join(dir, p)));
          } catch (e) {
            throw new InputError(path.join(dir, p), 'not-found', 'weight shard missing', { cause: e });
          }
        }
      }
      const data = Buffer.concat(parts);
      const artifacts: tf.io.ModelArtifacts = {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
      };
      if (json.format) artifacts.format = json.format;
      if (json.generatedBy) artifacts.generatedBy = json.generatedBy;
      if (json.convertedBy !== undefined) artifacts.convertedBy = json.convertedBy;
      return artifacts;
    },
  };
}

async function handlerFor(source: string): Promise<tf.io.IOHandler> {
  if (/^https?:\/\//.test(source)) return tf.io.http(source, { fetchFunc: globalThis.fetch });
  let file = source;
  try {
    if ((await fsp.stat(source)).isDirectory()) file = path.join(source, 'model.json');
  } catch (e) {
    throw new InputError(source, 'not-found', 'backbone model not found', { cause: e });
  }
  return fileHandler(file);
}

/** Load a backbone from a folder, a model.json path or an http(s) URL. */
export async function loadBackbone(spec: BackboneSpec): Promise<Backbone> {
  return Backbone.fromHandler(spec, await handlerFor(spec.source));
}
