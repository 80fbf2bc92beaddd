/** A one-line progress display on stderr: step, loss, steps/s, ETA (redrawn on a TTY, a line every N steps otherwise). */
export interface ProgressOptions {
  total: number;
  label: string;
  /** Non-TTY: print every this many steps (default 10). */
  every?: number;
  stream?: NodeJS.WriteStream;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export class Progress {
  private readonly opts: ProgressOptions;
  private readonly stream: NodeJS.WriteStream;
  private readonly started = Date.now();
  private readonly startStep: number;
  private lastLen = 0;

  constructor(opts: ProgressOptions, startStep = 0) {
    this.opts = opts;
    this.stream = opts.stream ?? process.stderr;
    this.startStep = startStep;
  }

  update(step: number, values: Record<string, number>): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const done = step - this.startStep;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = (this.opts.total - step) / Math.max(rate, 1e-9);
    const vals = Object.entries(values)
      .map(([k, v]) => `${k} ${Math.abs(v) >= 100 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4)}`)
      .join(' ');
    const line = `${this.opts.label} step ${step}/${this.opts.total} ${vals} · ${rate.toFixed(2)} steps/s · ETA ${formatDuration(eta)}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}${' '.repeat(Math.max(0, this.lastLen - line.length))}`);
      this.lastLen = line.length;
      if (step >= this.opts.total) this.stream.write('\n');
    } else if (step % (this.opts.every ?? 10) === 0 || step >= this.opts.total || step === this.startStep + 1) {
      this.stream.write(`${line}\n`);
    }
  }

  message(text: string): void {
    if (this.stream.isTTY && this.lastLen > 0) this.stream.write('\n');
    this.lastLen = 0;
    this.stream.write(`${text}\n`);
  }
}
