//! # gnomon-sim: deterministic exchange scenarios
//!
//! Drives a native [`Ledger`] the way the engine will, with real ed25519 keys for traders,
//! session keys, the admin and the oracle authority, and produces sealed batches (guest
//! input, witness and expected output) for tests, benchmarks and demos.
//!
//! ## What it owns
//!
//! - [`Sim`]: a ledger plus the keys and nonces that sign for it; one call per step
//!   (deposits, signed oracle prices, signed trader and admin actions, liquidations, ticks).
//! - [`generate`]: random batches from a seed (orders of every type, cancels, modifies,
//!   session keys, price moves that bring funding and liquidations, deposits, withdrawals).
//! - [`scenarios`]: named batches, one per action kind, for the cycle benchmark.
//! - [`markets`] and [`events`]: market presets and readers of step events.
//!
//! ## What it must never do
//!
//! - Depend on anything but its seed: no clocks, no OS randomness, no hash-map iteration
//!   order. The same seed gives the same batches, byte for byte, on every machine.
//! - Decide anything the state machine decides: it only proposes steps; `gnomon-core`
//!   accepts or refuses them.
//! - Be used to sign for real deployments: its keys derive from small public seeds.

use std::collections::BTreeMap;

use ed25519_dalek::{Signer, SigningKey};
use gnomon_core::action::{
    Action, AdminAction, Ed25519Verifier, OrderRequest, SessionKey, SignedAction,
    SignedAdminAction, SignedOracleUpdate, action_message, admin_message, oracle_message,
};
use gnomon_core::batch::{Deposit, Ledger, SealedBatch, Step, StepKind};
use gnomon_core::event::Event;
use gnomon_core::exchange::{Exchange, ExchangeConfig, StepOutcome};
use gnomon_core::fixed::{Lots, Price, Timestamp};
use gnomon_core::hash::NativePoseidon2;
use gnomon_core::market::MarketConfig;
use gnomon_core::order::{Execution, SelfTradePrevention, Side, TimeInForce, Trigger};
use gnomon_core::prices::{OracleUpdate, oracle_chain_next};
use gnomon_core::sha256::SoftSha256;
use gnomon_core::{AccountId, INSURANCE_FUND, MarketId};
use sha2::{Digest as _, Sha256};

pub mod events;
pub mod generate;
pub mod markets;
mod rng;
pub mod scenarios;

pub use events::*;
pub use markets::*;
pub use rng::Rng;

/// The exchange id scenarios sign for.
pub const EXCHANGE_ID: [u8; 32] = [0xE7; 32];
/// One USDC in quote atoms.
pub const USDC: i64 = 1_000_000;
/// The seed of the admin key (which also owns the insurance fund).
pub const ADMIN_SEED: u32 = u32::MAX;
/// The seed of the oracle authority's key.
pub const ORACLE_SEED: u32 = u32::MAX - 1;

/// The key of `seed`: SHA-256 of `"gnomon-sim/key" || seed u32 LE` as the ed25519 secret.
pub fn key(seed: u32) -> SigningKey {
    let secret: [u8; 32] = Sha256::new()
        .chain_update(b"gnomon-sim/key")
        .chain_update(seed.to_le_bytes())
        .finalize()
        .into();
    SigningKey::from_bytes(&secret)
}

/// The public key of `seed`.
pub fn public_key(seed: u32) -> [u8; 32] {
    key(seed).verifying_key().to_bytes()
}

/// The admin's key.
pub fn admin_key() -> SigningKey {
    key(ADMIN_SEED)
}

/// The exchange configuration scenarios use: [`EXCHANGE_ID`], the admin and oracle keys, at
/// most 50 open orders per account.
pub fn exchange_config() -> ExchangeConfig {
    ExchangeConfig {
        exchange_id: EXCHANGE_ID,
        admin: public_key(ADMIN_SEED),
        oracle: public_key(ORACLE_SEED),
        max_open_orders: 50,
    }
}

/// `action` for `account` with `nonce`, signed by the key of `seed`.
pub fn sign(seed: u32, account: AccountId, nonce: u64, action: Action) -> SignedAction {
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

/// `update`, signed by the oracle authority as the next update after chain head `chain`.
pub fn sign_oracle(chain: &[u8; 32], update: OracleUpdate) -> SignedOracleUpdate {
    let head = oracle_chain_next(&SoftSha256, chain, &update);
    let message = oracle_message(&EXCHANGE_ID, update.market, &head);
    SignedOracleUpdate {
        update,
        signature: key(ORACLE_SEED).sign(&message).to_bytes(),
    }
}

/// A limit order request.
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

/// A trigger order request in market 0.
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

/// A native ledger and the keys that sign its steps. Steps are stamped with [`Sim::now`],
/// which only [`Sim::advance`] moves. Trader accounts are signed for by the key of the seed
/// they were opened with, or by their session key once one is set.
#[derive(Clone, Debug)]
pub struct Sim {
    pub ledger: Ledger<NativePoseidon2>,
    /// The timestamp of the next step, ms.
    pub now: Timestamp,
    nonces: BTreeMap<AccountId, u64>,
    admin_nonce: u64,
    owners: BTreeMap<AccountId, u32>,
    sessions: BTreeMap<AccountId, (u32, Timestamp)>,
}

impl Sim {
    /// A fresh exchange with these markets and [`exchange_config`], at time 1,000 ms.
    pub fn new(markets: Vec<MarketConfig>) -> Self {
        Self::with_config(exchange_config(), markets)
    }

    /// A fresh exchange with `config` (its keys must be those of [`ADMIN_SEED`] and
    /// [`ORACLE_SEED`] for admin and oracle steps to verify).
    pub fn with_config(config: ExchangeConfig, markets: Vec<MarketConfig>) -> Self {
        let exchange = Exchange::genesis(config, markets).expect("valid markets");
        let mut owners = BTreeMap::new();
        owners.insert(INSURANCE_FUND, ADMIN_SEED);
        Self {
            ledger: Ledger::new(exchange, NativePoseidon2::default()),
            now: 1_000,
            nonces: BTreeMap::new(),
            admin_nonce: 0,
            owners,
            sessions: BTreeMap::new(),
        }
    }

    /// The state.
    pub fn exchange(&self) -> &Exchange {
        self.ledger.exchange()
    }

    /// Applies a step at [`Sim::now`]; `Err` for an invalid step, which changes nothing.
    pub fn try_step(&mut self, kind: StepKind) -> Result<StepOutcome, gnomon_core::error::Fatal> {
        let step = Step {
            timestamp_ms: self.now,
            kind,
        };
        self.ledger.apply_step(step, &Ed25519Verifier)
    }

    /// Applies a step at [`Sim::now`] and returns its events.
    ///
    /// # Panics
    /// If the step is invalid (see [`gnomon_core::error::Fatal`]).
    pub fn step(&mut self, kind: StepKind) -> Vec<Event> {
        match self.try_step(kind) {
            Ok(outcome) => outcome.events,
            Err(fatal) => panic!("invalid step: {fatal}"),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    /// Opens an account for the key of `seed` with a deposit of `usdc` and returns its id.
    pub fn trader(&mut self, seed: u32, usdc: i64) -> AccountId {
        let account = self.exchange().global().next_account_id;
        self.owners.insert(account, seed);
        self.deposit_raw(account, public_key(seed), usdc * USDC);
        account
    }

    /// Deposits `atoms` into an existing account.
    pub fn deposit(&mut self, account: AccountId, atoms: i64) {
        let owner = self.exchange().account(account).expect("account").owner;
        self.deposit_raw(account, owner, atoms);
    }

    /// Deposits `usdc` into the insurance fund.
    pub fn fund_insurance(&mut self, usdc: i64) {
        self.deposit_raw(INSURANCE_FUND, public_key(ADMIN_SEED), usdc * USDC);
    }

    /// The next deposit of the on-chain queue.
    pub fn next_deposit(&self, account: AccountId, owner: [u8; 32], atoms: i64) -> Deposit {
        Deposit {
            sequence: self.exchange().global().deposits.next_sequence,
            owner,
            amount: atoms as u64,
            account,
        }
    }

    fn deposit_raw(&mut self, account: AccountId, owner: [u8; 32], atoms: i64) {
        let deposit = self.next_deposit(account, owner, atoms);
        let events = self.step(StepKind::Deposit(deposit));
        assert!(
            matches!(events.last(), Some(Event::Deposited { .. })),
            "{events:?}"
        );
    }

    /// `update` signed by the oracle authority as the market's next update.
    pub fn sign_oracle(&self, update: OracleUpdate) -> SignedOracleUpdate {
        let chain = self
            .exchange()
            .market(update.market)
            .map_or([0; 32], |market| market.state.oracle_chain);
        sign_oracle(&chain, update)
    }

    /// The oracle authority's next update of `market`, published now.
    pub fn oracle_update(&self, market: MarketId, price: Price) -> SignedOracleUpdate {
        self.sign_oracle(OracleUpdate {
            market,
            price,
            publish_time_ms: self.now,
        })
    }

    /// Applies an oracle price published now.
    pub fn oracle(&mut self, market: MarketId, price: Price) -> Vec<Event> {
        let update = self.oracle_update(market, price);
        self.step(StepKind::Oracle(update))
    }

    /// `action` for `account` with its next nonce, signed by the account's session key if it
    /// has a live one, else by its owner's.
    pub fn signed(&mut self, account: AccountId, action: Action) -> SignedAction {
        let nonce = self.nonces.entry(account).or_insert(0);
        *nonce += 1;
        let seed = match self.sessions.get(&account) {
            Some(&(seed, expires_ms)) if self.now < expires_ms => seed,
            _ => self.owners.get(&account).copied().unwrap_or(0),
        };
        sign(seed, account, *nonce, action)
    }

    /// Applies a signed trader action.
    pub fn act(&mut self, account: AccountId, action: Action) -> Vec<Event> {
        let signed = self.signed(account, action);
        self.step(StepKind::Trader(signed))
    }

    /// Registers the key of `seed` as `account`'s session key until `expires_ms`; the
    /// account's later actions are signed with it.
    pub fn set_session(&mut self, account: AccountId, seed: u32, expires_ms: Timestamp) {
        // The owner signs the registration.
        self.sessions.remove(&account);
        let session = SessionKey {
            key: public_key(seed),
            expires_ms,
        };
        self.act(
            account,
            Action::SetSessionKey {
                session: Some(session),
            },
        );
        self.sessions.insert(account, (seed, expires_ms));
    }

    /// Places an order.
    pub fn order(&mut self, account: AccountId, request: OrderRequest) -> Vec<Event> {
        self.act(account, Action::PlaceOrder(request))
    }

    /// Places a limit order in market 0.
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

    /// A good-till-cancel bid in market 0.
    pub fn buy(&mut self, account: AccountId, lots: Lots, price: Price) -> Vec<Event> {
        self.limit(account, Side::Buy, lots, price, TimeInForce::GoodTillCancel)
    }

    /// A good-till-cancel ask in market 0.
    pub fn sell(&mut self, account: AccountId, lots: Lots, price: Price) -> Vec<Event> {
        self.limit(
            account,
            Side::Sell,
            lots,
            price,
            TimeInForce::GoodTillCancel,
        )
    }

    /// A market order in market 0.
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

    /// Applies an admin action signed by the admin key.
    pub fn admin(&mut self, action: AdminAction) -> Vec<Event> {
        self.admin_nonce += 1;
        let message = admin_message(&EXCHANGE_ID, self.admin_nonce, &action);
        let signature = admin_key().sign(&message).to_bytes();
        self.step(StepKind::Admin(SignedAdminAction {
            nonce: self.admin_nonce,
            action,
            signature,
        }))
    }

    /// Asks to liquidate `account`, with the exchange's own deleveraging lists.
    pub fn liquidate(&mut self, account: AccountId) -> Vec<Event> {
        let deleverage = self.exchange().deleverage_lists(account);
        self.step(StepKind::Liquidate {
            account,
            deleverage,
        })
    }

    /// Lets time pass: a tick at [`Sim::now`].
    pub fn tick(&mut self) -> Vec<Event> {
        self.step(StepKind::Tick)
    }

    /// Closes the batch.
    pub fn seal(&mut self) -> SealedBatch {
        self.ledger.seal_batch()
    }

    /// An account's settled collateral (0 for no account).
    pub fn collateral(&self, account: AccountId) -> i64 {
        self.exchange()
            .account(account)
            .map_or(0, |account| account.collateral)
    }

    /// An account's position in market 0.
    pub fn size(&self, account: AccountId) -> i64 {
        self.exchange()
            .account(account)
            .map_or(0, |account| account.size(0))
    }

    /// Asserts conservation of collateral.
    pub fn assert_balanced(&self) {
        let sheet = self.exchange().balance_sheet();
        assert!(sheet.balanced(), "conservation broken: {sheet:?}");
    }
}
