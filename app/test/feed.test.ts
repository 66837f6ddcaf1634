import { describe, expect, it } from 'vitest';
import { Feed } from '../src/lib/feed';
import type { Snapshot } from '../src/lib/book';

function feedWith(snapshot: () => Snapshot) {
  const calls = { books: 0, fetched: 0 };
  const feed = new Feed('ws://unused', {
    onBook: () => void (calls.books += 1),
    onTrade: () => undefined,
    onAccountEvent: () => undefined,
    onState: () => undefined,
    fetchSnapshot: async () => {
      calls.fetched += 1;
      return snapshot();
    },
  });
  return { feed, calls };
}

const message = (value: unknown) => JSON.stringify(value);

describe('the live feed resyncs a book by sequence number', () => {
  it('applies the snapshot and following deltas; refetches on a gap', async () => {
    const { feed, calls } = feedWith(() => ({ market: 0, sequence: 7, bids: [[100n, 9n]], asks: [[105n, 1n]] }));
    feed.receive(message({ channel: 'book', snapshot: { market: 0, sequence: 3, bids: [[100, 5]], asks: [] } }));
    feed.receive(message({ channel: 'book', delta: { market: 0, sequence: 4, changes: [{ side: 'Sell', price: 104, lots: 2 }] } }));
    const book = feed.books.get(0)!;
    expect(book.sequence).toBe(4);
    expect(book.levels('Sell')).toEqual([[104n, 2n]]);
    // 5 and 6 are lost: 7 is a gap, the REST snapshot (sequence 7) replaces the book.
    feed.receive(message({ channel: 'book', delta: { market: 0, sequence: 7, changes: [{ side: 'Sell', price: 104, lots: 0 }] } }));
    expect(book.sequence).toBeNull();
    feed.receive(message({ channel: 'book', delta: { market: 0, sequence: 8, changes: [{ side: 'Buy', price: 101, lots: 1 }] } }));
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.fetched).toBe(1);
    expect(feed.resyncs).toBe(1);
    expect(book.sequence).toBe(8);
    expect(book.levels('Buy')).toEqual([[101n, 1n], [100n, 9n]]);
    expect(book.levels('Sell')).toEqual([[105n, 1n]]);
  });

  it('routes trades and account events with exact wide integers', () => {
    const seen: any[] = [];
    const feed = new Feed('ws://unused', {
      onBook: () => undefined,
      onTrade: (market, trade) => seen.push(['trade', market, trade]),
      onAccountEvent: (account, event) => seen.push(['account', account, event]),
      onState: () => undefined,
      fetchSnapshot: async () => ({ market: 0, sequence: 0, bids: [], asks: [] }),
    });
    feed.receive('{"channel":"trades","market":1,"trade":{"position":9,"timestamp_ms":1,"event":{"Filled":{"price":123456789012345678}}}}');
    feed.receive('{"channel":"account","account":4,"event":{"position":9,"event":{"Deposited":{}}}}');
    expect(seen[0][2].event.Filled.price).toBe('123456789012345678');
    expect(seen[1][1]).toBe(4);
  });
});
