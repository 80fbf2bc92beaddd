/**
 * The study's figures as plotly specs (data + layout), one builder per kind of figure. html.ts turns
 * them into inline HTML and saved pages/PNGs.
 */
import { SAMPLE_RATE } from '../audio/constants';
import { DEFAULT_MEL, logMelSpectrogram, melCenters } from '../audio/mel';
import type { ProbeResult } from '../metrics/probe';

export interface Figure {
  data: object[];
  layout: Record<string, unknown>;
}

const axis = (text: string, extra: Record<string, unknown> = {}) => ({ title: { text }, ...extra });

/** A log-mel spectrogram of a clip (the front end the spectrogram codecs use). */
export function melHeatmap(clip: Float32Array, title: string): Figure {
  const m = logMelSpectrogram(clip, DEFAULT_MEL);
  const z: number[][] = Array.from({ length: m.bins }, (_, b) => Array.from({ length: m.frames }, (_, t) => m.data[t * m.bins + b] ?? 0));
  const x = Array.from({ length: m.frames }, (_, t) => (t * DEFAULT_MEL.hop) / SAMPLE_RATE);
  const y = Array.from(melCenters(DEFAULT_MEL), Math.round);
  return {
    data: [{ type: 'heatmap', z, x, y, colorscale: 'Viridis', zmin: -11.5, zmax: 2, showscale: false }],
    layout: { title: { text: title }, xaxis: axis('s'), yaxis: axis('Hz (mel)') },
  };
}

/** Overlaid histograms of recording lengths, one per class. */
export function durationsFigure(perClass: Array<{ name: string; seconds: number[] }>): Figure {
  return {
    data: perClass.map((c) => ({ type: 'histogram', name: c.name, x: c.seconds, opacity: 0.7, nbinsx: 20 })),
    layout: { title: { text: 'Recording lengths per class' }, barmode: 'overlay', xaxis: axis('seconds'), yaxis: axis('recordings') },
  };
}

/** A waveform, every `step`-th sample. */
export function waveformFigure(clip: Float32Array, title: string, step = 8): Figure {
  const n = clip.length / step;
  return {
    data: [
      {
        type: 'scatter',
        mode: 'lines',
        x: Array.from({ length: n }, (_, i) => (i * step) / SAMPLE_RATE),
        y: Array.from({ length: n }, (_, i) => clip[i * step] ?? 0),
        line: { width: 1 },
      },
    ],
    layout: { title: { text: title }, xaxis: axis('s'), yaxis: axis('amplitude', { range: [-1, 1] }) },
  };
}

export interface Curve {
  name: string;
  x: number[];
  y: Array<number | undefined>;
  markers?: boolean;
}

/** Loss curves against training steps. */
export function curvesFigure(curves: Curve[], title: string, yTitle: string, log = false): Figure {
  return {
    data: curves.map((c) => ({ type: 'scatter', mode: c.markers ? 'lines+markers' : 'lines', name: c.name, x: c.x, y: c.y })),
    layout: { title: { text: title }, xaxis: axis('step'), yaxis: axis(yTitle, log ? { type: 'log' } : {}) },
  };
}

/** The first two principal components of pooled latents, one colour per class (Fig. 14). */
export function pcaFigure(classes: readonly string[], labels: readonly number[], probe: ProbeResult, title: string): Figure {
  const ofClass = (label: number) => probe.pca.filter((_, i) => labels[i] === label);
  const pc = (k: number) => `PC${k + 1} (${(100 * (probe.explained[k] ?? 0)).toFixed(0)} %)`;
  return {
    data: classes.map((c, label) => ({ type: 'scatter', mode: 'markers', name: c, x: ofClass(label).map((p) => p[0]), y: ofClass(label).map((p) => p[1]) })),
    layout: { title: { text: title }, xaxis: axis(pc(0)), yaxis: axis(pc(1)) },
  };
}
