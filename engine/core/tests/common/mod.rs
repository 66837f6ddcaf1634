//! Shared test harness: a ledger with real ed25519 signatures, deposits, oracle prices and
//! helpers to read events.
#![allow(dead_code)]

use std::collections::BTreeMap;

use ed25519_dalek::{Signer, SigningKey};
use gnomon_core::action::{Action, Ed25519Verifier, OrderRequest, SignedAction, action_message};
use gnomon_core::batch::{Deposit, Ledger, SealedBatch, Step, StepKind};
use gnomon_core::error::{CancelReason, RejectReason};
use gnomon_core::event::Event;
use gnomon_core::exchange::{Exchange, ExchangeConfig};
use gnomon_core::fixed::{Lots, Price};
use gnomon_core::hash::NativePoseidon2;
use gnomon_core::market::{FeeSchedule, FundingParams, MarginTier, MarketConfig, OracleParams};
use gnomon_core::order::{Execution, SelfTradePrevention, Side, TimeInForce, Trigger};
use gnomon_core::prices::OracleUpdate;
use gnomon_core::{AccountId, INSURANCE_FUND, MarketId, OrderId};

pub const EXCHANGE_ID: [u8; 32] = [0xE7; 32];
/// One USDC in quote atoms.
pub const USDC: i64 = 1_000_000;

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn admin_key() -> SigningKey {
    key(200)
}

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

pub struct Harness {
    pub ledger: Ledger<NativePoseidon2>,
    pub now: u64,
    nonces: BTreeMap<AccountId, u64>,
    admin_nonce: u64,
    owners: BTreeMap<AccountId, u8>,
}

impl Harness {
    pub fn new(markets: Vec<MarketConfig>) -> Self {
        let config = ExchangeConfig {
            exchange_id: EXCHANGE_ID,
            admin: admin_key().verifying_key().to_bytes(),
            max_open_orders: 50,
        };
        let exchange = Exchange::genesis(config, markets).expect("valid markets");
        Self {
            ledger: Ledger::new(exchange, NativePoseidon2::default()),
            now: 1_000,
            nonces: BTreeMap::new(),
            admin_nonce: 0,
            owners: BTreeMap::new(),
        }
    }

    pub fn exchange(&self) -> &Exchange {
        self.ledger.exchange()
    }

    pub fn step(&mut self, kind: StepKind) -> Vec<Event> {
        let step = Step {
            timestamp_ms: self.now,
            kind,
        };
        self.ledger
            .apply_step(step, &Ed25519Verifier)
            .expect("valid step")
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    /// A new trader with `usdc` of collateral.
    pub fn trader(&mut self, seed: u8, usdc: i64) -> AccountId {
        let account = self.exchange().global().next_account_id;
        self.owners.insert(account, seed);
        self.deposit_raw(account, key(seed).verifying_key().to_bytes(), usdc * USDC);
        account
    }

    pub fn deposit(&mut self, account: AccountId, atoms: i64) {
        let owner = self.exchange().account(account).expect("account").owner;
        self.deposit_raw(account, owner, atoms);
    }

    pub fn fund_insurance(&mut self, usdc: i64) {
        self.deposit_raw(
            INSURANCE_FUND,
            admin_key().verifying_key().to_bytes(),
            usdc * USDC,
        );
    }

    fn deposit_raw(&mut self, account: AccountId, owner: [u8; 32], atoms: i64) {
        let sequence = self.exchange().global().deposits.next_sequence;
        let events = self.step(StepKind::Deposit(Deposit {
            sequence,
            owner,
            amount: atoms as u64,
            account,
        }));
        assert!(
            matches!(events.last(), Some(Event::Deposited { .. })),
            "{events:?}"
        );
    }

    pub fn oracle(&mut self, market: MarketId, price: Price) -> Vec<Event> {
        self.step(StepKind::Oracle(OracleUpdate {
            market,
            price,
            publish_time_ms: self.now,
        }))
    }

    pub fn signed(&mut self, account: AccountId, action: Action) -> SignedAction {
        let nonce = self.nonces.entry(account).or_insert(0);
        *nonce += 1;
        let seed = self.owners.get(&account).copied().unwrap_or(0);
        sign(seed, account, *nonce, action)
    }

    pub fn act(&mut self, account: AccountId, action: Action) -> Vec<Event> {
        let signed = self.signed(account, action);
        self.step(StepKind::Trader(signed))
    }

    pub fn order(&mut self, account: AccountId, request: OrderRequest) -> Vec<Event> {
        self.act(account, Action::PlaceOrder(request))
    }

    pub fn limit(
        &mut self,
        account: AccountId,
        side: Side,
        lots: Lots,
        price: Price,
        tif: TimeInForce,
    ) -> Vec<Event> {
        self.order(account, limit(0, side, lots, price, tif))
    }

    pub fn buy(&mut self, account: AccountId, lots: Lots, price: Price) -> Vec<Event> {
        self.limit(account, Side::Buy, lots, price, TimeInForce::GoodTillCancel)
    }

    pub fn sell(&mut self, account: AccountId, lots: Lots, price: Price) -> Vec<Event> {
        self.limit(
            account,
            Side::Sell,
            lots,
            price,
            TimeInForce::GoodTillCancel,
        )
    }

    pub fn market_order(
        &mut self,
        account: AccountId,
        side: Side,
        lots: Lots,
        worst_price: Price,
    ) -> Vec<Event> {
        self.order(
            account,
            OrderRequest {
                market: 0,
                side,
                lots,
                execution: Execution::Market { worst_price },
                trigger: None,
                reduce_only: false,
                client_order_id: 0,
                self_trade: SelfTradePrevention::ExpireMaker,
            },
        )
    }

    pub fn admin(&mut self, action: gnomon_core::action::AdminAction) -> Vec<Event> {
        self.admin_nonce += 1;
        let message = gnomon_core::action::admin_message(&EXCHANGE_ID, self.admin_nonce, &action);
        let signature = admin_key().sign(&message).to_bytes();
        self.step(StepKind::Admin(gnomon_core::action::SignedAdminAction {
            nonce: self.admin_nonce,
            action,
            signature,
        }))
    }

    pub fn liquidate(&mut self, account: AccountId) -> Vec<Event> {
        let deleverage = self.exchange().deleverage_lists(account);
        self.step(StepKind::Liquidate {
            account,
            deleverage,
        })
    }

    pub fn seal(&mut self) -> SealedBatch {
        self.ledger.seal_batch()
    }

    pub fn collateral(&self, account: AccountId) -> i64 {
        self.exchange()
            .account(account)
            .map_or(0, |account| account.collateral)
    }

    pub fn size(&self, account: AccountId) -> i64 {
        self.exchange()
            .account(account)
            .map_or(0, |account| account.size(0))
    }

    pub fn assert_balanced(&self) {
        let sheet = self.exchange().balance_sheet();
        assert!(sheet.balanced(), "conservation broken: {sheet:?}");
    }
}

pub fn sign(seed: u8, account: AccountId, nonce: u64, action: Action) -> SignedAction {
    let key = key(seed);
    let message = action_message(&EXCHANGE_ID, account, nonce, &action);
    SignedAction {
        account,
        trader: key.verifying_key().to_bytes(),
        nonce,
        action,
        signature: key.sign(&message).to_bytes(),
    }
}

pub fn limit(
    market: MarketId,
    side: Side,
    lots: Lots,
    price: Price,
    tif: TimeInForce,
) -> OrderRequest {
    OrderRequest {
        market,
        side,
        lots,
        execution: Execution::Limit {
            price,
            time_in_force: tif,
        },
        trigger: None,
        reduce_only: false,
        client_order_id: 0,
        self_trade: SelfTradePrevention::ExpireMaker,
    }
}

pub fn triggered(side: Side, lots: Lots, trigger: Trigger, execution: Execution) -> OrderRequest {
    OrderRequest {
        market: 0,
        side,
        lots,
        execution,
        trigger: Some(trigger),
        reduce_only: false,
        client_order_id: 0,
        self_trade: SelfTradePrevention::ExpireMaker,
    }
}

/// Price in quote atoms for a number of USDC.
pub fn usdc(amount: u64) -> Price {
    amount * USDC as u64
}

/// (maker account, taker account, price, lots) of every fill.
pub fn fills(events: &[Event]) -> Vec<(AccountId, AccountId, Price, Lots)> {
    events
        .iter()
        .filter_map(|event| match *event {
            Event::Filled {
                maker_account,
                taker_account,
                price,
                lots,
                ..
            } => Some((maker_account, taker_account, price, lots)),
            _ => None,
        })
        .collect()
}

/// Maker order ids of fills, in order.
pub fn filled_makers(events: &[Event]) -> Vec<OrderId> {
    events
        .iter()
        .filter_map(|event| match *event {
            Event::Filled { maker_order, .. } => Some(maker_order),
            _ => None,
        })
        .collect()
}

pub fn rejection(events: &[Event]) -> Option<RejectReason> {
    events.iter().find_map(|event| match *event {
        Event::ActionRejected { reason, .. } => Some(reason),
        _ => None,
    })
}

pub fn cancels(events: &[Event]) -> Vec<(OrderId, Lots, CancelReason)> {
    events
        .iter()
        .filter_map(|event| match *event {
            Event::Cancelled {
                order_id,
                lots,
                reason,
                ..
            } => Some((order_id, lots, reason)),
            _ => None,
        })
        .collect()
}

/// The id of the order an action placed.
pub fn placed(events: &[Event]) -> OrderId {
    events
        .iter()
        .find_map(|event| match *event {
            Event::OrderAccepted { order_id, .. } => Some(order_id),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no order accepted: {events:?}"))
}
