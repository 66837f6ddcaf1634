import { describe, expect, it } from 'vitest';
import { OrderBook } from '../src/lib/book';

const snapshot = (sequence: number) => ({
  market: 0,
  sequence,
  bids: [[100n, 5n], [99n, 1n]] as [bigint, bigint][],
  asks: [[101n, 2n]] as [bigint, bigint][],
});

describe('book deltas and resync by sequence', () => {
  it('applies deltas in order and ignores those already in the snapshot', () => {
    const book = new OrderBook(0);
    book.reset(snapshot(4));
    expect(book.apply({ market: 0, sequence: 3, changes: [{ side: 'Buy', price: 100n, lots: 0n }] })).toBe('stale');
    expect(book.apply({ market: 0, sequence: 4, changes: [{ side: 'Buy', price: 100n, lots: 0n }] })).toBe('stale');
    expect(book.best('Buy')).toBe(100n);
    expect(book.apply({ market: 0, sequence: 5, changes: [{ side: 'Buy', price: 100n, lots: 0n }, { side: 'Sell', price: 102n, lots: 7n }] })).toBe('applied');
    expect(book.best('Buy')).toBe(99n);
    expect(book.levels('Sell')).toEqual([[101n, 2n], [102n, 7n]]);
    expect(book.sequence).toBe(5);
  });

  it('a skipped sequence is a gap: the book waits for a new snapshot, keeping later deltas', () => {
    const book = new OrderBook(0);
    book.reset(snapshot(1));
    expect(book.apply({ market: 0, sequence: 3, changes: [{ side: 'Sell', price: 101n, lots: 0n }] })).toBe('gap');
    expect(book.sequence).toBeNull();
    expect(book.apply({ market: 0, sequence: 4, changes: [{ side: 'Sell', price: 103n, lots: 1n }] })).toBe('buffered');
    // The refetched snapshot already contains 2 and 3; 4 follows it.
    expect(book.reset({ market: 0, sequence: 3, bids: [[100n, 5n]], asks: [] })).toBe('applied');
    expect(book.sequence).toBe(4);
    expect(book.levels('Sell')).toEqual([[103n, 1n]]);
    expect(book.levels('Buy')).toEqual([[100n, 5n]]);
  });

  it('deltas before the first snapshot are buffered', () => {
    const book = new OrderBook(0);
    expect(book.apply({ market: 0, sequence: 5, changes: [{ side: 'Buy', price: 98n, lots: 2n }] })).toBe('buffered');
    book.reset(snapshot(4));
    expect(book.levels('Buy')).toEqual([[100n, 5n], [99n, 1n], [98n, 2n]]);
  });
});
