//! Markets: static configuration (ticks, lots, margin tiers, fees, funding and oracle
//! parameters, caps) and the dynamic state the state machine keeps per market (prices, funding
//! index, open interest, status). The order book lives next to them in [`Market`].

use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};
use core::fmt;

use crate::book::Book;
use crate::fixed::{FUNDING_ONE, Lots, MAX_LOTS, MAX_PRICE, Price, RATE_ONE, Timestamp, div_ceil};

/// What a market accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum MarketStatus {
    /// Everything.
    #[default]
    Active,
    /// Cancels, and orders that only reduce positions (makers included).
    ReduceOnly,
    /// Cancels only. Funding and liquidations continue.
    Halted,
}

/// One tier of the margin table: from `notional_floor` (quote atoms) up to the next tier's
/// floor, requirements grow at these fractions (millionths).
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MarginTier {
    pub notional_floor: u64,
    pub initial_fraction: u32,
    pub maintenance_fraction: u32,
}

/// Trading fees, millionths of the notional. A negative maker rate is a rebate; it must be
/// covered by the taker rate, so that every trade adds to the fee pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FeeSchedule {
    pub maker_rate: i32,
    pub taker_rate: i32,
    /// Charged on liquidation fills on top of the taker fee, paid to the insurance fund and
    /// capped so that it never pushes the account below zero.
    pub liquidation_rate: u32,
}

/// Funding parameters, billionths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FundingParams {
    /// The interest part of the 8-hour rate (0.01% is 100_000).
    pub interest_rate_8h: i64,
    /// How far the interest part may pull the 8-hour rate away from the premium (0.05% is
    /// 500_000).
    pub premium_band_8h: i64,
    /// The largest hourly rate, either sign (4% is 40_000_000).
    pub cap_per_hour: i64,
    /// Impact prices are the average fill prices of this notional (quote atoms).
    pub impact_notional: u64,
}

/// Oracle guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OracleParams {
    /// An index price older than this (ms) is stale: no risk-increasing orders, no
    /// liquidations, and the next update is not clamped.
    pub max_age_ms: u64,
    /// The largest move of one update, millionths of the previous price; larger moves are
    /// clamped to it.
    pub max_move: u32,
    /// Time constant (ms) of the EMA of the book's basis to the oracle used in the mark price.
    pub ema_time_constant_ms: u64,
}

/// Static configuration of a market.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MarketConfig {
    /// Symbol, ASCII, zero-padded (for people; the market id is its index).
    pub symbol: [u8; 16],
    /// Decimals of the base asset and base atoms in one lot (for people: prices are per lot).
    pub base_decimals: u8,
    pub lot_size: u64,
    /// Order prices must be multiples of this (quote atoms per lot).
    pub tick_size: Price,
    /// The smallest order, in lots.
    pub min_order_lots: Lots,
    /// Margin tiers, floors strictly increasing from zero, fractions non-decreasing.
    pub margin_tiers: Vec<MarginTier>,
    pub fees: FeeSchedule,
    pub funding: FundingParams,
    pub oracle: OracleParams,
    /// The most lots long (equal to the most lots short) the market may hold.
    pub open_interest_cap: Lots,
    /// Share of a position (millionths) a liquidation closes into the book per step.
    pub liquidation_step: u32,
}

/// Why a market configuration was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    ZeroTickSize,
    ZeroLotSize,
    MinOrderOutOfRange,
    NoMarginTiers,
    FirstTierFloorNotZero,
    TierFloorsNotIncreasing,
    MarginFractionsInvalid,
    FeesInvalid,
    FundingInvalid,
    OracleInvalid,
    OpenInterestCapInvalid,
    LiquidationStepInvalid,
    TooManyMarkets,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ZeroTickSize => "tick size must be positive and at most the largest price",
            Self::ZeroLotSize => "lot size must be positive",
            Self::MinOrderOutOfRange => "minimum order must be between 1 and the largest size",
            Self::NoMarginTiers => "at least one margin tier is required",
            Self::FirstTierFloorNotZero => "the first margin tier must start at notional 0",
            Self::TierFloorsNotIncreasing => "margin tier floors must increase strictly",
            Self::MarginFractionsInvalid => {
                "margin fractions must satisfy 0 < maintenance <= initial <= 1, non-decreasing"
            }
            Self::FeesInvalid => "fees: taker in [0, 10%], maker >= -taker, liquidation <= 10%",
            Self::FundingInvalid => "funding parameters out of range",
            Self::OracleInvalid => "oracle guards must be positive",
            Self::OpenInterestCapInvalid => "open interest cap must be in 1..=2^40",
            Self::LiquidationStepInvalid => "liquidation step must be in 1..=1_000_000",
            Self::TooManyMarkets => "market ids are 16 bits",
        })
    }
}

/// The most a fee rate may be: 10%.
const MAX_FEE_RATE: i64 = RATE_ONE / 10;

impl MarketConfig {
    /// Checks every bound the arithmetic relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tick_size == 0 || self.tick_size > MAX_PRICE {
            return Err(ConfigError::ZeroTickSize);
        }
        if self.lot_size == 0 {
            return Err(ConfigError::ZeroLotSize);
        }
        if self.min_order_lots == 0 || self.min_order_lots > MAX_LOTS {
            return Err(ConfigError::MinOrderOutOfRange);
        }
        let first = self
            .margin_tiers
            .first()
            .ok_or(ConfigError::NoMarginTiers)?;
        if first.notional_floor != 0 {
            return Err(ConfigError::FirstTierFloorNotZero);
        }
        let mut previous: Option<&MarginTier> = None;
        for tier in &self.margin_tiers {
            let fractions_valid = tier.maintenance_fraction > 0
                && tier.maintenance_fraction <= tier.initial_fraction
                && i64::from(tier.initial_fraction) <= RATE_ONE;
            if !fractions_valid {
                return Err(ConfigError::MarginFractionsInvalid);
            }
            if let Some(previous) = previous {
                if tier.notional_floor <= previous.notional_floor {
                    return Err(ConfigError::TierFloorsNotIncreasing);
                }
                if tier.initial_fraction < previous.initial_fraction
                    || tier.maintenance_fraction < previous.maintenance_fraction
                {
                    return Err(ConfigError::MarginFractionsInvalid);
                }
            }
            previous = Some(tier);
        }
        let fees = self.fees;
        let fees_valid = (0..=MAX_FEE_RATE).contains(&i64::from(fees.taker_rate))
            && i64::from(fees.maker_rate) >= -i64::from(fees.taker_rate)
            && i64::from(fees.maker_rate) <= MAX_FEE_RATE
            && i64::from(fees.liquidation_rate) <= MAX_FEE_RATE;
        if !fees_valid {
            return Err(ConfigError::FeesInvalid);
        }
        let funding = self.funding;
        let funding_valid = funding.interest_rate_8h.abs() <= FUNDING_ONE
            && (0..=FUNDING_ONE).contains(&funding.premium_band_8h)
            && (0..=FUNDING_ONE).contains(&funding.cap_per_hour)
            && funding.impact_notional > 0;
        if !funding_valid {
            return Err(ConfigError::FundingInvalid);
        }
        let oracle = self.oracle;
        if oracle.max_age_ms == 0
            || oracle.max_move == 0
            || i64::from(oracle.max_move) > RATE_ONE
            || oracle.ema_time_constant_ms == 0
        {
            return Err(ConfigError::OracleInvalid);
        }
        if self.open_interest_cap == 0 || self.open_interest_cap > MAX_LOTS {
            return Err(ConfigError::OpenInterestCapInvalid);
        }
        if self.liquidation_step == 0 || i64::from(self.liquidation_step) > RATE_ONE {
            return Err(ConfigError::LiquidationStepInvalid);
        }
        Ok(())
    }

    /// The initial margin requirement of `notional` (quote atoms), rounded up.
    pub fn initial_requirement(&self, notional: i128) -> i128 {
        self.tiered_requirement(notional, |tier| tier.initial_fraction)
    }

    /// The maintenance margin requirement of `notional` (quote atoms), rounded up.
    pub fn maintenance_requirement(&self, notional: i128) -> i128 {
        self.tiered_requirement(notional, |tier| tier.maintenance_fraction)
    }

    /// The largest leverage: one over the first tier's initial fraction (derived rather than
    /// stored, so that the two cannot disagree), rounded down.
    pub fn max_leverage(&self) -> u32 {
        let fraction = self
            .margin_tiers
            .first()
            .map_or(0, |tier| tier.initial_fraction);
        (RATE_ONE as u32).checked_div(fraction).unwrap_or(0)
    }

    /// The maintenance fraction (millionths) and deduction (millionths of a quote atom) of the
    /// tier holding `notional`: the requirement there is `(notional * rate - deduction) / 10^6`.
    pub fn maintenance_terms(&self, notional: i128) -> (i128, i128) {
        self.tier_terms(notional, |tier| tier.maintenance_fraction)
    }

    /// `notional * fraction_k - deduction_k` for the tier `k` holding `notional`, where the
    /// deduction `deduction_k = deduction_{k-1} + floor_k * (fraction_k - fraction_{k-1})`
    /// makes the requirement continuous across tier floors. Computed in millionths of a quote
    /// atom, so the only rounding is the final one, upwards.
    fn tiered_requirement(&self, notional: i128, fraction: impl Fn(&MarginTier) -> u32) -> i128 {
        if notional <= 0 {
            return 0;
        }
        let (rate, deduction) = self.tier_terms(notional, fraction);
        div_ceil(notional * rate - deduction, i128::from(RATE_ONE))
    }

    fn tier_terms(&self, notional: i128, fraction: impl Fn(&MarginTier) -> u32) -> (i128, i128) {
        let mut rate = 0i128;
        let mut deduction = 0i128;
        for tier in &self.margin_tiers {
            if notional < i128::from(tier.notional_floor) {
                break;
            }
            let tier_rate = i128::from(fraction(tier));
            deduction += i128::from(tier.notional_floor) * (tier_rate - rate);
            rate = tier_rate;
        }
        (rate, deduction)
    }

    /// Whether `price` is a valid order price for this market.
    pub fn price_on_tick(&self, price: Price) -> bool {
        self.tick_size != 0 && price.is_multiple_of(self.tick_size)
    }
}

/// Dynamic per-market state.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MarketState {
    pub status: MarketStatus,
    /// The oracle index price (0 until the first update) and when it was published.
    pub index_price: Price,
    pub index_time_ms: Timestamp,
    /// EMA of (book mid - index), price units, and when it was last updated.
    pub ema_basis: i64,
    pub ema_time_ms: Timestamp,
    /// The price of the last fill (0 before the first).
    pub last_trade_price: Price,
    /// The mark price margin, liquidations and triggers use.
    pub mark_price: Price,
    /// Cumulative funding per lot, 10^-9 quote atoms; a long pays when it rises.
    pub funding_index: i128,
    /// When the next hourly funding settles (0: not scheduled yet).
    pub next_funding_ms: Timestamp,
    /// Premium samples of the current hour (billionths) and their count.
    pub premium_sum: i64,
    pub premium_samples: u32,
    /// The hourly rate applied last (billionths).
    pub last_funding_rate: i64,
    /// Lots held long (equal to lots held short).
    pub open_interest: Lots,
    /// Funding paid in minus funding paid out, quote atoms. Backed by `funding_exposure`.
    pub funding_pool: i64,
    /// Sum over positions of size * funding snapshot (10^-9 quote atoms): what the pool would
    /// hold if every settlement were exact. `funding_pool * 10^9 - funding_exposure` is the
    /// rounding residue, never negative, swept to the insurance fund hourly.
    pub funding_exposure: i128,
    /// Head of the oracle authority's hash chain of this market's updates (see
    /// [`crate::prices`]).
    pub oracle_chain: [u8; 32],
}

/// A market: configuration, dynamic state, order book.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Market {
    pub config: MarketConfig,
    pub state: MarketState,
    pub book: Book,
}

impl Market {
    /// A new, active market with no prices yet.
    pub fn new(config: MarketConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            state: MarketState::default(),
            book: Book::default(),
        })
    }

    /// Whether the index price exists and is fresh at `now`.
    pub fn oracle_fresh(&self, now: Timestamp) -> bool {
        self.state.index_price != 0
            && now.saturating_sub(self.state.index_time_ms) <= self.config.oracle.max_age_ms
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec;

    /// A BTC-like market: a lot is 0.0001 BTC, a tick 0.1 USD/BTC (10 quote atoms per lot),
    /// 20x at the first tier, 10x from 1M USDC of notional.
    pub(crate) fn test_config() -> MarketConfig {
        MarketConfig {
            symbol: *b"BTC-PERP\0\0\0\0\0\0\0\0",
            base_decimals: 8,
            lot_size: 10_000,
            tick_size: 10,
            min_order_lots: 1,
            margin_tiers: vec![
                MarginTier {
                    notional_floor: 0,
                    initial_fraction: 50_000,
                    maintenance_fraction: 25_000,
                },
                MarginTier {
                    notional_floor: 1_000_000_000_000,
                    initial_fraction: 100_000,
                    maintenance_fraction: 50_000,
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
                impact_notional: 1_000_000_000,
            },
            oracle: OracleParams {
                max_age_ms: 60_000,
                max_move: 100_000,
                ema_time_constant_ms: 150_000,
            },
            open_interest_cap: 1 << 30,
            liquidation_step: 250_000,
        }
    }

    #[test]
    fn requirement_is_continuous_across_tiers() {
        let config = test_config();
        let floor = 1_000_000_000_000i128;
        // Just below the floor: 5% initial; at and above it the deduction keeps it continuous.
        assert_eq!(
            config.initial_requirement(floor - 1),
            div_ceil((floor - 1) * 50_000, 1_000_000)
        );
        assert_eq!(config.initial_requirement(floor), floor / 20);
        assert_eq!(
            config.initial_requirement(floor + 1_000_000),
            floor / 20 + 100_000
        );
        assert_eq!(
            config.maintenance_requirement(floor + 1_000_000),
            floor / 40 + 50_000
        );
        assert_eq!(config.initial_requirement(0), 0);
        assert_eq!(config.initial_requirement(1), 1, "rounds up");
        assert_eq!(config.max_leverage(), 20);
    }

    #[test]
    fn validation_catches_bad_tiers_and_fees() {
        let mut config = test_config();
        assert_eq!(config.validate(), Ok(()));
        config.margin_tiers[1].notional_floor = 0;
        assert_eq!(config.validate(), Err(ConfigError::TierFloorsNotIncreasing));
        let mut config = test_config();
        config.margin_tiers[1].maintenance_fraction = 200_000;
        assert_eq!(config.validate(), Err(ConfigError::MarginFractionsInvalid));
        let mut config = test_config();
        config.fees.maker_rate = -600;
        assert_eq!(config.validate(), Err(ConfigError::FeesInvalid));
        let mut config = test_config();
        config.margin_tiers.clear();
        assert_eq!(config.validate(), Err(ConfigError::NoMarginTiers));
    }
}
