/** Each study step's numbers as <out>/results/NN-*.json: written by its notebook, read by 07-tables. */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/fs';
import { resultsDir, type StudyConfig } from './config';

export async function saveResult(cfg: StudyConfig, name: string, value: unknown): Promise<void> {
  await writeFileAtomic(path.join(resultsDir(cfg), `${name}.json`), `${JSON.stringify(value, null, 1)}\n`);
}

export async function readResult<T>(cfg: StudyConfig, name: string): Promise<T | null> {
  try {
    return JSON.parse(await fsp.readFile(path.join(resultsDir(cfg), `${name}.json`), 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The lines of a training run's metrics.jsonl. */
export async function readMetricsLog<Line extends { step: number; split: string }>(file: string): Promise<Line[]> {
  return (await fsp.readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
}
