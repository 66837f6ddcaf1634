// The engine's REST API (engine/service/src/api), typed, with bigints for every amount.

import { big } from './fixed';
import { type BatchDetail, type Settlement, toBatchDetail, toSettlement } from './batch';
import { parseJson } from './json';
import type { MarginTier } from './margin';
import type { Snapshot } from './book';

export interface Market {
  id: number;
  symbol: string;
  status: string;
  tickSize: bigint;
  lotSize: bigint;
  minOrderLots: bigint;
  maxLeverage: number;
  marginTiers: MarginTier[];
  makerFeeRate: bigint;
  takerFeeRate: bigint;
  indexPrice: bigint;
  markPrice: bigint;
  lastTradePrice: bigint;
  lastFundingRate: bigint;
  nextFundingMs: number;
  openInterest: bigint;
  bestBid: bigint | null;
  bestAsk: bigint | null;
}

export interface Position {
  market: number;
  size: bigint;
  cost: bigint;
  entryPrice: bigint;
  markPrice: bigint;
  unrealizedPnl: bigint;
  liquidationPrice: bigint | null;
}

export interface OpenOrder {
  market: number;
  orderId: bigint;
  kind: 'limit' | 'trigger';
  clientOrderId: bigint;
  side: 'Buy' | 'Sell';
  lots: bigint;
  price: bigint | null;
  triggerPrice: bigint | null;
  reduceOnly: boolean;
}

export interface Account {
  account: number;
  owner: string;
  collateral: bigint;
  lastNonce: bigint;
  positions: Position[];
  openOrders: OpenOrder[];
  margin: { value: bigint; initial: bigint; maintenance: bigint; notional: bigint; freeCollateral: bigint; liquidatable: boolean };
}

export interface Trade {
  position: number;
  timestampMs: number;
  price: bigint;
  lots: bigint;
  takerSide: 'Buy' | 'Sell';
}

export interface FundingRecord {
  position: number;
  timestampMs: number;
  rate: bigint;
  hours: number;
  index: bigint;
}

/** A market's interval (`GET /v1/markets/{id}/candles`): trades' OHLCV (null when nothing
 * traded) and the mark and index prices at its close. */
export interface Candle {
  startMs: number;
  open: bigint | null;
  high: bigint | null;
  low: bigint | null;
  close: bigint | null;
  volume: bigint;
  trades: number;
  mark: bigint | null;
  index: bigint | null;
}

/** How an account's position changed hands in a fill. */
export type Liquidity = 'maker' | 'taker' | 'backstop' | 'deleverage';

/** One of an account's fills, from its side (`GET /v1/accounts/{id}/fills`). */
export interface AccountFill {
  position: number;
  timestampMs: number;
  market: number;
  side: 'Buy' | 'Sell';
  price: bigint;
  lots: bigint;
  liquidity: Liquidity;
  orderId: bigint | null;
  /** Trading fee; negative is a rebate. */
  fee: bigint;
  liquidation: boolean;
  liquidationFee: bigint;
}

/** A funding payment of an account: positive paid, negative received. */
export interface FundingPayment {
  position: number;
  timestampMs: number;
  market: number;
  amount: bigint;
}

export interface Batch {
  batch: number;
  proof: { status: string; worker?: string; attempt?: number; cycles?: number; segments?: number; proven?: number; level?: number; done?: number; proving_ms?: number; groth16_ms?: number; proof_bytes?: number; reason?: string };
  summary: {
    steps: number;
    traderActions: number;
    priorRoot: string;
    newRoot: string;
    firstMs: number;
    lastMs: number;
    withdrawals: number;
  } | null;
  settlement: Settlement | null;
}

/** Where the exchange settles: the program, its exchange account, and the JSON-RPC endpoint
 * the engine publishes for browsers (null: none published). */
export interface SettlementTarget {
  program: string;
  exchange: string;
  rpcUrl: string | null;
}

export interface Status {
  settlement: SettlementTarget | null;
  exchangeId: string;
  logPosition: number;
  lastSealedBatch: number;
  stateRoot: string;
  lastTimestampMs: number;
  accounts: number;
}

export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}

const opt = (value: unknown) => (value === null || value === undefined ? null : big(value));

export function toMarket(m: any): Market {
  return {
    id: m.id,
    symbol: m.symbol,
    status: m.status,
    tickSize: big(m.tick_size),
    lotSize: big(m.lot_size),
    minOrderLots: big(m.min_order_lots),
    maxLeverage: m.max_leverage,
    marginTiers: (m.margin_tiers ?? []).map((t: any) => ({
      notionalFloor: big(t.notional_floor),
      initialFraction: big(t.initial_fraction),
      maintenanceFraction: big(t.maintenance_fraction),
    })),
    makerFeeRate: big(m.maker_fee_rate ?? 0),
    takerFeeRate: big(m.taker_fee_rate ?? 0),
    indexPrice: big(m.index_price),
    markPrice: big(m.mark_price),
    lastTradePrice: big(m.last_trade_price),
    lastFundingRate: big(m.last_funding_rate),
    nextFundingMs: Number(m.next_funding_ms),
    openInterest: big(m.open_interest),
    bestBid: opt(m.best_bid),
    bestAsk: opt(m.best_ask),
  };
}

export function toAccount(a: any): Account {
  return {
    account: a.account,
    owner: a.owner,
    collateral: big(a.collateral),
    lastNonce: big(a.last_nonce),
    positions: a.positions.map((p: any) => ({
      market: p.market,
      size: big(p.size),
      cost: big(p.cost),
      entryPrice: big(p.entry_price),
      markPrice: big(p.mark_price),
      unrealizedPnl: big(p.unrealized_pnl),
      liquidationPrice: opt(p.liquidation_price),
    })),
    openOrders: a.open_orders.map((o: any) => ({
      market: o.market,
      orderId: big(o.order_id),
      kind: o.kind,
      clientOrderId: big(o.client_order_id),
      side: o.side,
      lots: big(o.lots),
      price: opt(o.price),
      triggerPrice: opt(o.trigger_price),
      reduceOnly: o.reduce_only,
    })),
    margin: {
      value: big(a.margin.value),
      initial: big(a.margin.initial),
      maintenance: big(a.margin.maintenance),
      notional: big(a.margin.notional),
      freeCollateral: big(a.margin.free_collateral),
      liquidatable: a.margin.liquidatable,
    },
  };
}

export function toSnapshot(s: any): Snapshot {
  return {
    market: s.market,
    sequence: Number(s.sequence),
    bids: s.bids.map(([p, l]: unknown[]) => [big(p), big(l)]),
    asks: s.asks.map(([p, l]: unknown[]) => [big(p), big(l)]),
  };
}

export function toTrade(t: any): Trade {
  return { position: Number(t.position), timestampMs: Number(t.timestamp_ms), price: big(t.price), lots: big(t.lots), takerSide: t.taker_side };
}

export function toFill(f: any): AccountFill {
  return {
    position: Number(f.position),
    timestampMs: Number(f.timestamp_ms),
    market: f.market,
    side: f.side,
    price: big(f.price),
    lots: big(f.lots),
    liquidity: f.liquidity,
    orderId: opt(f.order_id),
    fee: big(f.fee),
    liquidation: f.liquidation,
    liquidationFee: big(f.liquidation_fee),
  };
}

export class Api {
  constructor(readonly base = '') {}

  private async request(path: string, init?: RequestInit): Promise<any> {
    const response = await fetch(this.base + path, init);
    const text = await response.text();
    const body = text ? parseJson<any>(text) : null;
    if (!response.ok) {
      throw new ApiError(body?.code ?? `http_${response.status}`, body?.message ?? response.statusText, response.status);
    }
    return body;
  }

  private post(path: string, body: unknown): Promise<any> {
    return this.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  async markets(): Promise<Market[]> {
    return (await this.request('/v1/markets')).markets.map(toMarket);
  }

  async book(market: number, depth = 200): Promise<Snapshot> {
    return toSnapshot(await this.request(`/v1/markets/${market}/book?depth=${depth}`));
  }

  async trades(market: number, limit = 100): Promise<Trade[]> {
    return (await this.request(`/v1/markets/${market}/trades?limit=${limit}`)).trades.map(toTrade);
  }

  async funding(market: number, limit = 50): Promise<FundingRecord[]> {
    return (await this.request(`/v1/markets/${market}/funding?limit=${limit}`)).funding.map((f: any) => ({
      position: Number(f.position),
      timestampMs: Number(f.timestamp_ms),
      rate: big(f.rate),
      hours: Number(f.hours),
      index: big(f.index),
    }));
  }

  async account(id: number): Promise<Account> {
    return toAccount(await this.request(`/v1/accounts/${id}`));
  }

  /** Newest first. */
  async candles(market: number, interval: '1m' | '1h' | '1d', limit = 500): Promise<Candle[]> {
    return (await this.request(`/v1/markets/${market}/candles?interval=${interval}&limit=${limit}`)).candles.map((c: any) => ({
      startMs: Number(c.start_ms),
      open: opt(c.open),
      high: opt(c.high),
      low: opt(c.low),
      close: opt(c.close),
      volume: big(c.volume),
      trades: c.trades,
      mark: opt(c.mark),
      index: opt(c.index),
    }));
  }

  async fills(account: number, limit = 100): Promise<AccountFill[]> {
    return (await this.request(`/v1/accounts/${account}/fills?limit=${limit}`)).fills.map(toFill);
  }

  async fundingPayments(account: number, limit = 100): Promise<FundingPayment[]> {
    return (await this.request(`/v1/accounts/${account}/funding?limit=${limit}`)).payments.map((p: any) => ({
      position: Number(p.position),
      timestampMs: Number(p.timestamp_ms),
      market: p.market,
      amount: big(p.amount),
    }));
  }

  async batches(): Promise<{ lastSealed: number; openBatchSteps: number; batches: Batch[] }> {
    const body = await this.request('/v1/batches');
    return {
      lastSealed: Number(body.last_sealed),
      openBatchSteps: Number(body.open_batch_steps),
      batches: body.batches.map((b: any) => ({
        batch: Number(b.batch),
        proof: b.proof,
        summary: b.summary
          ? {
              steps: b.summary.steps,
              traderActions: b.summary.trader_actions,
              priorRoot: b.summary.prior_root,
              newRoot: b.summary.new_root,
              firstMs: Number(b.summary.first_ms),
              lastMs: Number(b.summary.last_ms),
              withdrawals: b.summary.withdrawals,
            }
          : null,
        settlement: toSettlement(b.settlement),
      })),
    };
  }

  /** One sealed batch in full: its committed header and its settled balances. */
  async batch(number: number): Promise<BatchDetail> {
    return toBatchDetail(await this.request(`/v1/batches/${number}`));
  }

  async status(): Promise<Status> {
    const s = await this.request('/v1/status');
    return {
      settlement: s.settlement ? { program: s.settlement.program, exchange: s.settlement.exchange, rpcUrl: s.settlement.rpc_url ?? null } : null,
      exchangeId: s.exchange_id,
      logPosition: Number(s.log_position),
      lastSealedBatch: Number(s.last_sealed_batch),
      stateRoot: s.state_root,
      lastTimestampMs: Number(s.last_timestamp_ms),
      accounts: Number(s.accounts),
    };
  }

  /** The ids of the accounts `owner` (hex) holds, oldest first. */
  async accountsOf(owner: string): Promise<number[]> {
    const body = await this.request(`/v1/accounts?owner=${owner}`);
    return body.accounts.map(Number);
  }

  async deposit(owner: string, amount: bigint, account?: number): Promise<number> {
    // The amount is a u64 in JSON; written as a bare integer, never through a float.
    const body = `{"owner":${JSON.stringify(owner)},"amount":${amount.toString()}${account === undefined ? '' : `,"account":${account}`}}`;
    const response = await this.request('/v1/dev/deposit', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return response.account;
  }

  async submit(actions: string[]): Promise<ActionResult[]> {
    return (await this.post('/v1/actions', { actions })).results;
  }
}

export type ActionResult =
  | { status: 'accepted'; position: number; events: any[] }
  | { status: 'rejected'; position: number; error: { code: string; message: string }; events: any[] }
  | { status: 'error'; error: { code: string; message: string } };
