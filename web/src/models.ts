/**
 * The page's models, fetched from the static site and rebuilt with the project's own code:
 * the mel-flow generator and its late expert when the build has one (src/models/mel-flow.ts via
 * src/pipeline/restore.ts; models/generators.json says which), the cat/dog head
 * (src/vision/head.ts) and its frozen backbone (src/vision/backbone-model.ts, a tfjs layers model).
 * Paths are those web:build writes (scripts/web-build.ts).
 */
import type { MelFlow, MelFlowConfig } from '../../src/models/mel-flow';
import { restoreClassifierHead, restoreMelFlow } from '../../src/pipeline/restore';
import { fetchCheckpoint } from '../../src/checkpoint/fetch';
import { Backbone } from '../../src/vision/backbone-model';
import type { ClassifierHead, HeadConfig } from '../../src/vision/head';

export const MODEL_PATHS = {
  generators: 'models/generators.json',
  generator: 'models/generator',
  late: 'models/generator-late',
  head: 'models/classifier-head',
  backbone: 'models/darknet-tiny/model.json',
} as const;

export interface PageModels {
  generator: MelFlow;
  generatorStep: number;
  /** The late expert (sampled from its switch time on, src/sample/mel-flow.ts pairField), or null. */
  late: { model: MelFlow; step: number; url: string } | null;
  /** Where the generator came from (for error messages). */
  generatorUrl: string;
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
  const listed = await wrap('list of generators', fetchGenerators(url(MODEL_PATHS.generators)));
  const [gen, lateCk, headCk] = await Promise.all([
    wrap('sound generator', fetchCheckpoint<MelFlowConfig>(url(MODEL_PATHS.generator), 'mel-flow')),
    listed.late ? wrap("sound generator's late expert", fetchCheckpoint<MelFlowConfig>(url(MODEL_PATHS.late), 'mel-flow')) : null,
    wrap('image classifier head', fetchCheckpoint<HeadConfig>(url(MODEL_PATHS.head), 'classifier-head')),
  ]);
  const generator = restoreMelFlow(gen.meta, gen.weights, gen.url);
  const late = lateCk ? { model: restoreMelFlow(lateCk.meta, lateCk.weights, lateCk.url), step: lateCk.meta.step, url: lateCk.url } : null;
  const head = restoreClassifierHead(headCk.meta, headCk.weights, headCk.url, url(MODEL_PATHS.backbone));
  try {
    const backbone = await wrap('image backbone', Backbone.fromHandler(head.config.backbone, head.config.backbone.source));
    return { generator, generatorStep: gen.meta.step, generatorUrl: gen.url, late, head, backbone };
  } catch (e) {
    generator.dispose();
    late?.model.dispose();
    head.dispose();
    throw e;
  }
}

/** models/generators.json as web:build writes it: { generator: 'generator', late: 'generator-late' | null }. */
async function fetchGenerators(href: string): Promise<{ late: boolean }> {
  const r = await fetch(href);
  if (!r.ok) throw new Error(`${href}: HTTP ${r.status}`);
  const j = (await r.json()) as { late?: unknown };
  if (j.late !== null && j.late !== 'generator-late') throw new Error(`${href}: 'late' must be "generator-late" or null`);
  return { late: j.late !== null };
}
