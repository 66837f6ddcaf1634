//! The API's response bodies: typed, serialized as JSON, described in the OpenAPI document.
//! Amounts are integers in the state machine's units (quote atoms, lots, prices in quote
//! atoms per lot; see `gnomon_core::fixed`).

use gnomon_core::batch::SealedBatch;
use gnomon_core::event::Event;
use gnomon_core::fixed::{Lots, Price, Quote, Timestamp};
use gnomon_core::market::Market;
use gnomon_core::{AccountId, MarketId, OrderId};
use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorBody;
use crate::history::{Candle, Fill, FundingPayment, FundingRecord, Interval, Trade};
use crate::prover::{BatchStatus, BatchSummary};
use crate::sequencer::{ActionOutcome, View};
use crate::settler::Settlement;

/// A state-machine rejection: `code` is the `RejectReason` name (`StaleNonce`,
/// `InsufficientMargin`, ...).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Rejection {
    #[schema(value_type = String)]
    pub code: gnomon_core::error::RejectReason,
    pub message: String,
}

/// What became of one submitted action.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ActionResult {
    /// Applied and durable; `position` is its place in the log.
    Accepted {
        position: u64,
        /// `gnomon_core::event::Event`s, externally tagged (`{"Filled": {...}}`).
        #[schema(value_type = Vec<Object>)]
        events: Vec<Event>,
    },
    /// Refused by the state machine; nothing changed but the clock.
    Rejected {
        position: u64,
        error: Rejection,
        #[schema(value_type = Vec<Object>)]
        events: Vec<Event>,
    },
    /// Not admitted (malformed, bad signature, rate limited).
    Error { error: ErrorBody },
}

impl From<ActionOutcome> for ActionResult {
    fn from(outcome: ActionOutcome) -> Self {
        match outcome {
            ActionOutcome::Accepted { position, events } => Self::Accepted { position, events },
            ActionOutcome::Rejected {
                position,
                reason,
                events,
            } => Self::Rejected {
                position,
                error: Rejection {
                    code: reason,
                    message: reason.to_string(),
                },
                events,
            },
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubmitResponse {
    /// One per submitted action, in request order.
    pub results: Vec<ActionResult>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MarketView {
    pub id: MarketId,
    pub symbol: String,
    #[schema(value_type = String)]
    pub status: gnomon_core::market::MarketStatus,
    pub tick_size: Price,
    pub lot_size: u64,
    pub min_order_lots: Lots,
    pub max_leverage: u32,
    /// Margin tiers by notional, fractions in millionths.
    pub margin_tiers: Vec<MarginTierView>,
    /// Millionths of the notional; a negative maker rate is a rebate.
    pub maker_fee_rate: i32,
    pub taker_fee_rate: i32,
    pub index_price: Price,
    pub mark_price: Price,
    pub last_trade_price: Price,
    /// Cumulative funding per lot, 10^-9 quote atoms.
    pub funding_index: i128,
    /// Billionths per hour.
    pub last_funding_rate: i64,
    pub next_funding_ms: Timestamp,
    pub open_interest: Lots,
    pub best_bid: Option<Price>,
    pub best_ask: Option<Price>,
}

impl MarketView {
    pub fn of(id: MarketId, market: &Market) -> Self {
        let state = &market.state;
        Self {
            id,
            symbol: String::from_utf8_lossy(&market.config.symbol)
                .trim_end_matches('\0')
                .to_string(),
            status: state.status,
            tick_size: market.config.tick_size,
            lot_size: market.config.lot_size,
            min_order_lots: market.config.min_order_lots,
            max_leverage: market.config.max_leverage(),
            margin_tiers: market
                .config
                .margin_tiers
                .iter()
                .map(|tier| MarginTierView {
                    notional_floor: tier.notional_floor,
                    initial_fraction: tier.initial_fraction,
                    maintenance_fraction: tier.maintenance_fraction,
                })
                .collect(),
            maker_fee_rate: market.config.fees.maker_rate,
            taker_fee_rate: market.config.fees.taker_rate,
            index_price: state.index_price,
            mark_price: state.mark_price,
            last_trade_price: state.last_trade_price,
            funding_index: state.funding_index,
            last_funding_rate: state.last_funding_rate,
            next_funding_ms: state.next_funding_ms,
            open_interest: state.open_interest,
            best_bid: market.book.best_bid(),
            best_ask: market.book.best_ask(),
        }
    }
}

/// A margin tier: from `notional_floor` (quote atoms) up, these fractions (millionths).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MarginTierView {
    pub notional_floor: u64,
    pub initial_fraction: u32,
    pub maintenance_fraction: u32,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MarketsResponse {
    pub markets: Vec<MarketView>,
}

/// Aggregated levels, best first, each `[price, lots]`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BookView {
    pub market: MarketId,
    /// The sequence of the last delta included; apply deltas after it.
    pub sequence: u64,
    pub bids: Vec<[u64; 2]>,
    pub asks: Vec<[u64; 2]>,
}

impl BookView {
    pub fn of(view: &View<'_>, id: MarketId, depth: usize) -> Option<Self> {
        let book = &view.exchange.market(id)?.book;
        let levels = |side| {
            book.depth(side, depth)
                .into_iter()
                .map(|(price, lots)| [price, lots])
                .collect()
        };
        Some(Self {
            market: id,
            sequence: view.books.sequence(id),
            bids: levels(gnomon_core::order::Side::Buy),
            asks: levels(gnomon_core::order::Side::Sell),
        })
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TradesResponse {
    pub market: MarketId,
    /// Newest first.
    pub trades: Vec<Trade>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FundingResponse {
    pub market: MarketId,
    /// Newest first.
    pub funding: Vec<FundingRecord>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CandlesResponse {
    pub market: MarketId,
    pub interval: Interval,
    /// Newest first.
    pub candles: Vec<Candle>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FillsResponse {
    pub account: AccountId,
    /// Newest first.
    pub fills: Vec<Fill>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FundingPaymentsResponse {
    pub account: AccountId,
    /// Newest first.
    pub payments: Vec<FundingPayment>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PositionView {
    pub market: MarketId,
    /// Lots: positive long, negative short.
    pub size: i64,
    /// Signed entry notional.
    pub cost: Quote,
    pub entry_price: i128,
    pub mark_price: Price,
    pub unrealized_pnl: i128,
    /// The mark at which the account would reach maintenance, other marks unchanged.
    pub liquidation_price: Option<Price>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    Limit,
    Trigger,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OpenOrderView {
    pub market: MarketId,
    pub order_id: OrderId,
    pub kind: OrderKind,
    pub client_order_id: u64,
    #[schema(value_type = String)]
    pub side: gnomon_core::order::Side,
    pub lots: Lots,
    /// Limit orders: the resting price.
    pub price: Option<Price>,
    /// Trigger orders: the mark price that fires them.
    pub trigger_price: Option<Price>,
    pub reduce_only: bool,
}

/// Cross-margin risk at the current marks, quote atoms.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MarginView {
    pub value: i128,
    pub initial: i128,
    pub maintenance: i128,
    pub notional: i128,
    pub free_collateral: i128,
    pub liquidatable: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub account: AccountId,
    /// The owner's key, hex.
    pub owner: String,
    pub collateral: Quote,
    pub last_nonce: u64,
    #[schema(value_type = Option<Object>)]
    pub session: Option<gnomon_core::action::SessionKey>,
    pub positions: Vec<PositionView>,
    pub open_orders: Vec<OpenOrderView>,
    pub margin: MarginView,
}

impl AccountView {
    pub fn of(view: &View<'_>, id: AccountId) -> Option<Self> {
        let exchange = view.exchange;
        let account = exchange.account(id)?;
        let markets = &exchange.global().markets;
        let positions = account
            .positions
            .iter()
            .map(|position| {
                let mark = markets
                    .get(usize::from(position.market))
                    .map_or(0, |market| market.state.mark_price);
                PositionView {
                    market: position.market,
                    size: position.size,
                    cost: position.cost,
                    entry_price: i128::from(position.cost) / i128::from(position.size),
                    mark_price: mark,
                    unrealized_pnl: position.unrealized_pnl(mark),
                    liquidation_price: exchange.liquidation_price(id, position.market),
                }
            })
            .collect();
        let mut open_orders = Vec::new();
        for (market_id, market) in (0..).zip(markets) {
            for order_id in market.book.order_ids_of(id) {
                if let Some(order) = market.book.resting(order_id) {
                    open_orders.push(OpenOrderView {
                        market: market_id,
                        order_id,
                        kind: OrderKind::Limit,
                        client_order_id: order.client_order_id,
                        side: order.side,
                        lots: order.lots,
                        price: Some(order.price),
                        trigger_price: None,
                        reduce_only: order.reduce_only,
                    });
                } else if let Some(order) = market.book.trigger_order(order_id) {
                    open_orders.push(OpenOrderView {
                        market: market_id,
                        order_id,
                        kind: OrderKind::Trigger,
                        client_order_id: order.client_order_id,
                        side: order.side,
                        lots: order.lots,
                        price: None,
                        trigger_price: Some(order.trigger.price),
                        reduce_only: order.reduce_only,
                    });
                }
            }
        }
        let health = exchange.health(id).unwrap_or_default();
        Some(Self {
            account: id,
            owner: hex::encode(account.owner),
            collateral: account.collateral,
            last_nonce: account.last_nonce,
            session: account.session,
            positions,
            open_orders,
            margin: MarginView {
                value: health.value,
                initial: health.initial,
                maintenance: health.maintenance,
                notional: health.notional,
                free_collateral: health.free_collateral(),
                liquidatable: health.liquidatable(),
            },
        })
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchView {
    pub batch: u64,
    pub proof: BatchStatus,
    /// Steps and state roots, where the queue keeps them.
    pub summary: Option<BatchSummary>,
    /// Its settlement transactions, once this engine has sent some.
    pub settlement: Option<Settlement>,
}

/// One sealed batch in full: what its proof commits to and what settlement applies.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchDetail {
    pub batch: u64,
    /// Hex of the settlement header the guest commits (304 bytes): the fixed-size fields of
    /// the output, then each list's length and list hash.
    pub header: String,
    /// Hex of the Groth16 public input the header gives (its SHA-256, first byte cleared).
    pub output_digest: String,
    /// Every account the batch created or whose collateral changed, by account id.
    pub balances: Vec<SettledBalanceView>,
    /// Collateral released on chain, in step order.
    pub withdrawals: Vec<WithdrawalView>,
    pub proof: Option<BatchStatus>,
    pub settlement: Option<Settlement>,
    /// The batch's Groth16 proof, once the wrap made it.
    pub groth16: Option<Groth16View>,
}

/// A Groth16 proof as the settlement program takes it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Groth16View {
    /// Hex of the 256-byte proof: A (negated), B, C, uncompressed big-endian points.
    pub proof: String,
    /// Hex of its public inputs, big-endian scalars: the packed program commitment, then the
    /// output digest.
    pub public_inputs: [String; 2],
}

impl Groth16View {
    /// The view of a wrapped proof file (`batch-N.groth16`), if it is one.
    pub fn of(wrapped: &[u8]) -> Option<Self> {
        let (proof, inputs) = gnomon_wrap::keys::split_wrapped(wrapped)?;
        Some(Self {
            proof: hex::encode(proof.to_bytes()),
            public_inputs: inputs.map(hex::encode),
        })
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SettledBalanceView {
    pub account: u32,
    /// Hex of the owner's key.
    pub owner: String,
    pub collateral: i64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WithdrawalView {
    pub account: u32,
    /// Hex of the owner's key.
    pub owner: String,
    pub amount: u64,
}

impl BatchDetail {
    pub fn of(
        batch: &SealedBatch,
        proof: Option<BatchStatus>,
        settlement: Option<Settlement>,
        groth16: Option<Groth16View>,
    ) -> Self {
        let output = &batch.output;
        Self {
            batch: batch.input.batch_number,
            header: hex::encode(output.header()),
            output_digest: hex::encode(output.digest()),
            balances: output
                .balances
                .iter()
                .map(|entry| SettledBalanceView {
                    account: entry.account,
                    owner: hex::encode(entry.owner),
                    collateral: entry.collateral,
                })
                .collect(),
            withdrawals: output
                .withdrawals
                .iter()
                .map(|entry| WithdrawalView {
                    account: entry.account,
                    owner: hex::encode(entry.owner),
                    amount: entry.amount,
                })
                .collect(),
            proof,
            settlement,
            groth16,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchesResponse {
    pub last_sealed: u64,
    pub open_batch_steps: usize,
    pub batches: Vec<BatchView>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatusView {
    /// Hex.
    pub exchange_id: String,
    /// Records in the durable log.
    pub log_position: u64,
    pub last_sealed_batch: u64,
    /// The state root as of the last sealed batch, hex of its eight 32-bit words.
    pub state_root: String,
    pub last_timestamp_ms: Timestamp,
    pub next_deposit_sequence: u64,
    pub accounts: AccountId,
    /// Where the exchange settles; absent when the engine runs without a chain (demo
    /// faucet).
    pub settlement: Option<SettlementView>,
}

/// The settlement program's exchange this engine deposits from and settles to, and the
/// JSON-RPC endpoint it publishes for clients (wallet deposits and claims), if any.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SettlementView {
    /// Base58.
    pub program: String,
    /// The exchange account, base58.
    pub exchange: String,
    /// `chain.public_rpc_url`: an endpoint of the same cluster for browsers, never the
    /// engine's own (which may carry credentials).
    pub rpc_url: Option<String>,
}

impl SettlementView {
    pub fn of(chain: &crate::config::Chain) -> Option<Self> {
        chain
            .exchange_address
            .as_ref()
            .filter(|_| chain.rpc_url.is_some())
            .map(|exchange| Self {
                program: settlement::ID.to_string(),
                exchange: exchange.clone(),
                rpc_url: chain.public_rpc_url.clone(),
            })
    }
}

impl StatusView {
    pub fn of(view: &View<'_>, chain: &crate::config::Chain) -> Self {
        let global = view.exchange.global();
        Self {
            exchange_id: hex::encode(global.config.exchange_id),
            log_position: view.log_position,
            last_sealed_batch: global.batch_number,
            state_root: view
                .state_root
                .iter()
                .map(|word| format!("{word:08x}"))
                .collect(),
            last_timestamp_ms: global.last_timestamp_ms,
            next_deposit_sequence: global.deposits.next_sequence,
            accounts: global.next_account_id,
            settlement: SettlementView::of(chain),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AccountsResponse {
    pub accounts: Vec<AccountId>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DepositResponse {
    pub account: AccountId,
}

#[cfg(test)]
mod tests {
    use super::{Groth16View, SettlementView};
    use crate::config::Chain;

    #[test]
    fn the_status_names_the_exchange_only_with_a_chain_and_publishes_only_the_public_endpoint() {
        let mut chain = Chain {
            exchange_address: Some("Exchange111".into()),
            ..Chain::default()
        };
        assert!(
            SettlementView::of(&chain).is_none(),
            "no chain without rpc_url"
        );
        chain.rpc_url = Some("https://rpc.example/secret-key".into());
        let view = SettlementView::of(&chain).unwrap();
        assert_eq!(
            (view.program, view.exchange.as_str(), view.rpc_url),
            (settlement::ID.to_string(), "Exchange111", None)
        );
        chain.public_rpc_url = Some("https://public.example".into());
        assert_eq!(
            SettlementView::of(&chain).unwrap().rpc_url.as_deref(),
            Some("https://public.example")
        );
    }

    #[test]
    fn a_groth16_file_shows_as_its_proof_and_public_inputs_and_nothing_else_does() {
        let wrapped: Vec<u8> = (0..320).map(|index| index as u8).collect();
        let view = Groth16View::of(&wrapped).unwrap();
        assert_eq!(view.proof, hex::encode(&wrapped[..256]));
        assert_eq!(
            view.public_inputs,
            [
                hex::encode(&wrapped[256..288]),
                hex::encode(&wrapped[288..])
            ]
        );
        assert!(Groth16View::of(&wrapped[..319]).is_none());
    }
}
