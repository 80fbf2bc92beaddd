/**
 * npm run test:web -- [--generator DIR]   (default checkpoints/generator; without one, a tiny stand-in trained here)
 *
 * The page in a real browser: builds web/dist (scripts/web-build.ts), serves it on 127.0.0.1, drives
 * Debian's /usr/bin/chromium headless with puppeteer-core, and checks
 *  1. a bundled photo → its label, a non-silent 4 kHz clip of 28,800 samples (cold load included);
 *  2. a short video (made here with the project's ffmpeg from a bundled photo) → frames with labels,
 *     the median vote, and the video and the generated track playing together;
 *  3. a text file and a video the browser cannot decode → a clear error, no stage left running;
 *  4. labelled controls, keyboard reach, no sideways scrolling on a phone-sized viewport.
 * Screenshots go to figures/web-*.png, measurements to figures/web-measurements.json.
 * Where Chromium or puppeteer-core is missing or cannot start, it says so and skips (exit 0, "SKIPPED").
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { requireFfmpeg } from '../../src/audio/ffmpeg';
import { initBackend } from '../../src/backend/index';
import { shippedPath } from '../../src/pipeline/models';
import { findCheckpoint } from '../../src/checkpoint/checkpoint';
import { trainMelFlow } from '../../src/train/mel-flow';
import { parseCli, runCli } from '../../src/util/cli';
import { projectRoot } from '../../src/util/project';
import { buildSite, mb } from '../../scripts/web-build';
import { serveSite } from '../../scripts/web-serve';
import type { PageState } from '../src/main';

type PageSnapshot = Omit<PageState, 'playback'>;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = projectRoot();
const figures = path.join(root, 'figures');
const failures: string[] = [];
const log = (s: string) => process.stdout.write(`${s}\n`);

function check(ok: boolean, what: string, detail = ''): void {
  log(`${ok ? '  ok ' : '  FAIL'} ${what}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures.push(`${what}${detail ? ` (${detail})` : ''}`);
}

function skip(why: string): never {
  log(`SKIPPED: test:web needs a headless Chromium: ${why}`);
  process.exit(0);
}

async function main(): Promise<void> {
  const { values } = parseCli(process.argv.slice(2), { generator: { type: 'string' } }, 'npm run test:web -- [--generator DIR]');
  type Puppeteer = typeof import('puppeteer-core');
  let puppeteer: Puppeteer;
  try {
    puppeteer = ((await import('puppeteer-core')) as unknown as { default: Puppeteer }).default;
  } catch (e) {
    skip(`puppeteer-core is not installed (${(e as Error).message.split('\n')[0]})`);
  }
  if (!existsSync(CHROMIUM)) skip(`${CHROMIUM} not found (apt-get install chromium, or set CHROMIUM_PATH)`);

  let generator = values.generator ?? process.env.SOUNDTRACK_WEB_GENERATOR;
  if (!generator && !(await findCheckpoint(shippedPath('generator')))) {
    // The page's wiring is what is tested; until checkpoints/generator ships, a tiny generator stands in.
    generator = await fsp.mkdtemp(path.join(os.tmpdir(), 'soundtrack-web-gen-'));
    log(`no shipped generator (checkpoints/generator): training a tiny stand-in for 20 steps in ${generator}`);
    await initBackend({ backend: 'wasm' });
    await trainMelFlow({ preset: 'tiny', data: 'embedded', out: generator, steps: 20, quiet: true, validateEvery: 20, checkpointEvery: 20 });
  }
  const tBuild = performance.now();
  const site = await buildSite({ ...(generator ? { generator } : {}), quiet: true });
  log(
    `built web/dist in ${((performance.now() - tBuild) / 1000).toFixed(1)} s: ${site.files.length} files, ${mb(site.totalBytes)} (bundle ${mb(site.bundleBytes)}, models ${mb(site.modelBytes)}); generator ${path.relative(root, site.generator)}`,
  );
  const server = await serveSite(site.out, 0);

  let browser: Awaited<ReturnType<Puppeteer['launch']>>;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      pipe: true,
      headless: true,
      args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
      protocolTimeout: 600_000,
    });
  } catch (e) {
    await server.close();
    skip(`${CHROMIUM} did not start (${(e as Error).message.split('\n')[0]})`);
  }
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'soundtrack-web-'));
  const measurements: Record<string, unknown> = {
    chromium: await browser.version(),
    generator: path.relative(root, site.generator),
    late: site.late && path.relative(root, site.late),
    site: { files: site.files.length, bytes: site.totalBytes, bundleBytes: site.bundleBytes, modelBytes: site.modelBytes },
  };
  try {
    await fsp.mkdir(figures, { recursive: true });
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 1000 });
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    // bytes over the wire, as the browser's network layer counts them
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    let transferred = 0;
    cdp.on('Network.loadingFinished', (e) => (transferred += e.encodedDataLength));
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });

    const state = () =>
      page.evaluate(() => {
        const s = (window as unknown as { soundtrack?: PageState }).soundtrack;
        if (!s) return null;
        const { playback: _p, ...rest } = s;
        return JSON.parse(JSON.stringify(rest)) as PageSnapshot;
      });
    const waitRuns = (n: number, timeoutMs: number) =>
      page.waitForFunction(
        (k: number) => ((window as unknown as { soundtrack?: PageState }).soundtrack?.runs ?? 0) >= k,
        { timeout: timeoutMs, polling: 200 },
        n,
      );
    const upload = async (file: string) => {
      const input = await page.$('#file');
      if (!input) throw new Error('no #file input');
      await (input as unknown as { uploadFile(...f: string[]): Promise<void> }).uploadFile(file);
    };

    // ---- 1. cold load + a bundled photo --------------------------------------------------
    log('photo (cold page load):');
    const tGoto = Date.now();
    await page.goto(server.url, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#examples button', { timeout: 60_000 });
    await page.screenshot({ path: path.join(figures, 'web-before.png'), fullPage: true });
    const photo = path.join(root, 'data', 'images', 'dog', 'dog-gcompris-german-shepherd.webp');
    await upload(photo);
    await waitRuns(1, 600_000);
    const wallToSound = Date.now() - tGoto;
    const s1 = await state();
    const r1 = s1?.result;
    const bytesToFirstSound = transferred;
    check(s1?.state === 'done', 'photo: the page reaches "done"', s1?.error ?? '');
    // the page samples what the build shipped: the generator alone, or with its late expert (models/generators.json)
    const about = await page.$eval('#about', (e) => e.textContent ?? '');
    check(
      /^Generator: mel-flow\/[\w-]+, step \d+/.test(about) && about.includes(' + mel-flow/') === (site.late !== null),
      'photo: the page names the generator it sampled (and its late expert when the build has one)',
      about,
    );
    check(
      r1?.className === 'dog' && r1.predicted.className === 'dog',
      'photo: labelled dog (the bundled German shepherd)',
      `${r1?.predicted.className} ${((r1?.predicted.probability ?? 0) * 100).toFixed(0)} %`,
    );
    check(r1?.sampleRate === 4000 && r1.samples === 28_800, 'photo: a 4 kHz clip of 28,800 samples', `${r1?.samples} samples at ${r1?.sampleRate} Hz`);
    check(
      r1?.buffer.sampleRate === 4000 && r1.buffer.length === 28_800,
      'photo: the Web Audio buffer holds it at 4 kHz',
      `${r1?.buffer.length} at ${r1?.buffer.sampleRate} Hz`,
    );
    check((r1?.rms ?? 0) > 1e-3 && (r1?.peak ?? 0) > 0.1, 'photo: the clip is not silent', `rms ${r1?.rms.toExponential(2)}, peak ${r1?.peak.toFixed(3)}`);
    const backend = s1?.backend;
    log(`  backend: ${backend?.name} — ${backend?.reason}`);
    log(
      `  first sound ${((r1?.firstSoundMs ?? NaN) / 1000).toFixed(1)} s after the upload; ${(wallToSound / 1000).toFixed(1)} s from navigation (cold load incl.); ${mb(bytesToFirstSound)} transferred`,
    );
    check(bytesToFirstSound <= 30e6, 'page + models ≤ 30 MB transferred', mb(bytesToFirstSound));
    Object.assign(measurements, {
      backend,
      photo: { firstSoundMs: r1?.firstSoundMs, navigationToSoundMs: wallToSound, stages: r1?.stages, transferredBytes: bytesToFirstSound },
    });
    const specLit = await page.evaluate(() => {
      const c = document.getElementById('spec') as HTMLCanvasElement;
      const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
      let lit = 0;
      if (d) for (let i = 0; i < d.length; i += 4) if ((d[i] ?? 0) + (d[i + 1] ?? 0) + (d[i + 2] ?? 0) > 60) lit++;
      return d ? lit / (d.length / 4) : 0;
    });
    check(specLit > 0.02, 'photo: the spectrogram is drawn', `${(100 * specLit).toFixed(1)} % of pixels lit`);
    check(
      await page.$eval('#download', (a) => !(a as HTMLAnchorElement).hidden && (a as HTMLAnchorElement).href.startsWith('blob:')),
      'photo: the WAV download link is ready',
    );
    await page.screenshot({ path: path.join(figures, 'web-after-photo.png'), fullPage: true });

    // class override + seed on the same photo ("Make the sound again")
    await page.select('#cls', '0');
    await page.$eval('#seed', (el) => ((el as HTMLInputElement).value = '7'));
    await page.click('#again');
    await waitRuns(2, 600_000);
    const s2 = await state();
    check(
      s2?.state === 'done' && s2.result?.className === 'cat' && s2.result.overridden && s2.result.seed === 7 && s2.result.predicted.className === 'dog',
      'override: cat sound for the dog photo, seed 7',
      `${s2?.result?.className}, seed ${s2?.result?.seed}`,
    );
    await page.select('#cls', 'auto');
    // keyboard reach while a result is shown (Play, Stop, download enabled)
    const reached = new Set<string>();
    await page.focus('body');
    for (let i = 0; i < 24; i++) {
      await page.keyboard.press('Tab');
      reached.add(
        await page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute('aria-label') || document.activeElement?.tagName || ''),
      );
    }
    const need = ['drop', 'file', 'cls', 'seed', 'again', 'play', 'download'];
    check(
      need.every((n) => reached.has(n)) && [...reached].some((r) => r.startsWith('Use the example photo')),
      'keyboard: Tab reaches the drop zone, file input, examples, options, Play and the download',
      [...reached].join(' · '),
    );
    await page.$eval('#seed', (el) => ((el as HTMLInputElement).value = '0'));

    // ---- 2. a short video -----------------------------------------------------------------
    log('video:');
    const ff = await requireFfmpeg('test:web');
    const video = path.join(tmp, 'kitten.webm');
    const cat = path.join(root, 'data', 'images', 'cat', 'cat-gcompris-kitten-playing.webp');
    await promisify(execFile)(ff.path, [
      '-y',
      '-loglevel',
      'error',
      '-loop',
      '1',
      '-i',
      cat,
      '-t',
      '3',
      '-r',
      '10',
      '-vf',
      'scale=320:240:force_original_aspect_ratio=increase,crop=320:240,format=yuv420p',
      '-c:v',
      'libvpx',
      '-b:v',
      '300k',
      video,
    ]);
    await upload(video);
    await waitRuns(3, 600_000);
    const s3 = await state();
    const r3 = s3?.result;
    check(s3?.state === 'done' && r3?.source === 'video', 'video: the page reaches "done"', s3?.error ?? '');
    check(
      (r3?.frames.length ?? 0) >= 5,
      'video: frames at 2 per second, each labelled',
      `${r3?.frames.length} frames: ${r3?.frames.map((f) => `${f.time}s ${f.className} ${(100 * f.probability).toFixed(0)}%`).join(', ')}`,
    );
    check(
      r3?.predicted.vote === 'median' && r3.className === 'cat',
      'video: median vote says cat',
      `${r3?.predicted.className}, agreement ${r3?.predicted.agreement}`,
    );
    check(r3?.samples === 28_800 && (r3?.rms ?? 0) > 1e-3, 'video: a non-silent 28,800-sample track', `${r3?.samples}`);
    await page.click('#play');
    await new Promise((r) => setTimeout(r, 1500));
    const p1 = await page.evaluate(() => (window as unknown as { soundtrack: PageState }).soundtrack.playback());
    await new Promise((r) => setTimeout(r, 700));
    const p2 = await page.evaluate(() => (window as unknown as { soundtrack: PageState }).soundtrack.playback());
    const vAdv = (p2.videoTime ?? 0) - (p1.videoTime ?? 0);
    const aAdv = (p2.audioTime ?? 0) - (p1.audioTime ?? 0);
    check(
      p1.playing && p2.playing && vAdv > 0.2 && aAdv > 0.2,
      'video: the video and the generated track both play',
      `video +${vAdv.toFixed(2)} s, track +${aAdv.toFixed(2)} s`,
    );
    const drift = Math.abs((p2.videoTime ?? 0) - (p2.audioTime ?? 99));
    check(drift < 0.3, 'video: the track follows the video clock', `|video − track| = ${drift.toFixed(3)} s`);
    Object.assign(measurements, { video: { firstSoundMs: r3?.firstSoundMs, stages: r3?.stages, frames: r3?.frames.length, playback: [p1, p2] } });
    await page.screenshot({ path: path.join(figures, 'web-after-video.png'), fullPage: true });
    await page.click('#stop');

    // ---- 3. bad input -----------------------------------------------------------------------
    log('bad input:');
    const text = path.join(tmp, 'notes.txt');
    await fsp.writeFile(text, 'not a picture\n');
    await upload(text);
    await waitRuns(4, 60_000);
    const s4 = await state();
    const shown = await page.$eval('#error', (e) => ({ hidden: (e as HTMLElement).hidden, text: e.textContent ?? '', role: e.getAttribute('role') }));
    check(s4?.state === 'error' && /is not an image or a video/.test(s4.error ?? ''), 'text file: a clear error', s4?.error ?? '');
    check(!shown.hidden && shown.role === 'alert' && shown.text.includes('notes.txt'), 'text file: the message is shown as an alert naming the file');
    const stuck = await page.$$eval('.stages output', (os) => os.filter((o) => o.textContent === '…').length);
    check(stuck === 0, 'text file: no stage is left spinning');
    await page.screenshot({ path: path.join(figures, 'web-error.png'), fullPage: true });
    const broken = path.join(tmp, 'broken.webm');
    await fsp.writeFile(broken, 'this is no video at all\n'.repeat(20));
    await upload(broken);
    await waitRuns(5, 120_000);
    const s5 = await state();
    check(s5?.state === 'error' && /cannot decode the video|did not load/.test(s5.error ?? ''), 'undecodable video: a clear error', s5?.error ?? '');
    check((await page.$$eval('.stages output', (os) => os.filter((o) => o.textContent === '…').length)) === 0, 'undecodable video: no stage is left spinning');

    // ---- 4. accessibility -------------------------------------------------------------------
    log('accessibility:');
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, button, progress, canvas, video, [role="button"]')]
        .filter((el) => {
          const id = el.id;
          const label = id ? document.querySelector(`label[for="${id}"]`) : null;
          return !(
            label ||
            el.getAttribute('aria-label') ||
            el.getAttribute('aria-labelledby') ||
            (el.tagName === 'BUTTON' && el.textContent?.trim()) ||
            (el.getAttribute('role') === 'button' && el.textContent?.trim())
          );
        })
        .map((el) => `${el.tagName.toLowerCase()}#${el.id}`),
    );
    check(unlabelled.length === 0, 'every control has a label', unlabelled.join(', '));
    await page.setViewport({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 1 });
    await new Promise((r) => setTimeout(r, 300));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, 'phone viewport (390 px): no sideways scrolling', `overflow ${overflow} px`);
    await page.screenshot({ path: path.join(figures, 'web-phone.png'), fullPage: true });
    const unexpected = consoleErrors.filter((e) => !/notes\.txt|broken\.webm|MediaError|not an image|cannot decode|Failed to load resource/.test(e));
    check(unexpected.length === 0, 'no unexpected errors in the console', unexpected.slice(0, 3).join(' | '));
    measurements.consoleErrors = consoleErrors;
  } finally {
    await browser.close();
    await server.close();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  measurements.failures = failures;
  await fsp.writeFile(path.join(figures, 'web-measurements.json'), `${JSON.stringify(measurements, null, 1)}\n`);
  log(
    `screenshots: figures/web-before.png, web-after-photo.png, web-after-video.png, web-error.png, web-phone.png; measurements: figures/web-measurements.json`,
  );
  if (failures.length > 0) {
    log(`test:web FAILED (${failures.length}): ${failures.join('; ')}`);
    process.exitCode = 1;
  } else log('test:web passed');
}

runCli(main);
