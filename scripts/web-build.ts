/**
 * npm run web:build -- [--generator DIR] [--late-model DIR|none] [--out web/dist] [--no-minify]
 *
 * The static page in web/dist/: web/src/main.ts bundled by esbuild (it imports the models, sampling,
 * audio maths and classifier maths from src/ — no second copy), the page files, tfjs' wasm binaries,
 * the weights-only files of the checkpoints it runs (generator and its late expert, classifier head,
 * darknet backbone; models/generators.json says whether there is a late expert),
 * and the licensed example photos of data/images/. Any static host can serve the folder.
 * Node-only modules (fs, ffmpeg, worker threads, checkpoint file I/O) imported from the page's code
 * fail the build.
 */
import { promises as fsp } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { lateExpertPath } from '../src/pipeline/generators';
import { shippedPath } from '../src/pipeline/models';
import { findCheckpoint } from '../src/checkpoint/checkpoint';
import { InputError } from '../src/util/errors';
import { parseCli, runCli } from '../src/util/cli';
import { projectRoot } from '../src/util/project';

export interface BuildOptions {
  /** The generator's run folder (latest.json) or step folder. Default checkpoints/generator. */
  generator?: string;
  /**
   * The generator's late expert, or 'none'. Default: the shipped one when `generator` is the shipped
   * one too (as loadGenerator chooses), else none.
   */
  late?: string;
  /** The classifier head's run folder. Default checkpoints/classifier-head. */
  head?: string;
  out?: string;
  minify?: boolean;
  quiet?: boolean;
}

export interface BuildReport {
  out: string;
  files: Array<{ path: string; bytes: number }>;
  totalBytes: number;
  bundleBytes: number;
  modelBytes: number;
  generator: string;
  /** The late expert's checkpoint folder, or null (the generator samples alone). */
  late: string | null;
  seconds: number;
}

const NODE_ONLY = new Set([
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  '@ffmpeg-installer/ffmpeg',
  'webgpu',
  'zeromq',
  'tslab',
  'onnxruntime-node',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
]);

/** Fails the build when the page's own code (src/, web/) imports a Node-only module. */
function nodeGuard(root: string): esbuild.Plugin {
  return {
    name: 'node-only-guard',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (!NODE_ONLY.has(args.path)) return undefined;
        const rel = path.relative(root, args.importer);
        if (rel.startsWith('node_modules') || rel.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        return {
          errors: [{ text: `Node-only module '${args.path}' imported by ${rel}: the browser bundle must not contain it (factor the browser-safe part out)` }],
        };
      });
    },
  };
}

async function copy(src: string, dst: string): Promise<void> {
  await fsp.mkdir(path.dirname(dst), { recursive: true });
  await fsp.copyFile(src, dst);
}

/** Copy a checkpoint's weights-only files (latest.json → step folder: checkpoint.json, model.json, its weight files). */
async function copyCheckpoint(where: string, dst: string): Promise<string> {
  const dir = await findCheckpoint(where);
  if (!dir) throw new InputError(where, 'not-found', 'no checkpoint here (no latest.json or checkpoint.json); train one or pass its folder');
  const step = path.basename(dir);
  const manifest = JSON.parse(await fsp.readFile(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
  const meta = JSON.parse(await fsp.readFile(path.join(dir, 'checkpoint.json'), 'utf8')) as { step: number };
  for (const f of ['checkpoint.json', 'model.json', ...manifest.weightsManifest.flatMap((g) => g.paths)])
    await copy(path.join(dir, f), path.join(dst, step, f));
  await fsp.writeFile(path.join(dst, 'latest.json'), `${JSON.stringify({ format: 'soundtrack-lab/latest', step: meta.step, dir: step })}\n`);
  return dir;
}

async function listFiles(dir: string, base = dir): Promise<Array<{ path: string; bytes: number }>> {
  const out: Array<{ path: string; bytes: number }> = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push({ path: path.relative(base, p), bytes: (await fsp.stat(p)).size });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

export async function buildSite(o: BuildOptions = {}): Promise<BuildReport> {
  const t0 = performance.now();
  const root = projectRoot();
  const out = path.resolve(o.out ?? path.join(root, 'web', 'dist'));
  const generator = path.resolve(o.generator ?? shippedPath('generator'));
  if (!(await findCheckpoint(generator))) {
    throw new InputError(
      generator,
      'not-found',
      'no generator checkpoint here: the page needs one (pass --generator DIR, e.g. a run folder of npm run train:generator)',
    );
  }
  const late = await lateExpertPath(o);
  if (late !== null && !(await findCheckpoint(late)))
    throw new InputError(
      path.resolve(late),
      'not-found',
      'no late-expert checkpoint here (no latest.json or checkpoint.json); pass its folder or --late-model none',
    );
  await fsp.rm(out, { recursive: true, force: true });
  await fsp.mkdir(out, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [path.join(root, 'web', 'src', 'main.ts')],
    outfile: path.join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: o.minify ?? true,
    sourcemap: false,
    legalComments: 'linked',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [nodeGuard(root)],
    metafile: true,
    logLevel: 'silent',
  });
  for (const w of result.warnings) if (!o.quiet) process.stderr.write(`esbuild: ${w.text}\n`);
  for (const f of ['index.html', 'style.css']) await copy(path.join(root, 'web', f), path.join(out, f));
  const wasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'])
    await copy(path.join(wasmDir, f), path.join(out, 'wasm', f));
  const genDir = await copyCheckpoint(generator, path.join(out, 'models', 'generator'));
  const lateDir = late === null ? null : await copyCheckpoint(path.resolve(late), path.join(out, 'models', 'generator-late'));
  await fsp.writeFile(path.join(out, 'models', 'generators.json'), `${JSON.stringify({ generator: 'generator', late: lateDir ? 'generator-late' : null })}\n`);
  await copyCheckpoint(path.resolve(o.head ?? shippedPath('classifier')), path.join(out, 'models', 'classifier-head'));
  const darknet = path.join(root, 'checkpoints', 'darknet-tiny');
  const dm = JSON.parse(await fsp.readFile(path.join(darknet, 'model.json'), 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
  for (const f of ['model.json', 'NOTICE.md', ...dm.weightsManifest.flatMap((g) => g.paths)])
    await copy(path.join(darknet, f), path.join(out, 'models', 'darknet-tiny', f));
  const images = path.join(root, 'data', 'images');
  const im = JSON.parse(await fsp.readFile(path.join(images, 'manifest.json'), 'utf8')) as { entries: Array<{ file: string }> };
  await copy(path.join(images, 'manifest.json'), path.join(out, 'examples', 'manifest.json'));
  // manifest paths are relative to data/ ("images/cat/…")
  for (const e of im.entries) await copy(path.join(root, 'data', e.file), path.join(out, 'examples', e.file));
  await copy(path.join(root, 'data', 'LICENSES.md'), path.join(out, 'examples', 'LICENSES.md'));
  const files = await listFiles(out);
  const sum = (pred: (p: string) => boolean) => files.filter((f) => pred(f.path)).reduce((a, f) => a + f.bytes, 0);
  const report: BuildReport = {
    out,
    files,
    totalBytes: sum(() => true),
    bundleBytes: sum((p) => p === 'app.js'),
    modelBytes: sum((p) => p.startsWith(`models${path.sep}`)),
    generator: genDir,
    late: lateDir,
    seconds: (performance.now() - t0) / 1000,
  };
  await fsp.writeFile(
    path.join(out, 'build.json'),
    `${JSON.stringify({ ...report, out: path.relative(root, out), generator: path.relative(root, genDir), late: lateDir && path.relative(root, lateDir) }, null, 1)}\n`,
  );
  return report;
}

export const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;

const USAGE = `npm run web:build -- [--generator DIR] [--late-model DIR|none] [--head DIR] [--out web/dist] [--no-minify]
Builds the static page (web/dist by default): the browser bundle of web/src, tfjs wasm binaries, the
generator (default checkpoints/generator with its late expert checkpoints/generator-late), the
classifier head and backbone, the example photos.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    { generator: { type: 'string' }, 'late-model': { type: 'string' }, head: { type: 'string' }, out: { type: 'string' }, 'no-minify': { type: 'boolean' } },
    USAGE,
  );
  const r = await buildSite({
    ...(values.generator ? { generator: values.generator } : {}),
    ...(values['late-model'] ? { late: values['late-model'] } : {}),
    ...(values.head ? { head: values.head } : {}),
    ...(values.out ? { out: values.out } : {}),
    minify: !values['no-minify'],
  });
  process.stdout.write(
    `web/dist: ${r.files.length} files, ${mb(r.totalBytes)} (bundle ${mb(r.bundleBytes)}, models ${mb(r.modelBytes)}) → ${r.out} in ${r.seconds.toFixed(1)} s; generator ${r.generator}${r.late ? ` + late expert ${r.late}` : ''}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) runCli(main);
