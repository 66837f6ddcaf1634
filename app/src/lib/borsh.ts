// The borsh encoding of trader actions, written out field by field after
// engine/core/src/action.rs and engine/core/src/order.rs. Enums are a one-byte variant index
// in declaration order, integers little-endian, Option a 0/1 byte then the value.
// Checked byte for byte against vectors rendered by engine/service/tests/app_vectors.rs.

import { fromHex } from './hex';

export type Side = 'Buy' | 'Sell';
export type TimeInForce = 'GoodTillCancel' | 'ImmediateOrCancel' | 'FillOrKill' | 'PostOnly';
export type TriggerKind = 'StopLoss' | 'TakeProfit';
export type SelfTrade = 'ExpireMaker' | 'ExpireTaker' | 'ExpireBoth';

export type Execution =
  | { kind: 'Limit'; price: bigint; timeInForce: TimeInForce }
  | { kind: 'Market'; worstPrice: bigint };

export interface OrderRequest {
  market: number;
  side: Side;
  lots: bigint;
  execution: Execution;
  trigger: { kind: TriggerKind; price: bigint } | null;
  reduceOnly: boolean;
  clientOrderId: bigint;
  selfTrade: SelfTrade;
}

export type Action =
  | { kind: 'PlaceOrder'; order: OrderRequest }
  | { kind: 'Cancel'; market: number; orderId: bigint }
  | { kind: 'CancelByClientId'; market: number; clientOrderId: bigint }
  | { kind: 'CancelAll'; market: number | null }
  | { kind: 'Modify'; market: number; orderId: bigint; price: bigint; lots: bigint }
  | { kind: 'Withdraw'; amount: bigint }
  | { kind: 'SetSessionKey'; session: { key: Uint8Array; expiresMs: bigint } | null };

export interface SignedAction {
  account: number;
  trader: Uint8Array;
  nonce: bigint;
  action: Action;
  signature: Uint8Array;
}

const SIDES: Side[] = ['Buy', 'Sell'];
const TIFS: TimeInForce[] = ['GoodTillCancel', 'ImmediateOrCancel', 'FillOrKill', 'PostOnly'];
const TRIGGERS: TriggerKind[] = ['StopLoss', 'TakeProfit'];
const SELF_TRADE: SelfTrade[] = ['ExpireMaker', 'ExpireTaker', 'ExpireBoth'];
const ACTIONS: Action['kind'][] = [
  'PlaceOrder',
  'Cancel',
  'CancelByClientId',
  'CancelAll',
  'Modify',
  'Withdraw',
  'SetSessionKey',
];

export class Writer {
  private bytes: number[] = [];

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`u8 ${value}`);
    this.bytes.push(value);
    return this;
  }

  private uint(value: bigint, width: number): this {
    if (value < 0n || value >= 1n << BigInt(8 * width)) throw new RangeError(`u${8 * width} ${value}`);
    for (let i = 0; i < width; i += 1) {
      this.bytes.push(Number(value & 0xffn));
      value >>= 8n;
    }
    return this;
  }

  u16(value: number): this {
    return this.uint(BigInt(value), 2);
  }

  u32(value: number): this {
    return this.uint(BigInt(value), 4);
  }

  u64(value: bigint): this {
    return this.uint(value, 8);
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  fixed(bytes: Uint8Array, length: number): this {
    if (bytes.length !== length) throw new RangeError(`expected ${length} bytes, got ${bytes.length}`);
    for (const byte of bytes) this.bytes.push(byte);
    return this;
  }

  variant<T>(all: readonly T[], value: T): this {
    const index = all.indexOf(value);
    if (index < 0) throw new RangeError(`unknown variant ${String(value)}`);
    return this.u8(index);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

function writeOrder(w: Writer, order: OrderRequest): void {
  w.u16(order.market).variant(SIDES, order.side).u64(order.lots);
  if (order.execution.kind === 'Limit') {
    w.u8(0).u64(order.execution.price).variant(TIFS, order.execution.timeInForce);
  } else {
    w.u8(1).u64(order.execution.worstPrice);
  }
  if (order.trigger) w.u8(1).variant(TRIGGERS, order.trigger.kind).u64(order.trigger.price);
  else w.u8(0);
  w.bool(order.reduceOnly).u64(order.clientOrderId).variant(SELF_TRADE, order.selfTrade);
}

export function writeAction(w: Writer, action: Action): Writer {
  w.variant(ACTIONS, action.kind);
  switch (action.kind) {
    case 'PlaceOrder':
      writeOrder(w, action.order);
      break;
    case 'Cancel':
      w.u16(action.market).u64(action.orderId);
      break;
    case 'CancelByClientId':
      w.u16(action.market).u64(action.clientOrderId);
      break;
    case 'CancelAll':
      if (action.market === null) w.u8(0);
      else w.u8(1).u16(action.market);
      break;
    case 'Modify':
      w.u16(action.market).u64(action.orderId).u64(action.price).u64(action.lots);
      break;
    case 'Withdraw':
      w.u64(action.amount);
      break;
    case 'SetSessionKey':
      if (action.session === null) w.u8(0);
      else w.u8(1).fixed(action.session.key, 32).u64(action.session.expiresMs);
      break;
  }
  return w;
}

export function encodeAction(action: Action): Uint8Array {
  return writeAction(new Writer(), action).finish();
}

export const ACTION_DOMAIN = new TextEncoder().encode('gnomon/action/v1');

/** What the trader signs: "gnomon/action/v1" || exchange id || account u32 || nonce u64 || action. */
export function actionMessage(exchangeId: Uint8Array, account: number, nonce: bigint, action: Action): Uint8Array {
  const w = new Writer().fixed(ACTION_DOMAIN, ACTION_DOMAIN.length).fixed(exchangeId, 32).u32(account).u64(nonce);
  return writeAction(w, action).finish();
}

export function encodeSignedAction(signed: SignedAction): Uint8Array {
  const w = new Writer().u32(signed.account).fixed(signed.trader, 32).u64(signed.nonce);
  writeAction(w, signed.action);
  return w.fixed(signed.signature, 64).finish();
}

/** The action described as the vectors file describes it (u64 values as decimal strings). */
export function actionFromJson(value: any): Action {
  const b = (text: string) => BigInt(text);
  switch (value.kind) {
    case 'PlaceOrder': {
      const o = value.order;
      const execution: Execution =
        o.execution.kind === 'Limit'
          ? { kind: 'Limit', price: b(o.execution.price), timeInForce: o.execution.timeInForce }
          : { kind: 'Market', worstPrice: b(o.execution.worstPrice) };
      return {
        kind: 'PlaceOrder',
        order: {
          market: o.market,
          side: o.side,
          lots: b(o.lots),
          execution,
          trigger: o.trigger ? { kind: o.trigger.kind, price: b(o.trigger.price) } : null,
          reduceOnly: o.reduceOnly,
          clientOrderId: b(o.clientOrderId),
          selfTrade: o.selfTrade,
        },
      };
    }
    case 'Cancel':
      return { kind: 'Cancel', market: value.market, orderId: b(value.orderId) };
    case 'CancelByClientId':
      return { kind: 'CancelByClientId', market: value.market, clientOrderId: b(value.clientOrderId) };
    case 'CancelAll':
      return { kind: 'CancelAll', market: value.market };
    case 'Modify':
      return { kind: 'Modify', market: value.market, orderId: b(value.orderId), price: b(value.price), lots: b(value.lots) };
    case 'Withdraw':
      return { kind: 'Withdraw', amount: b(value.amount) };
    case 'SetSessionKey':
      return {
        kind: 'SetSessionKey',
        session: value.session ? { key: fromHex(value.session.key), expiresMs: b(value.session.expiresMs) } : null,
      };
    default:
      throw new Error(`unknown action ${value.kind}`);
  }
}
