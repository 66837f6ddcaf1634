//! Market configurations the scenarios use.

use gnomon_core::market::{FeeSchedule, FundingParams, MarginTier, MarketConfig, OracleParams};

use crate::USDC;

/// A market where one lot is one unit of the base asset and prices are quoted per unit:
/// 100 USDC is 100_000_000. Tick 0.01 USDC. 10x at the first tier (10% initial, 5%
/// maintenance), 5x from 1M USDC (20% / 10%). Maker -0.01%, taker 0.05%, liquidation 1%.
pub fn unit_market() -> MarketConfig {
    MarketConfig {
        symbol: *b"UNIT-PERP\0\0\0\0\0\0\0",
        base_decimals: 0,
        lot_size: 1,
        tick_size: 10_000,
        min_order_lots: 1,
        margin_tiers: vec![
            MarginTier {
                notional_floor: 0,
                initial_fraction: 100_000,
                maintenance_fraction: 50_000,
            },
            MarginTier {
                notional_floor: 1_000_000 * USDC as u64,
                initial_fraction: 200_000,
                maintenance_fraction: 100_000,
            },
        ],
        fees: FeeSchedule {
            maker_rate: -100,
            taker_rate: 500,
            liquidation_rate: 10_000,
        },
        funding: FundingParams {
            interest_rate_8h: 100_000,
            premium_band_8h: 500_000,
            cap_per_hour: 40_000_000,
            impact_notional: 1_000 * USDC as u64,
        },
        oracle: OracleParams {
            max_age_ms: 60_000,
            max_move: 200_000,
            ema_time_constant_ms: 150_000,
        },
        open_interest_cap: 1_000_000,
        liquidation_step: 500_000,
    }
}

/// The same market without trading fees (the 1% liquidation fee stays), for scenarios
/// computed by hand.
pub fn feeless_market() -> MarketConfig {
    let mut config = unit_market();
    config.fees = FeeSchedule {
        maker_rate: 0,
        taker_rate: 0,
        liquidation_rate: 10_000,
    };
    config
}
