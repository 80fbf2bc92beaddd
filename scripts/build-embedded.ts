/**
 * Rebuild the embedded default data (data/embedded) from Debian packages.
 *
 *   npm run data:embedded [-- --debs <dir with .deb files>] [--out data/embedded]
 *
 * Reads data/embedded/sources.json (which package, file, Qt-resource entry, licence, copyright),
 * fetches each package with `apt-get download` unless --debs holds it, unpacks it with
 * `dpkg-deb -x`, takes the sounds out (GCompris keeps them inside Qt .rcc bundles), decodes them
 * with the project's own audio front end, resamples to 4 kHz mono and writes 16-bit WAV files,
 * manifest.json and LICENSES.md. A fresh clone never needs this: the output is committed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readAudio, SAMPLE_RATE, writeWav } from '../src/audio/index';
import { readQres } from './lib/qres';
import { EMBEDDED_FORMAT, type EmbeddedEntry, type EmbeddedManifest } from '../src/data/loaders/embedded';
import { parseCli, runCli, UsageError } from '../src/util/cli';
import { writeFileAtomic } from '../src/util/fs';
import { projectRoot } from '../src/util/project';

interface Source {
  id: string;
  /** audio → data/embedded/<class>/<id>.wav; image → data/images/<class>/<id>.<ext> (kept as is). */
  kind: 'audio' | 'image';
  cls: 'cat' | 'dog' | 'negative';
  package: string;
  path: string;
  rccEntry: string | null;
  license: string;
  copyright: string;
  note: string;
}

const USAGE = `npm run data:embedded -- [--debs DIR] [--out DIR]
  --debs DIR   use the .deb files in DIR instead of running apt-get download
  --out DIR    output folder (default data/embedded)`;

async function findDeb(dir: string, pkg: string): Promise<string | null> {
  try {
    const hit = (await fsp.readdir(dir)).filter((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb')).sort();
    return hit.length > 0 ? path.join(dir, hit[hit.length - 1] as string) : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const { values } = parseCli(process.argv.slice(2), { debs: { type: 'string' }, out: { type: 'string' } }, USAGE);
  const root = projectRoot();
  const out = path.resolve(values.out ?? path.join(root, 'data', 'embedded'));
  const sourcesFile = path.join(root, 'data', 'embedded', 'sources.json');
  const { sources } = JSON.parse(await fsp.readFile(sourcesFile, 'utf8')) as { sources: Source[] };
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'soundtrack-embedded-'));
  try {
    const packages = [...new Set(sources.map((s) => s.package))];
    const unpacked = new Map<string, { dir: string; version: string }>();
    for (const pkg of packages) {
      let deb = values.debs ? await findDeb(values.debs, pkg) : null;
      if (!deb) {
        process.stderr.write(`apt-get download ${pkg}\n`);
        try {
          execFileSync('apt-get', ['download', pkg], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
        } catch (e) {
          throw new UsageError(`cannot download Debian package ${pkg} (apt-get download failed: ${(e as Error).message}); pass --debs DIR with the .deb files`);
        }
        deb = await findDeb(work, pkg);
        if (!deb) throw new UsageError(`apt-get download ${pkg} produced no .deb file`);
      }
      const version = execFileSync('dpkg-deb', ['-f', deb, 'Version'], { encoding: 'utf8' }).trim();
      const dir = path.join(work, 'x', pkg);
      await fsp.mkdir(dir, { recursive: true });
      execFileSync('dpkg-deb', ['-x', deb, dir]);
      unpacked.set(pkg, { dir, version });
    }

    const entries: EmbeddedEntry[] = [];
    const images: ImageEntry[] = [];
    const written = new Set<string>();
    for (const s of sources) {
      const pkg = unpacked.get(s.package) as { dir: string; version: string };
      const file = path.join(pkg.dir, s.path);
      let bytes: Buffer;
      let ext: string;
      if (s.rccEntry) {
        const entry = readQres(await fsp.readFile(file), file).find((e) => e.path === s.rccEntry);
        if (!entry) throw new Error(`${file}: no resource ${s.rccEntry}`);
        bytes = entry.data();
        ext = path.extname(s.rccEntry);
      } else {
        bytes = await fsp.readFile(file);
        ext = path.extname(s.path);
      }
      if (s.kind === 'image') {
        const rel = `images/${s.cls}/${s.id}${ext}`;
        await fsp.mkdir(path.join(root, 'data', 'images', s.cls), { recursive: true });
        await writeFileAtomic(path.join(root, 'data', rel), bytes);
        images.push({
          id: s.id,
          cls: s.cls,
          file: rel,
          package: s.package,
          packageVersion: pkg.version,
          path: s.path,
          rccEntry: s.rccEntry,
          license: s.license,
          copyright: s.copyright,
          note: s.note,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        });
        process.stderr.write(`data/${rel}  (${s.package}, ${s.license})\n`);
        continue;
      }
      const tmp = path.join(work, `${s.id}${ext}`);
      await fsp.writeFile(tmp, bytes);
      const decoded = await readAudio(tmp, { sampleRate: SAMPLE_RATE });
      const rel = `${s.cls === 'negative' ? '_negatives' : s.cls}/${s.id}.wav`;
      await writeWav(path.join(out, rel), decoded.audio, SAMPLE_RATE, 'pcm16');
      written.add(rel);
      const sha256 = createHash('sha256')
        .update(await fsp.readFile(path.join(out, rel)))
        .digest('hex');
      entries.push({
        id: s.id,
        cls: s.cls,
        file: rel,
        package: s.package,
        packageVersion: pkg.version,
        path: s.path,
        rccEntry: s.rccEntry,
        license: s.license,
        copyright: s.copyright,
        note: s.note,
        originalSampleRate: decoded.originalSampleRate,
        originalChannels: decoded.originalChannels,
        seconds: Math.round((decoded.audio.length / SAMPLE_RATE) * 1000) / 1000,
        sha256,
      });
      process.stderr.write(`${rel}  ${(decoded.audio.length / SAMPLE_RATE).toFixed(2)} s  (${s.package}, ${s.license})\n`);
    }
    // remove WAV files no longer listed
    for (const sub of ['cat', 'dog', '_negatives']) {
      // (images live in data/images and are rewritten above)
      for (const n of await fsp.readdir(path.join(out, sub)).catch(() => [] as string[])) {
        if (n.endsWith('.wav') && !written.has(`${sub}/${n}`)) await fsp.rm(path.join(out, sub, n));
      }
    }
    const manifest: EmbeddedManifest = { format: EMBEDDED_FORMAT, version: 1, sampleRate: SAMPLE_RATE, entries };
    await writeFileAtomic(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
    await writeFileAtomic(
      path.join(root, 'data', 'images', 'manifest.json'),
      `${JSON.stringify({ format: 'soundtrack-lab/embedded-images', version: 1, entries: images }, null, 1)}\n`,
    );
    // The default layout keeps the licence list at data/LICENSES.md; a custom --out gets its own copy.
    const licenses = values.out ? path.join(out, 'LICENSES.md') : path.join(root, 'data', 'LICENSES.md');
    await writeFileAtomic(licenses, licensesMarkdown(entries, images));
    const secs = (c: string) =>
      entries
        .filter((e) => e.cls === c)
        .reduce((a, e) => a + e.seconds, 0)
        .toFixed(1);
    process.stdout.write(`wrote ${entries.length} files to ${out}: cat ${secs('cat')} s, dog ${secs('dog')} s, background ${secs('negative')} s\n`);
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** A photo's provenance: what a recording's entry has, less its audio facts. */
type ImageEntry = Omit<EmbeddedEntry, 'originalSampleRate' | 'originalChannels' | 'seconds'>;

function licensesMarkdown(entries: EmbeddedEntry[], images: ImageEntry[]): string {
  const lines = [
    '# Licences of the embedded data',
    '',
    'Every recording in `data/embedded/` (cat/, dog/ and the background sounds in _negatives/) comes from a Debian package, taken out with `npm run data:embedded`',
    '(scripts/build-embedded.ts) and converted to 4 kHz mono 16-bit WAV (anti-aliased resampling, no other',
    'processing). Each file keeps the licence of its source; the GPL and CC-BY-SA ones require that this',
    "attribution and licence notice travel with the files. Full licence texts: the packages' `/usr/share/doc/<package>/copyright`.",
    '',
    '| file | class | seconds | Debian package (version) | original path [resource inside a Qt .rcc] | licence | copyright |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const e of entries) {
    const where = e.rccEntry ? `${e.path} [${e.rccEntry}]` : e.path;
    lines.push(`| ${e.file} | ${e.cls} | ${e.seconds.toFixed(2)} | ${e.package} (${e.packageVersion}) | \`${where}\` | ${e.license} | ${e.copyright} |`);
  }
  lines.push('');
  lines.push('## Photos (`data/images/`)');
  lines.push('');
  lines.push('Sample inputs for `generate` and the tests, kept exactly as the package ships them.');
  lines.push('');
  lines.push('| file | class | Debian package (version) | original path [resource inside a Qt .rcc] | licence | copyright / source |');
  lines.push('|---|---|---|---|---|---|');
  for (const e of images) {
    const where = e.rccEntry ? `${e.path} [${e.rccEntry}]` : e.path;
    lines.push(`| ${e.file} | ${e.cls} | ${e.package} (${e.packageVersion}) | \`${where}\` | ${e.license} | ${e.copyright} |`);
  }
  lines.push('');
  lines.push('Licence texts: GPL-2 / GPL-3: https://www.gnu.org/licenses/ · CC-BY-SA-3.0: https://creativecommons.org/licenses/by-sa/3.0/ ·');
  lines.push('Free Art License 1.3: https://artlibre.org/licence/lal/en/ · CC-BY-2.0: https://creativecommons.org/licenses/by/2.0/');
  lines.push('');
  return lines.join('\n');
}

runCli(main);
