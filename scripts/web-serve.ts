/**
 * npm run web -- [--port 8080] [--generator DIR] [--no-build]
 *
 * Builds the page (scripts/web-build.ts) and serves web/dist on 127.0.0.1. The server sends the
 * cross-origin-isolation headers (COOP/COEP), so tfjs' wasm backend can use threads; any static
 * host serves the same folder without them (one wasm thread).
 */
import { createReadStream, promises as fsp } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { nonNegative, parseCli, runCli } from '../src/util/cli';
import { projectRoot } from '../src/util/project';
import { buildSite, mb } from './web-build';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.webp': 'image/webp',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface SiteServer {
  url: string;
  close(): Promise<void>;
}

/** Serve `dir` on 127.0.0.1:`port` (0: any free port). */
export async function serveSite(dir: string, port = 0): Promise<SiteServer> {
  const root = path.resolve(dir);
  const server = http.createServer(async (req, res) => {
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-cache' };
    try {
      const u = new URL(req.url ?? '/', 'http://localhost');
      let rel = decodeURIComponent(u.pathname);
      if (rel.endsWith('/')) rel += 'index.html';
      const file = path.resolve(root, `.${rel}`);
      if (file !== root && !file.startsWith(root + path.sep)) throw Object.assign(new Error('outside'), { status: 403 });
      const st = await fsp.stat(file);
      if (!st.isFile()) throw Object.assign(new Error('not a file'), { status: 404 });
      // shard files without an extension (darknet's group1-shard1of1) are binary
      const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': st.size });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    } catch (e) {
      const status = (e as { status?: number }).status ?? 404;
      res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(status === 403 ? 'forbidden\n' : 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${a.port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const USAGE = `npm run web -- [--port 8080] [--generator DIR] [--late-model DIR|none] [--head DIR] [--out web/dist] [--no-build]
Builds the page (see npm run web:build) and serves it on http://127.0.0.1:PORT/ until stopped.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      port: { type: 'string' },
      generator: { type: 'string' },
      'late-model': { type: 'string' },
      head: { type: 'string' },
      out: { type: 'string' },
      'no-build': { type: 'boolean' },
    },
    USAGE,
  );
  const port = nonNegative('port', values.port) ?? 8080;
  const out = path.resolve(values.out ?? path.join(projectRoot(), 'web', 'dist'));
  if (!values['no-build']) {
    const r = await buildSite({
      out,
      ...(values.generator ? { generator: values.generator } : {}),
      ...(values['late-model'] ? { late: values['late-model'] } : {}),
      ...(values.head ? { head: values.head } : {}),
    });
    process.stdout.write(`built ${r.files.length} files, ${mb(r.totalBytes)} in ${r.seconds.toFixed(1)} s\n`);
  }
  const s = await serveSite(out, port);
  process.stdout.write(`serving ${path.relative(projectRoot(), out) || out} at ${s.url} (Ctrl-C stops)\n`);
  await new Promise<never>(() => undefined);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) runCli(main);
