/**
 * What the notebooks show and save: plotly figures (built in figures.ts) as HTML (shown inline in the notebook,
 * saved to figures/<name>.html next to one shared copy of plotly.min.js) and, when a Chromium is
 * available (CHROME_PATH or Debian's /usr/bin/chromium), as PNG rendered with puppeteer-core.
 * Audio and video become inline HTML players.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { runFfmpeg } from '../audio/ffmpeg';
import { encodeWav } from '../audio/wav';
import { writeFileAtomic } from '../util/fs';
import { projectRoot } from '../util/project';
import type { Figure } from './figures';

function plotlyFile(): string {
  return createRequire(path.join(projectRoot(), 'package.json')).resolve('plotly.js-dist-min/plotly.min.js');
}

/** `<script>` with plotly.js inlined: put it once at the top of a notebook (no network needed). */
export async function plotlyScript(): Promise<string> {
  return `<script type="text/javascript">${await fsp.readFile(plotlyFile(), 'utf8')}</script>`;
}

let figureCounter = 0;

/** A div + script drawing the figure (needs plotlyScript() earlier in the page/notebook). */
export function figureHtml(fig: Figure, height = 360): string {
  const id = `fig-${process.pid}-${figureCounter++}`;
  const layout = { height, margin: { l: 60, r: 20, t: 40, b: 50 }, ...fig.layout };
  return `<div id="${id}" style="width:100%;height:${height}px"></div><script type="text/javascript">Plotly.newPlot(${JSON.stringify(id)}, ${JSON.stringify(fig.data)}, ${JSON.stringify(layout)}, {responsive: true});</script>`;
}

export function chromePath(): string | null {
  const env = process.env.CHROME_PATH;
  if (env && existsSync(env)) return env;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (existsSync(p)) return p;
  return null;
}

interface Browser {
  newPage(): Promise<{
    setContent(html: string): Promise<void>;
    addScriptTag(tag: { path: string }): Promise<unknown>;
    evaluate<T>(fn: string): Promise<T>;
    close(): Promise<void>;
  }>;
  close(): Promise<void>;
}
let browser: Promise<Browser | null> | null = null;

let warned = false;
/** Say once per process why figures are HTML only (a missing optional part turns off one feature, not the run). */
function pngOff(why: string): null {
  if (!warned) process.stderr.write(`figures: HTML only, no PNG (${why})\n`);
  warned = true;
  return null;
}

async function getBrowser(): Promise<Browser | null> {
  const exe = chromePath();
  if (!exe) return pngOff('no Chromium: install Debian chromium or set CHROME_PATH');
  browser ??= (async () => {
    try {
      const pkg = 'puppeteer-core'; // optional: a variable specifier keeps the type check independent of it
      const mod = (await import(pkg)) as unknown as {
        launch(launchOptions: object): Promise<Browser>;
        default?: { launch(launchOptions: object): Promise<Browser> };
      };
      const launch = mod.launch ?? mod.default?.launch;
      if (!launch) return pngOff('puppeteer-core has no launch()');
      const b = await launch({
        executablePath: exe,
        pipe: true,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      });
      process.once('exit', () => void b.close());
      return b;
    } catch (e) {
      return pngOff(`puppeteer-core or Chromium cannot start: ${(e as Error).message.split('\n')[0]}`);
    }
  })();
  return browser;
}

/** Close the PNG renderer (call at the end of a notebook/run). */
export async function closeFigures(): Promise<void> {
  const b = browser ? await browser : null;
  browser = null;
  await b?.close();
}

/** Save a figure to figures/<name>.html (+ .png when Chromium is available); returns the HTML to show inline. */
export async function saveFigure(
  name: string,
  fig: Figure,
  options: { dir?: string; height?: number; width?: number } = {},
): Promise<{ html: string; files: string[] }> {
  const dir = options.dir ?? path.join(projectRoot(), 'figures');
  await fsp.mkdir(dir, { recursive: true });
  const lib = path.join(dir, 'plotly.min.js');
  if (!existsSync(lib)) await fsp.copyFile(plotlyFile(), lib);
  const html = figureHtml(fig, options.height);
  const files = [path.join(dir, `${name}.html`)];
  await writeFileAtomic(
    files[0] as string,
    `<!doctype html><html><head><meta charset="utf-8"><title>${name}</title><script src="plotly.min.js"></script></head><body>${html}</body></html>\n`,
  );
  const b = await getBrowser();
  if (b) {
    const page = await b.newPage();
    try {
      await page.setContent('<!doctype html><html><body><div id="p"></div></body></html>');
      await page.addScriptTag({ path: plotlyFile() });
      const w = options.width ?? 900;
      const h = options.height ?? 360;
      const layout = { width: w, height: h, margin: { l: 60, r: 20, t: 40, b: 50 }, ...fig.layout };
      const dataUrl = await page.evaluate<string>(
        `Plotly.newPlot('p', ${JSON.stringify(fig.data)}, ${JSON.stringify(layout)}).then((gd) => Plotly.toImage(gd, {format: 'png', width: ${w}, height: ${h}}))`,
      );
      if (typeof dataUrl === 'string' && dataUrl.startsWith('data:image/png;base64,')) {
        const png = path.join(dir, `${name}.png`);
        await writeFileAtomic(png, Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64'));
        files.push(png);
      }
    } finally {
      await page.close();
    }
  }
  return { html, files };
}

/** An inline audio player (16-bit WAV, base64). */
export function audioHtml(samples: Float32Array, sampleRate: number, caption = ''): string {
  const b64 = Buffer.from(encodeWav(samples, sampleRate, 'pcm16')).toString('base64');
  return `<figure style="margin:4px 0">${caption ? `<figcaption style="font-size:90%">${caption}</figcaption>` : ''}<audio controls src="data:audio/wav;base64,${b64}"></audio></figure>`;
}

/** An inline video player for a (small) MP4 file. */
export async function videoHtml(file: string, caption = '', width = 360): Promise<string> {
  const b64 = (await fsp.readFile(file)).toString('base64');
  return `<figure style="margin:4px 0">${caption ? `<figcaption style="font-size:90%">${caption}</figcaption>` : ''}<video controls width="${width}" src="data:video/mp4;base64,${b64}"></video></figure>`;
}

/** A PNG thumbnail of an image or a video's first frame, `width` pixels wide, as base64 (via ffmpeg). */
export async function thumbnailBase64(file: string, width: number): Promise<string> {
  const args = ['-loglevel', 'error', '-i', file, '-vf', `scale=${width}:-1`, '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', '-'];
  return (await runFfmpeg(args, file)).stdout.toString('base64');
}

/** An HTML table from rows (first row: header). */
export function tableHtml(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const esc = (s: string | number) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const [head, ...body] = rows;
  return `<table><thead><tr>${(head ?? []).map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** A Markdown table from rows (first row: header). */
export function tableMarkdown(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const [head, ...body] = rows;
  const line = (r: ReadonlyArray<string | number>) => `| ${r.join(' | ')} |`;
  return [line(head ?? []), `|${(head ?? []).map(() => '---').join('|')}|`, ...body.map(line)].join('\n');
}
