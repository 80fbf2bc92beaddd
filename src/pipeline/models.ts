/** Where the shipped checkpoints live (checkpoints/ in the project) and how to find them. */
import * as path from 'node:path';
import { findCheckpoint } from '../checkpoint/checkpoint';
import { projectRoot } from '../util/project';

export const SHIPPED = {
  codec: 'checkpoints/codec',
  top: 'checkpoints/prior-top',
  bottom: 'checkpoints/prior-bottom',
  classifier: 'checkpoints/classifier-head',
  generator: 'checkpoints/generator',
  /** The late expert of the default generator (t ≥ switchAt; src/sample/mel-flow.ts expertField). */
  generatorLate: 'checkpoints/generator-late',
  judge: 'checkpoints/judge',
} as const;

export function shippedPath(which: keyof typeof SHIPPED): string {
  return path.join(projectRoot(), SHIPPED[which]);
}

/** The shipped classifier head, or null (zero-shot) when the project has none. */
export async function defaultClassifier(): Promise<string | null> {
  const p = shippedPath('classifier');
  return (await findCheckpoint(p)) ? p : null;
}
