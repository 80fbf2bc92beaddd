/**
 * The page's models, fetched from the static site and rebuilt with the project's own code:
 * the mel-flow generator (src/models/mel-flow.ts via src/pipeline/restore.ts), the cat/dog head
 * (src/vision/head.ts) and its frozen backbone (src/vision/backbone-model.ts, a tfjs layers model).
 * Paths are those web:build writes (scripts/web-build.ts).
 */
import type { MelFlow, MelFlowConfig } from '../../src/models/mel-flow';
import { restoreClassifierHead, restoreMelFlow } from '../../src/pipeline/restore';
import { fetchCheckpoint } from '../../src/checkpoint/fetch';
import { Backbone } from '../../src/vision/backbone-model';
import type { ClassifierHead, HeadConfig } from '../../src/vision/head';

export const MODEL_PATHS = {
  generator: 'models/generator',
  head: 'models/classifier-head',
  backbone: 'models/darknet-tiny/model.json',
} as const;

export interface PageModels {
  generator: MelFlow;
  generatorStep: number;
  head: ClassifierHead;
  backbone: Backbone;
}

export class ModelLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

/** Load all three (in parallel); any failure is a ModelLoadError naming the file. */
export async function loadPageModels(base: string): Promise<PageModels> {
  const url = (p: string) => new URL(p, base).href;
  const wrap = async <T>(what: string, p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      throw new ModelLoadError(`The ${what} failed to load: ${(e as Error).message}`, { cause: e });
    }
  };
  const [gen, headCk] = await Promise.all([
    wrap('sound generator', fetchCheckpoint<MelFlowConfig>(url(MODEL_PATHS.generator), 'mel-flow')),
    wrap('image classifier head', fetchCheckpoint<HeadConfig>(url(MODEL_PATHS.head), 'classifier-head')),
  ]);
  const generator = restoreMelFlow(gen.meta, gen.weights, gen.url);
  const head = restoreClassifierHead(headCk.meta, headCk.weights, headCk.url, url(MODEL_PATHS.backbone));
  try {
    const backbone = await wrap('image backbone', Backbone.fromHandler(head.config.backbone, head.config.backbone.source));
    return { generator, generatorStep: gen.meta.step, head, backbone };
  } catch (e) {
    generator.dispose();
    head.dispose();
    throw e;
  }
}
