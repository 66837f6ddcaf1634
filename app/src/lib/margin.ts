// Margin arithmetic, ported from engine/core/src/margin.rs and market.rs with the same
// integer formulas and rounding, for the estimates shown before an order is submitted.

import { RATE_ONE, abs, divCeil, divFloor } from './fixed';

export interface MarginTier {
  notionalFloor: bigint;
  initialFraction: bigint;
  maintenanceFraction: bigint;
}

type Fraction = 'initialFraction' | 'maintenanceFraction';

/** The rate and deduction (millionths of a quote atom) of the tier holding `notional`. */
export function tierTerms(tiers: MarginTier[], notional: bigint, fraction: Fraction): [bigint, bigint] {
  let rate = 0n;
  let deduction = 0n;
  for (const tier of tiers) {
    if (notional < tier.notionalFloor) break;
    const tierRate = tier[fraction];
    deduction += tier.notionalFloor * (tierRate - rate);
    rate = tierRate;
  }
  return [rate, deduction];
}

function requirement(tiers: MarginTier[], notional: bigint, fraction: Fraction): bigint {
  if (notional <= 0n) return 0n;
  const [rate, deduction] = tierTerms(tiers, notional, fraction);
  return divCeil(notional * rate - deduction, RATE_ONE);
}

export const initialRequirement = (tiers: MarginTier[], notional: bigint) =>
  requirement(tiers, notional, 'initialFraction');
export const maintenanceRequirement = (tiers: MarginTier[], notional: bigint) =>
  requirement(tiers, notional, 'maintenanceFraction');

export function maxLeverage(tiers: MarginTier[]): bigint {
  const first = tiers[0]?.initialFraction ?? 0n;
  return first === 0n ? 0n : RATE_ONE / first;
}

/** An account's risk in one market, other markets folded into the totals. */
export interface Risk {
  /** Account value: collateral + uPnL - pending funding, over every market. */
  value: bigint;
  /** Maintenance requirement over every market. */
  maintenance: bigint;
  /** Initial requirement over every market. */
  initial: bigint;
  /** Position in this market, lots (signed). */
  size: bigint;
  mark: bigint;
  tiers: MarginTier[];
}

/**
 * The mark at which the account reaches maintenance, as `liquidation_price` in margin.rs:
 * other marks fixed, the tier of the current size kept, rounded towards the mark.
 */
export function liquidationPrice(risk: Risk): bigint | null {
  const { size, mark, tiers } = risk;
  if (size === 0n) return null;
  const notional = abs(size) * mark;
  const [rate, deduction] = tierTerms(tiers, notional, 'maintenanceFraction');
  const others = risk.maintenance - maintenanceRequirement(tiers, notional);
  let numerator = RATE_ONE * (others - risk.value + size * mark) - deduction;
  let denominator = size * RATE_ONE - abs(size) * rate;
  if (denominator === 0n) return null;
  if (denominator < 0n) {
    numerator = -numerator;
    denominator = -denominator;
  }
  const price = size > 0n ? divCeil(numerator, denominator) : divFloor(numerator, denominator);
  return price > 0n && price < 1n << 64n ? price : null;
}

export interface OrderImpact {
  /** Position after the fill, lots. */
  size: bigint;
  /** Fill notional and the fee on it (taker rate, rounded up). */
  notional: bigint;
  fee: bigint;
  /** Initial requirement before and after (whole account). */
  initialBefore: bigint;
  initialAfter: bigint;
  valueAfter: bigint;
  freeAfter: bigint;
  liquidationPrice: bigint | null;
  /** Whether the account would still meet its initial requirement (or only reduces). */
  allowed: boolean;
  /** Notional over value after the fill, millionths. */
  leverage: bigint | null;
}

/**
 * What filling `lots` (signed: + buys) at `price` would do to the account, assuming it
 * fills completely as a taker and marks do not move.
 */
export function orderImpact(risk: Risk, lots: bigint, price: bigint, takerRate: bigint, totalNotional: bigint): OrderImpact {
  const { tiers, mark } = risk;
  const notional = abs(lots) * price;
  const fee = takerRate > 0n ? divCeil(notional * takerRate, RATE_ONE) : 0n;
  const size = risk.size + lots;
  // value = collateral + size * mark - cost: the fill adds lots*(mark - price), less the fee.
  const valueAfter = risk.value + lots * (mark - price) - fee;
  const oldNotional = abs(risk.size) * mark;
  const newNotional = abs(size) * mark;
  const initialBefore = risk.initial;
  const initialAfter = initialBefore - initialRequirement(tiers, oldNotional) + initialRequirement(tiers, newNotional);
  const maintenanceAfter =
    risk.maintenance - maintenanceRequirement(tiers, oldNotional) + maintenanceRequirement(tiers, newNotional);
  const reduces = size === 0n || (sign(size) === sign(risk.size) && abs(size) <= abs(risk.size));
  const notionalAfter = totalNotional - oldNotional + newNotional;
  return {
    size,
    notional,
    fee,
    initialBefore,
    initialAfter,
    valueAfter,
    freeAfter: valueAfter - initialAfter,
    liquidationPrice: liquidationPrice({ value: valueAfter, maintenance: maintenanceAfter, initial: initialAfter, size, mark, tiers }),
    allowed: valueAfter >= initialAfter || (reduces && valueAfter >= 0n),
    leverage: valueAfter > 0n ? (notionalAfter * RATE_ONE) / valueAfter : null,
  };
}

function sign(value: bigint): number {
  return value > 0n ? 1 : value < 0n ? -1 : 0;
}
