import { describe, expect, it } from 'vitest';
import { type MarginTier, initialRequirement, liquidationPrice, maintenanceRequirement, maxLeverage, orderImpact } from '../src/lib/margin';

// engine/core/src/market.rs's test_config: 5% initial, 2.5% maintenance.
const flat: MarginTier[] = [{ notionalFloor: 0n, initialFraction: 50_000n, maintenanceFraction: 25_000n }];
// engine/sim's unit market: 10% / 5%, then 20% / 10% from 1,000,000 USDC of notional.
const unit: MarginTier[] = [
  { notionalFloor: 0n, initialFraction: 100_000n, maintenanceFraction: 50_000n },
  { notionalFloor: 1_000_000_000_000n, initialFraction: 200_000n, maintenanceFraction: 100_000n },
];

describe('margin formulas match engine/core/src/margin.rs', () => {
  it('tiered requirements, rounded up and continuous across floors', () => {
    expect(initialRequirement(flat, 110_000n)).toBe(5_500n);
    expect(maintenanceRequirement(flat, 110_000n)).toBe(2_750n);
    expect(initialRequirement(flat, 1n)).toBe(1n);
    expect(initialRequirement(flat, 0n)).toBe(0n);
    const floor = 1_000_000_000_000n;
    expect(initialRequirement(unit, floor - 1n)).toBe(initialRequirement(unit, floor) - 0n);
    expect(initialRequirement(unit, floor + 10n) - initialRequirement(unit, floor)).toBe(2n);
    expect(maxLeverage(unit)).toBe(10n);
  });

  // The cases of margin.rs's own tests.
  it('long: 10 lots at 10,000 with 10,000 collateral liquidates at 9,231', () => {
    // value = 10_000 + 10 * 10_000 - 100_000; maintenance 2.5% of 100_000.
    const risk = { value: 10_000n, maintenance: 2_500n, initial: 5_000n, size: 10n, mark: 10_000n, tiers: flat };
    expect(liquidationPrice(risk)).toBe(9_231n);
  });

  it('short: liquidates at 10,731', () => {
    const risk = { value: 10_000n, maintenance: 2_500n, initial: 5_000n, size: -10n, mark: 10_000n, tiers: flat };
    expect(liquidationPrice(risk)).toBe(10_731n);
  });

  it('no position, no liquidation price', () => {
    expect(liquidationPrice({ value: 1n, maintenance: 0n, initial: 0n, size: 0n, mark: 1n, tiers: flat })).toBeNull();
  });

  it('the order impact of opening the margin.rs long gives its liquidation price', () => {
    const flatAccount = { value: 10_000n, maintenance: 0n, initial: 0n, size: 0n, mark: 10_000n, tiers: flat };
    const impact = orderImpact(flatAccount, 10n, 10_000n, 0n, 0n);
    expect(impact.size).toBe(10n);
    expect(impact.initialAfter).toBe(5_000n);
    expect(impact.freeAfter).toBe(5_000n);
    expect(impact.liquidationPrice).toBe(9_231n);
    expect(impact.allowed).toBe(true);
    expect(impact.leverage).toBe(10_000_000n);
    // A taker fee of 0.05% on 100,000 is 50, rounded up.
    expect(orderImpact(flatAccount, 10n, 10_000n, 500n, 0n).fee).toBe(50n);
    // Twenty-one times the value is beyond 20x: refused.
    expect(orderImpact(flatAccount, 21n, 10_000n, 0n, 0n).allowed).toBe(false);
  });
});
