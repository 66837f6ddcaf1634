// Fixed-point values as the engine keeps them (engine/core/src/fixed.rs): collateral in quote
// atoms (10^-6 USDC), prices in quote atoms per lot, sizes in lots, margin fractions in
// millionths, funding rates in billionths. Every value sent to the engine is a bigint.

export const QUOTE_DECIMALS = 6;
export const QUOTE_ONE = 1_000_000n;
export const RATE_ONE = 1_000_000n;
export const FUNDING_ONE = 1_000_000_000n;
export const MAX_PRICE = 1n << 40n;
export const MAX_LOTS = 1n << 40n;

/** A JSON integer (number, or a string for the wide ones) as a bigint. */
export function big(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`not an integer: ${value}`);
    return BigInt(value);
  }
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new Error(`not an integer: ${String(value)}`);
}

/** `numerator / denominator` rounded towards negative infinity (denominator > 0). */
export function divFloor(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator !== 0n && numerator < 0n ? quotient - 1n : quotient;
}

/** `numerator / denominator` rounded towards positive infinity (denominator > 0). */
export function divCeil(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator !== 0n && numerator > 0n ? quotient + 1n : quotient;
}

export function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

/** `atoms` with `scale` decimals, shown with `shown` decimals (truncated towards zero), grouped. */
export function formatUnits(atoms: bigint, scale: number, shown: number, group = true): string {
  const negative = atoms < 0n;
  let magnitude = negative ? -atoms : atoms;
  const drop = scale - shown;
  if (drop > 0) magnitude /= 10n ** BigInt(drop);
  else if (drop < 0) magnitude *= 10n ** BigInt(-drop);
  const digits = magnitude.toString().padStart(shown + 1, '0');
  let whole = digits.slice(0, digits.length - shown);
  const fraction = digits.slice(digits.length - shown);
  if (group) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (negative && magnitude !== 0n ? '-' : '') + whole + (shown > 0 ? '.' + fraction : '');
}

/** Quote atoms as USDC. */
export function formatQuote(atoms: bigint, shown = 2): string {
  return formatUnits(atoms, QUOTE_DECIMALS, shown);
}

/** Decimals that show every multiple of `tick` (quote atoms) exactly. */
export function priceDecimals(tick: bigint): number {
  let decimals = QUOTE_DECIMALS;
  let step = tick;
  while (decimals > 0 && step % 10n === 0n) {
    step /= 10n;
    decimals -= 1;
  }
  return decimals;
}

/** A decimal string ("100.25") as units of 10^-scale; null when malformed or too precise. */
export function parseUnits(text: string, scale: number): bigint | null {
  const match = /^\s*(\d*)(?:\.(\d*))?\s*$/.exec(text);
  if (!match || (match[1] === '' && (match[2] ?? '') === '')) return null;
  const fraction = match[2] ?? '';
  if (fraction.replace(/0+$/, '').length > scale) return null;
  return BigInt((match[1] || '0') + fraction.padEnd(scale, '0'));
}

/** Rounds a price to a multiple of the tick: down for bids, up for asks. */
export function roundToTick(price: bigint, tick: bigint, up: boolean): bigint {
  return up ? divCeil(price, tick) * tick : divFloor(price, tick) * tick;
}
