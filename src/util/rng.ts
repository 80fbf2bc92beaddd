import seedrandom from 'seedrandom';

/** Serialisable state of an {@link Rng}: store it in a checkpoint to resume the same random stream. */
export interface RngState {
  readonly seed: string;
  readonly state: object;
}

/**
 * A seeded random number generator whose state can be saved and restored (checkpoints resume the
 * same stream). Built on seedrandom's ARC4 generator.
 */
export class Rng {
  private readonly prng: seedrandom.StatefulPRNG<seedrandom.State.Arc4>;
  readonly seed: string;

  constructor(seed: number | string, state?: object) {
    this.seed = String(seed);
    this.prng = seedrandom(this.seed, state ? { state: state as seedrandom.State.Arc4 } : { state: true });
  }

  static fromState(s: RngState): Rng {
    return new Rng(s.seed, s.state);
  }

  getState(): RngState {
    return { seed: this.seed, state: this.prng.state() };
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.prng.double();
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.prng.double();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) throw new RangeError(`Rng.int: n must be positive, got ${n}`);
    return Math.floor(this.prng.double() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.prng.double();
    const v = this.prng.double();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher–Yates shuffle; returns the array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i] as T;
      xs[i] = xs[j] as T;
      xs[j] = t;
    }
    return xs;
  }

  /** A new generator whose seed derives from this one's seed and a name (independent streams). */
  fork(name: string): Rng {
    return new Rng(`${this.seed}/${name}`);
  }
}
