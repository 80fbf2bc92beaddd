/** Layer summaries and parameter counts for `npm run describe` (every model of the project). */
import * as tf from '@tensorflow/tfjs';
import { Codec } from './codec';
import { CODEC_KINDS, codecPreset, priorPreset, THESIS_CODES, type CodecKind, type PresetName } from './presets';
import { Prior } from './prior';
import type { TraceEntry } from './nn';
import { THESIS } from './thesis';

export interface ModelDescription {
  model: string;
  preset: PresetName;
  rows: TraceEntry[];
  /** Parameters (buffers excluded, as PyTorch counts). */
  parameters: number;
  trainable: number;
  /** What the thesis reports, when it does. */
  thesis: number | null;
  notes: string[];
}

export const DESCRIBABLE: readonly string[] = [...CODEC_KINDS, 'prior-top', 'prior-bottom'];

export function describeModel(model: string, preset: PresetName): ModelDescription {
  if ((CODEC_KINDS as readonly string[]).includes(model)) {
    const cfg = codecPreset(model as CodecKind, preset);
    const codec = new Codec(cfg);
    try {
      codec.params.trace = [];
      tf.tidy(() => {
        const silent = new Float32Array(cfg.clipSamples);
        codec.model.forward(codec.toInput([silent]));
      });
      const rows = codec.params.trace;
      for (const cb of codec.model.codebooks())
        rows.push({ name: cb.name, kind: `codebook ${cb.cfg.size}×${cb.cfg.dim}`, outShape: [cb.cfg.size, cb.cfg.dim], params: cb.cfg.size * cb.cfg.dim });
      const lengths = codec.codeLengths;
      return {
        model,
        preset,
        rows,
        parameters: codec.params.count('all'),
        trainable: codec.params.count('trainable'),
        thesis: model === 'raw-vqvae2' && preset === 'thesis' ? THESIS.codecParameters : null,
        notes: [
          `input: ${cfg.frontEnd.type === 'raw' ? `${cfg.clipSamples} samples at ${cfg.sampleRate} Hz` : `${cfg.frontEnd.frames} log-mel frames × ${cfg.frontEnd.mel.nMels} bands`}`,
          `codes per clip: ${lengths.top !== null ? `top ${lengths.top}, ` : ''}bottom ${lengths.bottom}`,
        ],
      };
    } finally {
      codec.dispose();
    }
  }
  if (model === 'prior-top' || model === 'prior-bottom') {
    const level = model === 'prior-top' ? 'top' : 'bottom';
    const cfg = priorPreset(level, preset, THESIS_CODES).model;
    const prior = new Prior(cfg);
    try {
      // one row per module (the transformer has no per-layer trace; shapes follow from the config)
      const groups = new Map<string, number>();
      for (const info of prior.params.info()) {
        const key = info.name.replace(/\.(weight|bias|in_proj_weight|in_proj_bias)$/, '').replace(/\.(out_proj|linear1|linear2|norm\d)$/, '');
        groups.set(key, (groups.get(key) ?? 0) + info.size);
      }
      const d = cfg.dModel;
      const rows: TraceEntry[] = [...groups].map(([name, params]) => ({
        name,
        kind:
          name === 'embedding'
            ? `embedding ${prior.vocab.size}×${d} (shared)`
            : name === 'output'
              ? `linear ${d}→${prior.vocab.size}`
              : /norm$/.test(name)
                ? 'layer norm'
                : name.startsWith('decoder')
                  ? 'decoder layer (self, cross, FF)'
                  : 'encoder layer (self, FF)',
        outShape:
          name === 'output' ? [1, cfg.targetLength, prior.vocab.size] : name.startsWith('encoder') ? [1, cfg.sourceLength, d] : [1, cfg.targetLength, d],
        params,
      }));
      return {
        model,
        preset,
        rows,
        parameters: prior.params.count('all'),
        trainable: prior.params.count('trainable'),
        thesis: preset === 'thesis' ? THESIS.priorParameters : null,
        notes: [
          `${cfg.encoderLayers} encoder + ${cfg.decoderLayers} decoder layers, d_model ${d}, ${cfg.heads} heads, feed-forward ${cfg.feedForward}, dropout ${cfg.dropout}`,
          `vocabulary ${prior.vocab.size} = ${cfg.codes} codes + START, PAD/no-class, ${cfg.classes} class tokens`,
          `source ${cfg.sourceLength} token(s) → target START + ${cfg.targetLength} codes`,
        ],
      };
    } finally {
      prior.dispose();
    }
  }
  throw new Error(`unknown model '${model}' (choose ${DESCRIBABLE.join(', ')})`);
}

export function formatDescription(d: ModelDescription): string {
  const lines = [`${d.model} (${d.preset})`, ...d.notes.map((n) => `  ${n}`), ''];
  lines.push(`${'layer'.padEnd(34)} ${'kind'.padEnd(22)} ${'output'.padEnd(18)} ${'params'.padStart(9)}`);
  for (const r of d.rows) lines.push(`${r.name.padEnd(34)} ${r.kind.padEnd(22)} ${`[${r.outShape.join(', ')}]`.padEnd(18)} ${String(r.params).padStart(9)}`);
  lines.push('');
  lines.push(`parameters ${d.parameters.toLocaleString('en-US')}${d.trainable !== d.parameters ? ` (${d.trainable.toLocaleString('en-US')} trainable)` : ''}`);
  if (d.thesis !== null) {
    const diff = d.parameters - d.thesis;
    lines.push(`thesis     ${d.thesis.toLocaleString('en-US')} (${diff >= 0 ? '+' : ''}${diff}, ${((100 * diff) / d.thesis).toFixed(3)} %)`);
  }
  return lines.join('\n');
}
