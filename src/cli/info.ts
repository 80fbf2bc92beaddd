/** npm run info [-- --backend NAME] [--data embedded|DIR] [--json] — versions, backend, device, ffmpeg, datasets. */
import * as os from 'node:os';
import { capabilities, KNOWN_ISSUES } from '../backend/capabilities';
import { formatBackend, initBackend, tf } from '../backend/index';
import { findFfmpeg } from '../audio/ffmpeg';
import { defaultCacheDir } from '../data/cache';
import { openDataset } from '../data/open';
import { parseCli, runCli } from '../util/cli';
import { errorMessage } from '../util/errors';
import { projectRoot, projectVersion } from '../util/project';

const USAGE = `npm run info -- [--backend auto|tensorflow|webgpu|wasm|cpu] [--data embedded|DIR ...] [--json]`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    { backend: { type: 'string' }, data: { type: 'string', multiple: true }, json: { type: 'boolean' } },
    USAGE,
  );
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const ffmpeg = await findFfmpeg();
  const datasets: Array<{ spec: string; layout?: string; classes?: Record<string, number>; negatives?: number; error?: string }> = [];
  for (const spec of values.data ?? ['embedded']) {
    try {
      const ds = await openDataset(spec);
      const classes: Record<string, number> = {};
      ds.classes.forEach((c, label) => (classes[c] = ds.items.filter((i) => i.label === label).length));
      datasets.push({ spec, layout: ds.layout, classes, negatives: ds.negatives.length });
    } catch (e) {
      datasets.push({ spec, error: errorMessage(e) });
    }
  }
  const caps = capabilities(backend.name);
  const info = {
    project: { name: 'soundtrack-lab', version: projectVersion(), root: projectRoot() },
    node: process.version,
    platform: `${os.platform()} ${os.arch()}, ${os.cpus().length} CPU cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    tfjs: tf.version.tfjs,
    backend,
    capabilities: caps,
    knownIssues: KNOWN_ISSUES.filter((k) => k.backend === backend.name),
    ffmpeg,
    cacheDir: defaultCacheDir(),
    datasets,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return;
  }
  const out: string[] = [];
  out.push(`soundtrack-lab ${info.project.version}  (${info.project.root})`);
  out.push(`node          ${info.node} · ${info.platform}`);
  out.push(`tfjs          ${info.tfjs}`);
  out.push(`backend       ${formatBackend(backend)}`);
  out.push(`              package ${backend.package}`);
  if (backend.adapter)
    out.push(
      `              adapter ${backend.adapter.description || backend.adapter.device} · max storage buffer ${(backend.adapter.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB`,
    );
  for (const s of backend.skipped) out.push(`              skipped ${s.name}: ${s.reason}`);
  out.push(
    `trains here   ${
      caps
        .filter((c) => c.train)
        .map((c) => c.family)
        .join(', ') || 'nothing'
    }`,
  );
  const cannot = caps.filter((c) => !c.train);
  if (cannot.length > 0) out.push(`cannot train  ${cannot.map((c) => `${c.family} (missing ${c.missing.join(', ')})`).join('; ')}`);
  for (const k of info.knownIssues) out.push(`known issue   ${k.what} [${k.source}]`);
  out.push(`ffmpeg        ${ffmpeg ? `${ffmpeg.path} (${ffmpeg.source}, version ${ffmpeg.version})` : 'not found: only WAV files can be read'}`);
  out.push(`audio cache   ${info.cacheDir}`);
  for (const d of datasets) {
    if (d.error) out.push(`dataset       ${d.spec}: ${d.error}`);
    else {
      const counts = Object.entries(d.classes ?? {})
        .map(([c, n]) => `${c} ${n}`)
        .join(', ');
      out.push(`dataset       ${d.spec} (${d.layout}): ${counts}${d.negatives ? `, background ${d.negatives}` : ''} recordings`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

runCli(main);
