/** Jupyter notebook files (nbformat 4): read, make, write. */
import { promises as fsp } from 'node:fs';
import { writeFileAtomic } from '../util/fs';
import type { Output } from './kernel';

export interface Cell {
  cell_type: 'markdown' | 'code';
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: Output[];
  execution_count?: number | null;
}

export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: 4;
  nbformat_minor: number;
}

export const TSLAB_METADATA = {
  kernelspec: { display_name: 'TypeScript (soundtrack-lab)', language: 'typescript', name: 'tslab' },
  language_info: {
    codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
    file_extension: '.ts',
    mimetype: 'text/typescript',
    name: 'typescript',
    version: '5.0',
  },
};

export function cellSource(c: Cell): string {
  return Array.isArray(c.source) ? c.source.join('') : c.source;
}

export async function readNotebook(file: string): Promise<Notebook> {
  const nb = JSON.parse(await fsp.readFile(file, 'utf8')) as Notebook;
  if (nb.nbformat !== 4 || !Array.isArray(nb.cells)) throw new Error(`${file}: not an nbformat-4 notebook`);
  return nb;
}

/** Split text into the line array nbformat stores (each line keeps its newline). */
export function toLines(text: string): string[] {
  const lines = text.split('\n');
  return lines.map((l, i) => (i < lines.length - 1 ? `${l}\n` : l)).filter((l, i) => l !== '' || i < lines.length - 1);
}

export async function writeNotebook(file: string, nb: Notebook): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(nb, null, 1)}\n`);
}
