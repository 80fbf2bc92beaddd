import type { Rng } from '../util/rng';

interface EpochOrderState {
  epoch: number;
  order: number[];
  pos: number;
}

/** Epoch-wise shuffled order over n training examples; its state is part of every checkpoint. */
export class EpochOrder {
  private state: EpochOrderState = { epoch: 0, order: [], pos: 0 };

  constructor(private readonly n: number) {}

  next(rng: Rng): number {
    if (this.state.pos >= this.state.order.length) {
      this.state = { epoch: this.state.epoch + 1, order: rng.shuffle(Array.from({ length: this.n }, (_, i) => i)), pos: 0 };
    }
    return this.state.order[this.state.pos++];
  }

  get epoch(): number {
    return this.state.epoch;
  }

  get(): EpochOrderState {
    return { ...this.state, order: [...this.state.order] };
  }

  set(s: unknown): void {
    const st = s as EpochOrderState;
    if (!st || !Array.isArray(st.order)) throw new Error('checkpoint has no sampler state');
    this.state = { ...st, order: [...st.order] };
  }
}
