/** npm run eval:codec -- --codec CHECKPOINT [--data embedded|DIR] [--split val|all] [--embedder builtin|onnx:FILE] [--compare-untrained] [--json] */
import { initBackend } from '../backend/index';
import { loadOnnxEmbedder, melStatsEmbedder, type Embedder } from '../metrics/embedders';
import { formatFad } from '../metrics/fad';
import type { CodecEvaluation } from '../metrics/codec';
import { evaluateCodecCheckpoint } from '../pipeline/evaluate';
import { loadJudge } from '../pipeline/generators';
import { parseCli, runCli, UsageError } from '../util/cli';
import { flag } from '../util/flags';

const USAGE = `npm run eval:codec -- --codec CHECKPOINT [--data embedded|DIR] [--split val|all] [--mode center|segments]
                      [--embedder builtin|onnx:FILE] [--embedder-rate HZ] [--judge DIR|none] [--compare-untrained] [--json] [--backend NAME]
"class kept": of the held-out clips the 3-way sound classifier (--judge, default checkpoints/judge) recognises
as their class, the share whose reconstruction it still recognises — and the share of reconstructions it calls "neither".`;

function show(name: string, e: CodecEvaluation): string {
  const lines = [
    `${name}: ${e.clips} clips · MSE ${e.mse.toExponential(3)} · SI-SDR ${e.siSdr.toFixed(2)} dB`,
    `  ${formatFad(e.fad)}`,
    `  codebook usage: ${e.usage.top !== null ? `top ${(100 * e.usage.top).toFixed(1)} % (perplexity ${e.usage.perplexityTop?.toFixed(1)}), ` : ''}bottom ${(100 * e.usage.bottom).toFixed(1)} % (perplexity ${e.usage.perplexityBottom.toFixed(1)})`,
  ];
  if (e.classKept) {
    const k = e.classKept;
    lines.push(
      `  class kept (3-way judge): ${(100 * k.kept).toFixed(1)} % · reconstructions recognised ${(100 * k.reconstructions).toFixed(1)} % (originals ${(100 * k.originals).toFixed(1)} %), called "neither" ${(100 * k.neither).toFixed(1)} %`,
    );
  }
  if (e.probe) {
    for (const [level, p] of Object.entries(e.probe)) {
      if (!p) continue;
      lines.push(
        `  ${level} latents, cats vs dogs: linear probe ${(100 * p.probeAccuracy).toFixed(1)} % (${p.folds}-fold; majority ${(100 * p.majorityBaseline).toFixed(1)} %), silhouette ${p.silhouette.toFixed(3)}, PCA variance ${(100 * (p.explained[0] + p.explained[1])).toFixed(1)} %`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      codec: { type: 'string' },
      data: { type: 'string', default: 'embedded' },
      split: { type: 'string', default: 'val' },
      mode: { type: 'string', default: 'center' },
      embedder: { type: 'string', default: 'builtin' },
      'embedder-rate': { type: 'string', default: '16000' },
      'compare-untrained': { type: 'boolean' },
      judge: { type: 'string' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
    },
    USAGE,
  );
  if (!values.codec) throw new UsageError(`--codec is required\n\n${USAGE}`);
  if (values.split !== 'val' && values.split !== 'all') throw new UsageError('--split is val or all');
  if (values.mode !== 'center' && values.mode !== 'segments') throw new UsageError('--mode is center or segments');
  const embedderRate = flag('embedder-rate', values['embedder-rate']) as number;
  await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  let embedder: Embedder = melStatsEmbedder;
  if (values.embedder?.startsWith('onnx:')) embedder = await loadOnnxEmbedder(values.embedder.slice(5), { sampleRate: embedderRate });
  else if (values.embedder !== 'builtin') throw new UsageError(`--embedder is builtin or onnx:FILE`);
  const judge = values.judge === 'none' ? null : await loadJudge(values.judge);
  const r = await evaluateCodecCheckpoint({
    judge: judge?.judge ?? null,
    codec: values.codec,
    data: values.data as string,
    split: values.split,
    mode: values.mode,
    embedder,
    compareUntrained: values['compare-untrained'] ?? false,
  }).finally(() => judge?.judge.dispose());
  if (values.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  process.stdout.write(`${r.kind} (${r.preset}) at step ${r.step} — ${r.checkpoint}\ndata ${r.data}, ${r.split} split\n${show('trained', r.trained)}\n`);
  if (r.untrained) process.stdout.write(`${show('untrained (same architecture, initial weights)', r.untrained)}\n`);
}

runCli(main);
