// The engine's WebSocket (/v1/ws): book snapshots and deltas, trades, account events.
// Reconnects with backoff and resubscribes; a book resyncs by sequence number: on a gap (or
// after a reconnect) its snapshot is refetched and the deltas received meanwhile applied on top.

import { big } from './fixed';
import { parseJson } from './json';
import { type Delta, OrderBook, type Snapshot } from './book';
import { toSnapshot } from './api';

export type FeedState = 'connecting' | 'live' | 'reconnecting';

export interface FeedHandlers {
  onBook(market: number, book: OrderBook): void;
  onTrade(market: number, stamped: any): void;
  onAccountEvent(account: number, stamped: any): void;
  onState(state: FeedState, detail?: string): void;
  /** Fetches a snapshot over REST, for resyncing after a gap. */
  fetchSnapshot(market: number): Promise<Snapshot>;
}

export class Feed {
  readonly books = new Map<number, OrderBook>();
  private socket: WebSocket | null = null;
  private markets = new Set<number>();
  private accounts = new Set<number>();
  private attempt = 0;
  private closed = false;
  resyncs = 0;

  constructor(private url: string, private handlers: FeedHandlers) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.closed = true;
    this.socket?.close();
  }

  subscribeMarket(market: number): void {
    if (!this.books.has(market)) this.books.set(market, new OrderBook(market));
    this.markets.add(market);
    this.send({ op: 'subscribe', channel: 'book', market });
    this.send({ op: 'subscribe', channel: 'trades', market });
  }

  subscribeAccount(account: number): void {
    if (this.accounts.has(account)) return;
    this.accounts.add(account);
    this.send({ op: 'subscribe', channel: 'account', account });
  }

  private send(message: unknown): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private connect(): void {
    this.handlers.onState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.handlers.onState('live');
      for (const book of this.books.values()) book.invalidate();
      for (const market of this.markets) {
        this.send({ op: 'subscribe', channel: 'book', market });
        this.send({ op: 'subscribe', channel: 'trades', market });
      }
      for (const account of this.accounts) this.send({ op: 'subscribe', channel: 'account', account });
    };
    socket.onmessage = (event) => this.receive(String(event.data));
    socket.onclose = () => {
      if (this.socket !== socket || this.closed) return;
      this.attempt += 1;
      const delay = Math.min(10_000, 250 * 2 ** Math.min(this.attempt, 6));
      this.handlers.onState('reconnecting', `retry in ${(delay / 1000).toFixed(1)}s`);
      setTimeout(() => this.connect(), delay);
    };
  }

  /** Handles one message; public for tests. */
  receive(text: string): void {
    const message = parseJson<any>(text);
    switch (message.channel) {
      case 'book': {
        if (message.snapshot) {
          const snapshot = toSnapshot(message.snapshot);
          const book = this.bookOf(snapshot.market);
          if (book.reset(snapshot) === 'gap') void this.resync(snapshot.market);
          this.handlers.onBook(snapshot.market, book);
        } else if (message.delta) {
          const d = message.delta;
          const delta: Delta = {
            market: d.market,
            sequence: Number(d.sequence),
            changes: d.changes.map((c: any) => ({ side: c.side, price: big(c.price), lots: big(c.lots) })),
          };
          const book = this.bookOf(delta.market);
          const result = book.apply(delta);
          if (result === 'gap') void this.resync(delta.market);
          else if (result === 'applied') this.handlers.onBook(delta.market, book);
        }
        break;
      }
      case 'trades':
        this.handlers.onTrade(message.market, message.trade);
        break;
      case 'account':
        this.handlers.onAccountEvent(message.account, message.event);
        break;
      case 'error':
        this.handlers.onState('reconnecting', message.error?.message);
        break;
      default:
        break;
    }
  }

  private bookOf(market: number): OrderBook {
    let book = this.books.get(market);
    if (!book) {
      book = new OrderBook(market);
      this.books.set(market, book);
    }
    return book;
  }

  private async resync(market: number): Promise<void> {
    this.resyncs += 1;
    const book = this.bookOf(market);
    try {
      const snapshot = await this.handlers.fetchSnapshot(market);
      if (book.sequence !== null) return;
      if (book.reset(snapshot) === 'gap') {
        setTimeout(() => void this.resync(market), 200);
        return;
      }
      this.handlers.onBook(market, book);
    } catch {
      setTimeout(() => void this.resync(market), 1000);
    }
  }
}
