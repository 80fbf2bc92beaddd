/**
 * Notebooks run on the tslab kernel, which compiles TypeScript 5.0 to CommonJS with its own options
 * (module resolution node10, esModuleInterop, no import.meta, no top-level await) and ignores
 * tsconfig.json. This test compiles src/ the way tslab does, with tslab's own TypeScript, and
 * runs the emitted CommonJS in a plain Node process: what a notebook imports must work there.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = process.cwd();
const out = path.join(root, 'node_modules', '.cache', `soundtrack-tslab-compat-${process.pid}`);
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface TsApi {
  version: string;
  ModuleKind: { CommonJS: number };
  ModuleResolutionKind: { Node10: number };
  ScriptTarget: { ES2022: number };
  createProgram(files: string[], options: object): { emit(): { diagnostics: unknown[] } };
  getPreEmitDiagnostics(p: unknown): Array<{ file?: { fileName: string }; messageText: unknown }>;
  flattenDiagnosticMessageText(m: unknown, nl: string): string;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'cli' ? [] : sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

describe('src/ under the tslab kernel', () => {
  it("compiles with tslab's TypeScript 5.0 and options without errors", () => {
    const ts = createRequire(path.join(root, 'package.json'))('@tslab/typescript-for-tslab') as TsApi;
    expect(ts.version).toMatch(/^5\.0\./);
    const program = ts.createProgram(sources(path.join(root, 'src')), {
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      esModuleInterop: true,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts'],
      skipLibCheck: true,
      resolveJsonModule: true,
      // tslab emits declarations for every cell's imports: an exported function whose inferred type
      // names an unexported external type fails there (TS4058), so the test emits them too
      declaration: true,
      rootDir: path.join(root, 'src'),
      outDir: out,
    });
    const diags = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    expect(diags).toEqual([]);
    expect(program.emit().diagnostics).toEqual([]);
  });

  it('the emitted CommonJS runs: audio, data, backend', () => {
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'package.json'), '{"type":"commonjs"}\n');
    const script = `
      const audio = require('./audio/index.js');
      const data = require('./data/index.js');
      const backend = require('./backend/index.js');
      (async () => {
        const ds = await data.openDataset('embedded');
        const ex = await data.loadExample(ds.items[0], { cache: null });
        const mel = audio.logMelSpectrogram(ex.audio);
        const info = await backend.initBackend({ backend: 'cpu' });
        const y = audio.resample(ex.audio, 4000, 16000);
        console.log(JSON.stringify({ classes: ds.classes, n: ex.audio.length, frames: mel.frames, backend: info.name, up: y.length }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: out, encoding: 'utf8', env: { ...process.env, SOUNDTRACK_ROOT: root } });
    expect(r.stderr).toBe('');
    const got = JSON.parse(r.stdout) as { classes: string[]; n: number; frames: number; backend: string; up: number };
    expect(got.classes).toEqual(['cat', 'dog']);
    expect(got.n).toBeGreaterThan(1000);
    expect(got.frames).toBeGreaterThan(10);
    expect(got.backend).toBe('cpu');
    expect(got.up).toBe(got.n * 4);
  });
});
