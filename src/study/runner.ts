/**
 * Run notebooks headless on the tslab kernel: one kernel per notebook, cells in order, outputs
 * streamed live to the terminal and stored in the executed notebook, which is written even when a
 * cell fails (the run then stops with that cell's error text).
 */
import * as path from 'node:path';
import { TslabKernel, type Output } from './kernel';
import { cellSource, readNotebook, writeNotebook } from './notebook';

export class NotebookError extends Error {
  constructor(
    readonly notebook: string,
    readonly cell: number,
    detail: string,
  ) {
    super(`${notebook}: cell ${cell} failed: ${detail}`);
    this.name = 'NotebookError';
  }
}

export interface RunNotebookOptions {
  /** Where the executed notebook is written. */
  out: string;
  /** Called with progress lines and the cells' text outputs as they stream. */
  log?: (text: string) => void;
  cellTimeoutMs?: number;
}

export interface RunNotebookResult {
  notebook: string;
  out: string;
  cells: number;
  seconds: number;
}

export async function runNotebook(file: string, options: RunNotebookOptions): Promise<RunNotebookResult> {
  const nb = await readNotebook(file);
  const log = options.log ?? (() => undefined);
  const kernel = new TslabKernel();
  const t0 = performance.now();
  const name = path.basename(file);
  await kernel.start();
  let failure: NotebookError | null = null;
  try {
    const code = nb.cells.map((c, i) => [c, i] as const).filter(([c]) => c.cell_type === 'code');
    let n = 0;
    for (const [cell, index] of code) {
      n++;
      const src = cellSource(cell);
      const first = src.split('\n').find((l) => l.trim()) ?? '';
      log(`[${name}] cell ${n}/${code.length}: ${first.slice(0, 80)}\n`);
      const r = await kernel.execute(
        src,
        (out: Output) => {
          if (out.output_type === 'stream') log(out.text);
        },
        options.cellTimeoutMs,
      );
      cell.outputs = r.outputs;
      cell.execution_count = r.executionCount;
      if (!r.ok) {
        failure = new NotebookError(name, index + 1, r.error ? `${r.error.ename}: ${r.error.evalue}` : 'unknown error');
        break;
      }
    }
  } finally {
    await kernel.shutdown();
    await writeNotebook(options.out, nb);
  }
  if (failure) throw failure;
  return { notebook: file, out: options.out, cells: nb.cells.length, seconds: (performance.now() - t0) / 1000 };
}
