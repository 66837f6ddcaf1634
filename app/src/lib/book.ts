// The order book as the WebSocket streams it: a snapshot with a sequence number, then deltas
// numbered one after the other. A delta at or below the snapshot's sequence is already in it;
// a delta that skips a number means updates were lost, and the book must be refetched.

export type BookSide = 'Buy' | 'Sell';

export interface LevelChange {
  side: BookSide;
  price: bigint;
  lots: bigint;
}

export interface Delta {
  market: number;
  sequence: number;
  changes: LevelChange[];
}

export interface Snapshot {
  market: number;
  sequence: number;
  bids: [bigint, bigint][];
  asks: [bigint, bigint][];
}

export type ApplyResult = 'applied' | 'stale' | 'gap' | 'buffered';

export class OrderBook {
  readonly bids = new Map<bigint, bigint>();
  readonly asks = new Map<bigint, bigint>();
  /** The sequence of the last delta applied; null while waiting for a snapshot. */
  sequence: number | null = null;
  private pending: Delta[] = [];

  constructor(readonly market: number) {}

  /** Replaces the book with `snapshot`, then applies the buffered deltas that follow it. */
  reset(snapshot: Snapshot): ApplyResult {
    this.bids.clear();
    this.asks.clear();
    for (const [price, lots] of snapshot.bids) this.bids.set(price, lots);
    for (const [price, lots] of snapshot.asks) this.asks.set(price, lots);
    this.sequence = snapshot.sequence;
    const pending = this.pending.sort((a, b) => a.sequence - b.sequence);
    this.pending = [];
    for (const delta of pending) {
      if (this.apply(delta) === 'gap') return 'gap';
    }
    return 'applied';
  }

  /** Drops the book until the next snapshot; deltas meanwhile are kept for it. */
  invalidate(): void {
    this.sequence = null;
  }

  apply(delta: Delta): ApplyResult {
    if (this.sequence === null) {
      this.pending.push(delta);
      return 'buffered';
    }
    if (delta.sequence <= this.sequence) return 'stale';
    if (delta.sequence !== this.sequence + 1) {
      this.sequence = null;
      this.pending = [delta];
      return 'gap';
    }
    for (const change of delta.changes) {
      const levels = change.side === 'Buy' ? this.bids : this.asks;
      if (change.lots === 0n) levels.delete(change.price);
      else levels.set(change.price, change.lots);
    }
    this.sequence = delta.sequence;
    return 'applied';
  }

  /** Best first: bids high to low, asks low to high. */
  levels(side: BookSide, depth = Infinity): [bigint, bigint][] {
    const levels = [...(side === 'Buy' ? this.bids : this.asks).entries()];
    levels.sort((a, b) => (side === 'Buy' ? cmp(b[0], a[0]) : cmp(a[0], b[0])));
    return levels.slice(0, depth);
  }

  best(side: BookSide): bigint | null {
    return this.levels(side, 1)[0]?.[0] ?? null;
  }
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
