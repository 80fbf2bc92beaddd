/** Learning-rate schedules: linear warmup, then constant or cosine decay to a floor. */
export interface Schedule {
  kind: 'constant' | 'cosine';
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  /** Final learning rate as a fraction of the peak (cosine). */
  floor: number;
}

export function learningRate(s: Schedule, step: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.peak;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  return s.peak * (s.floor + (1 - s.floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
