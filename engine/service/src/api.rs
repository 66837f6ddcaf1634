//! The trader API: REST and WebSocket, JSON in and out.
//!
//! Actions are submitted as the bytes the guest checks: hex of the borsh `SignedAction`
//! (see `gnomon_core::action` for the layout and the signed message), up to
//! `api.max_actions` per request. Each action gets its own result; one bad action never
//! fails the others. Every error, of a request or of an action, is
//! `{"code": "...", "message": "..."}` with a stable code (see [`ErrorCode`]); rejections by
//! the state machine carry the `RejectReason` name as their code.
//!
//! | method and path | what |
//! |---|---|
//! | `POST /v1/actions` | `{"actions": [hex, ...]}`: place, cancel, modify, withdraw, session keys |
//! | `GET /v1/markets` | markets: configuration, index, mark, funding, open interest |
//! | `GET /v1/markets/{id}/book?depth=N` | aggregated levels and the book's sequence number |
//! | `GET /v1/markets/{id}/trades?limit=N` | recent trades, newest first |
//! | `GET /v1/markets/{id}/funding?limit=N` | funding settlements, newest first |
//! | `GET /v1/accounts/{id}` | collateral, positions, open orders, margin, liquidation prices |
//! | `GET /v1/batches` | sealed batches and their proving status |
//! | `GET /v1/status` | log position, state root, batch number |
//! | `POST /v1/dev/deposit` | `{"owner": hex, "amount": atoms, "account": id?}` (faucet, demo only) |
//! | `GET /v1/ws` | WebSocket: subscriptions and submissions (below) |
//!
//! WebSocket messages from the client: `{"op": "subscribe", "channel": "book", "market": 0}`,
//! `{"op": "subscribe", "channel": "trades", "market": 0}`,
//! `{"op": "subscribe", "channel": "account", "account": 5}` and
//! `{"op": "submit", "id": 1, "actions": [hex, ...]}`. A book subscription starts with a
//! snapshot carrying a sequence number; deltas with a sequence at or below it are already
//! in it. A client that falls `api.feed_buffer` updates behind gets a `lagged` error and is
//! disconnected (it never slows the engine down).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::mpsc::TrySendError;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use gnomon_core::fixed::Price;
use gnomon_core::margin::Health;
use gnomon_core::market::Market;
use gnomon_core::order::Side;
use gnomon_core::{AccountId, MarketId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::Engine;
use crate::auth::{AdmissionError, Verified};
use crate::history::HistoryError;
use crate::market_data::{Update, event_accounts};
use crate::sequencer::{ActionOutcome, Command, View};

/// The stable error codes of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedJson,
    PayloadTooLarge,
    TooManyActions,
    MalformedAction,
    BadSignature,
    RateLimited,
    Overloaded,
    EngineUnavailable,
    UnknownMarket,
    UnknownAccount,
    FaucetDisabled,
    Lagged,
    HistoryUnavailable,
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn body(&self) -> Value {
        json!({"code": self.code, "message": self.message})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::EngineUnavailable,
        "the sequencer has stopped",
    )
}

fn send(engine: &Engine, command: Command) -> Result<(), ApiError> {
    engine
        .commands
        .try_send(command)
        .map_err(|error| match error {
            TrySendError::Full(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Overloaded,
                "the sequencer's queue is full; retry shortly",
            ),
            TrySendError::Disconnected(_) => unavailable(),
        })
}

/// Runs `read` on the state once everything before it is durable.
async fn read<T: Send + 'static>(
    engine: &Engine,
    read: impl FnOnce(&View<'_>) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let (reply, answer) = oneshot::channel();
    send(
        engine,
        Command::Read(Box::new(move |view| {
            let _ = reply.send(read(view));
        })),
    )?;
    answer.await.map_err(|_| unavailable())
}

fn parse<T: for<'de> Deserialize<'de>>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(|rejection| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            rejection.body_text(),
        )
    })?;
    serde_json::from_slice(&body).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedJson,
            error.to_string(),
        )
    })
}

/// The API's routes over a running engine.
pub fn router(engine: Arc<Engine>) -> Router {
    let limit = engine.config.api.max_body_bytes;
    Router::new()
        .route("/v1/actions", post(submit_actions))
        .route("/v1/markets", get(markets))
        .route("/v1/markets/{id}/book", get(book))
        .route("/v1/markets/{id}/trades", get(trades))
        .route("/v1/markets/{id}/funding", get(funding))
        .route("/v1/accounts/{id}", get(account))
        .route("/v1/batches", get(batches))
        .route("/v1/status", get(status))
        .route("/v1/dev/deposit", post(deposit))
        .route("/v1/ws", get(websocket))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(engine)
}

/// Serves the API on `listener` until the future is dropped.
pub async fn serve(engine: Arc<Engine>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    // Acknowledgments are small writes that must leave at once: without TCP_NODELAY, Nagle's
    // algorithm holds them for the peer's delayed ACK (about 40 ms).
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::warn!(%error, "TCP_NODELAY");
        }
    });
    axum::serve(listener, router(engine)).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    actions: Vec<String>,
}

/// A request's actions after admission: those that passed are with the sequencer, in
/// order, and the others already have their error.
struct Dispatched {
    results: Vec<Option<Value>>,
    slots: Vec<usize>,
    outcomes: Option<oneshot::Receiver<Vec<ActionOutcome>>>,
}

/// Admits a request's actions and hands those that pass to the sequencer. It does not wait:
/// a connection dispatches its requests one after the other, so they are sequenced in the
/// order it sent them (nonces count up), while their results are awaited concurrently.
fn dispatch(engine: &Engine, actions: &[String]) -> Result<Dispatched, ApiError> {
    if actions.len() > engine.config.api.max_actions {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooManyActions,
            format!(
                "at most {} actions per request",
                engine.config.api.max_actions
            ),
        ));
    }
    let now = Instant::now();
    let mut results: Vec<Option<Value>> = vec![None; actions.len()];
    let mut admitted = Vec::new();
    let mut slots = Vec::new();
    for (slot, text) in actions.iter().enumerate() {
        let admission = hex::decode(text)
            .map_err(|_| AdmissionError::Malformed)
            .and_then(|bytes| Verified::decode(&bytes, &engine.exchange_id));
        let error = match admission {
            Ok(verified) if engine.limiter.admit(&verified.action().trader, 1, now) => {
                admitted.push(verified);
                slots.push(slot);
                continue;
            }
            Ok(_) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "this key's rate limit is exhausted",
            ),
            Err(AdmissionError::Malformed) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::MalformedAction,
                AdmissionError::Malformed.to_string(),
            ),
            Err(AdmissionError::BadSignature) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::BadSignature,
                AdmissionError::BadSignature.to_string(),
            ),
        };
        results[slot] = Some(json!({"status": "error", "error": error.body()}));
    }
    let mut outcomes = None;
    if !admitted.is_empty() {
        let (reply, receiver) = oneshot::channel();
        send(
            engine,
            Command::Submit {
                actions: admitted,
                reply,
            },
        )?;
        outcomes = Some(receiver);
    }
    Ok(Dispatched {
        results,
        slots,
        outcomes,
    })
}

impl Dispatched {
    /// Every action's result, in request order, once the sequenced ones are durable.
    async fn results(self) -> Result<Vec<Value>, ApiError> {
        let Self {
            mut results,
            slots,
            outcomes,
        } = self;
        if let Some(outcomes) = outcomes {
            let outcomes = outcomes.await.map_err(|_| unavailable())?;
            for (slot, outcome) in slots.into_iter().zip(outcomes) {
                results[slot] = Some(outcome_json(&outcome));
            }
        }
        Ok(results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| json!({"status": "error", "error": unavailable().body()}))
            })
            .collect())
    }
}

fn outcome_json(outcome: &ActionOutcome) -> Value {
    match outcome {
        ActionOutcome::Accepted { position, events } => {
            json!({"status": "accepted", "position": position, "events": events})
        }
        ActionOutcome::Rejected {
            position,
            reason,
            events,
        } => json!({
            "status": "rejected",
            "position": position,
            "error": {"code": reason, "message": reason.to_string()},
            "events": events,
        }),
    }
}

async fn submit_actions(
    State(engine): State<Arc<Engine>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let submission: Submission = parse(body)?;
    let results = dispatch(&engine, &submission.actions)?.results().await?;
    Ok(Json(json!({ "results": results })))
}

fn market_json(id: usize, market: &Market) -> Value {
    let symbol = String::from_utf8_lossy(&market.config.symbol)
        .trim_end_matches('\0')
        .to_string();
    let state = &market.state;
    json!({
        "id": id,
        "symbol": symbol,
        "status": state.status,
        "tick_size": market.config.tick_size,
        "lot_size": market.config.lot_size,
        "min_order_lots": market.config.min_order_lots,
        "max_leverage": market.config.max_leverage(),
        "index_price": state.index_price,
        "mark_price": state.mark_price,
        "last_trade_price": state.last_trade_price,
        "funding_index": state.funding_index,
        "last_funding_rate": state.last_funding_rate,
        "next_funding_ms": state.next_funding_ms,
        "open_interest": state.open_interest,
        "best_bid": market.book.best_bid(),
        "best_ask": market.book.best_ask(),
    })
}

async fn markets(State(engine): State<Arc<Engine>>) -> Result<Json<Value>, ApiError> {
    read(&engine, |view| {
        let markets: Vec<Value> = view
            .exchange
            .global()
            .markets
            .iter()
            .enumerate()
            .map(|(id, market)| market_json(id, market))
            .collect();
        Json(json!({ "markets": markets }))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct Limit {
    depth: Option<usize>,
    limit: Option<usize>,
}

fn unknown_market(id: MarketId) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::UnknownMarket,
        format!("no market {id}"),
    )
}

fn history_failed(error: HistoryError) -> ApiError {
    tracing::error!(%error, "history query");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::HistoryUnavailable,
        error.to_string(),
    )
}

fn book_json(view: &View<'_>, id: MarketId, depth: usize) -> Option<Value> {
    let market = view.exchange.market(id)?;
    let levels = |side| {
        market
            .book
            .depth(side, depth)
            .into_iter()
            .map(|(price, lots)| [price, lots])
            .collect::<Vec<_>>()
    };
    Some(json!({
        "market": id,
        "sequence": view.books.sequence(id),
        "bids": levels(Side::Buy),
        "asks": levels(Side::Sell),
    }))
}

async fn book(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<MarketId>,
    Query(query): Query<Limit>,
) -> Result<Json<Value>, ApiError> {
    let depth = query.depth.unwrap_or(50).min(1000);
    read(&engine, move |view| book_json(view, id, depth))
        .await?
        .map(Json)
        .ok_or_else(|| unknown_market(id))
}

async fn trades(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<MarketId>,
    Query(query): Query<Limit>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(100).min(1000);
    read(&engine, move |view| {
        view.exchange.market(id).ok_or_else(|| unknown_market(id))?;
        let trades = view.history.trades(id, limit).map_err(history_failed)?;
        Ok(Json(json!({"market": id, "trades": trades})))
    })
    .await?
}

async fn funding(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<MarketId>,
    Query(query): Query<Limit>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(100).min(1000);
    read(&engine, move |view| {
        view.exchange.market(id).ok_or_else(|| unknown_market(id))?;
        let funding = view.history.funding(id, limit).map_err(history_failed)?;
        Ok(Json(json!({"market": id, "funding": funding})))
    })
    .await?
}

fn account_json(view: &View<'_>, id: AccountId) -> Option<Value> {
    let exchange = view.exchange;
    let account = exchange.account(id)?;
    let markets = &exchange.global().markets;
    let positions: Vec<Value> = account
        .positions
        .iter()
        .map(|position| {
            let mark: Price = markets
                .get(usize::from(position.market))
                .map_or(0, |market| market.state.mark_price);
            json!({
                "market": position.market,
                "size": position.size,
                "cost": position.cost,
                "entry_price": i128::from(position.cost) / i128::from(position.size),
                "mark_price": mark,
                "unrealized_pnl": position.unrealized_pnl(mark),
                "liquidation_price": exchange.liquidation_price(id, position.market),
            })
        })
        .collect();
    let mut open_orders = Vec::new();
    for (market_id, market) in markets.iter().enumerate() {
        for order_id in market.book.order_ids_of(id) {
            if let Some(order) = market.book.resting(order_id) {
                open_orders.push(json!({
                    "market": market_id, "order_id": order.id, "kind": "limit",
                    "client_order_id": order.client_order_id, "side": order.side,
                    "price": order.price, "lots": order.lots, "reduce_only": order.reduce_only,
                    "post_only": order.post_only,
                }));
            } else if let Some(order) = market.book.trigger_order(order_id) {
                open_orders.push(json!({
                    "market": market_id, "order_id": order.id, "kind": "trigger",
                    "client_order_id": order.client_order_id, "side": order.side,
                    "lots": order.lots, "reduce_only": order.reduce_only,
                    "trigger_price": order.trigger.price,
                }));
            }
        }
    }
    let health = exchange.health(id).unwrap_or_default();
    Some(json!({
        "account": id,
        "owner": hex::encode(account.owner),
        "collateral": account.collateral,
        "last_nonce": account.last_nonce,
        "session": account.session,
        "positions": positions,
        "open_orders": open_orders,
        "margin": margin_json(&health),
    }))
}

fn margin_json(health: &Health) -> Value {
    json!({
        "value": health.value,
        "initial": health.initial,
        "maintenance": health.maintenance,
        "notional": health.notional,
        "free_collateral": health.free_collateral(),
        "liquidatable": health.liquidatable(),
    })
}

async fn account(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<AccountId>,
) -> Result<Json<Value>, ApiError> {
    read(&engine, move |view| account_json(view, id))
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::UnknownAccount,
                format!("no account {id}"),
            )
        })
}

async fn batches(State(engine): State<Arc<Engine>>) -> Result<Json<Value>, ApiError> {
    read(&engine, |view| {
        let batches: Vec<Value> = view
            .queue
            .statuses()
            .into_iter()
            .map(|(number, status)| json!({"batch": number, "proof": status}))
            .collect();
        Json(json!({
            "last_sealed": view.exchange.global().batch_number,
            "open_batch_steps": view.open_batch_steps,
            "batches": batches,
        }))
    })
    .await
}

async fn status(State(engine): State<Arc<Engine>>) -> Result<Json<Value>, ApiError> {
    read(&engine, |view| {
        let root: Vec<String> = view
            .state_root
            .iter()
            .map(|word| format!("{word:08x}"))
            .collect();
        let global = view.exchange.global();
        Json(json!({
            "exchange_id": hex::encode(global.config.exchange_id),
            "log_position": view.log_position,
            "last_sealed_batch": global.batch_number,
            "state_root": root.concat(),
            "last_timestamp_ms": global.last_timestamp_ms,
            "next_deposit_sequence": global.deposits.next_sequence,
            "accounts": global.next_account_id,
        }))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositRequest {
    owner: String,
    amount: u64,
    account: Option<AccountId>,
}

async fn deposit(
    State(engine): State<Arc<Engine>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    if !engine.config.api.dev_faucet {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::FaucetDisabled,
            "the development faucet is off; deposits come from the on-chain queue",
        ));
    }
    let request: DepositRequest = parse(body)?;
    let owner: [u8; 32] = hex::decode(&request.owner)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::MalformedJson,
                "owner must be 32 bytes of hex",
            )
        })?;
    let (reply, result) = oneshot::channel();
    send(
        &engine,
        Command::Deposit {
            owner,
            amount: request.amount,
            account: request.account,
            reply,
        },
    )?;
    match result.await.map_err(|_| unavailable())? {
        Ok(account) => Ok(Json(json!({ "account": account }))),
        Err(reason) => Ok(Json(json!({
            "status": "rejected",
            "error": {"code": reason, "message": reason.to_string()},
        }))),
    }
}

async fn websocket(State(engine): State<Arc<Engine>>, upgrade: WebSocketUpgrade) -> Response {
    let limit = engine.config.api.max_body_bytes;
    upgrade
        .max_message_size(limit)
        .on_upgrade(move |socket| stream(engine, socket))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum ClientMessage {
    Subscribe {
        channel: Channel,
        market: Option<MarketId>,
        account: Option<AccountId>,
    },
    Submit {
        id: u64,
        actions: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Channel {
    Book,
    Trades,
    Account,
}

#[derive(Debug, Default)]
struct Subscriptions {
    books: BTreeSet<MarketId>,
    trades: BTreeSet<MarketId>,
    accounts: BTreeSet<AccountId>,
}

impl Subscriptions {
    /// The messages of `update` this client asked for.
    fn messages(&self, update: &Update) -> Vec<Value> {
        let mut messages = Vec::new();
        for delta in &update.books {
            if self.books.contains(&delta.market) {
                messages.push(json!({"channel": "book", "delta": delta}));
            }
        }
        for stamped in &update.events {
            if let gnomon_core::event::Event::Filled { market, .. } = stamped.event
                && self.trades.contains(&market)
            {
                messages.push(json!({"channel": "trades", "market": market, "trade": stamped}));
            }
            for account in event_accounts(&stamped.event).into_iter().flatten() {
                if self.accounts.contains(&account) {
                    messages
                        .push(json!({"channel": "account", "account": account, "event": stamped}));
                }
            }
        }
        messages
    }
}

fn error_message(code: ErrorCode, message: impl Into<String>) -> Message {
    let error = ApiError::new(StatusCode::BAD_REQUEST, code, message);
    Message::Text(
        json!({"channel": "error", "error": error.body()})
            .to_string()
            .into(),
    )
}

async fn stream(engine: Arc<Engine>, socket: WebSocket) {
    let (mut sink, mut incoming) = socket.split();
    let mut updates = engine.updates.subscribe();
    let (replies, mut replies_out) = mpsc::channel::<Message>(64);
    let mut subscriptions = Subscriptions::default();
    loop {
        let outgoing: Vec<Message> = tokio::select! {
            message = incoming.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    handle_client_message(&engine, &text, &mut subscriptions, &replies).await
                }
                Some(Ok(Message::Binary(_))) => {
                    vec![error_message(ErrorCode::MalformedJson, "send JSON text messages")]
                }
                Some(Ok(_)) => Vec::new(),
                Some(Err(_)) | None => return,
            },
            update = updates.recv() => match update {
                Ok(update) => subscriptions
                    .messages(&update)
                    .into_iter()
                    .map(|message| Message::Text(message.to_string().into()))
                    .collect(),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let _ = sink
                        .send(error_message(ErrorCode::Lagged, format!("{missed} updates behind; resubscribe")))
                        .await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            Some(reply) = replies_out.recv() => vec![reply],
        };
        for message in outgoing {
            if sink.send(message).await.is_err() {
                return;
            }
        }
    }
}

async fn handle_client_message(
    engine: &Arc<Engine>,
    text: &str,
    subscriptions: &mut Subscriptions,
    replies: &mpsc::Sender<Message>,
) -> Vec<Message> {
    let message: ClientMessage = match serde_json::from_str(text) {
        Ok(message) => message,
        Err(error) => return vec![error_message(ErrorCode::MalformedJson, error.to_string())],
    };
    match message {
        ClientMessage::Subscribe {
            channel: Channel::Account,
            account: Some(account),
            ..
        } => {
            subscriptions.accounts.insert(account);
            vec![Message::Text(
                json!({"channel": "subscribed", "account": account})
                    .to_string()
                    .into(),
            )]
        }
        ClientMessage::Subscribe {
            channel: Channel::Trades,
            market: Some(market),
            ..
        } => {
            subscriptions.trades.insert(market);
            vec![Message::Text(
                json!({"channel": "subscribed", "trades": market})
                    .to_string()
                    .into(),
            )]
        }
        ClientMessage::Subscribe {
            channel: Channel::Book,
            market: Some(market),
            ..
        } => match read(engine, move |view| book_json(view, market, 1000)).await {
            Ok(Some(snapshot)) => {
                subscriptions.books.insert(market);
                vec![Message::Text(
                    json!({"channel": "book", "snapshot": snapshot})
                        .to_string()
                        .into(),
                )]
            }
            Ok(None) => vec![error_message(
                ErrorCode::UnknownMarket,
                format!("no market {market}"),
            )],
            Err(error) => vec![error_message(error.code, error.message)],
        },
        ClientMessage::Subscribe { .. } => vec![error_message(
            ErrorCode::MalformedJson,
            "book and trades subscriptions name a market, account ones an account",
        )],
        ClientMessage::Submit { id, actions } => {
            // Sequenced here, in the socket's order; awaited on a task of its own, so the
            // socket keeps streaming and keeps several submissions in flight.
            let dispatched = dispatch(engine, &actions);
            let replies = replies.clone();
            tokio::spawn(async move {
                let results = match dispatched {
                    Ok(dispatched) => dispatched.results().await,
                    Err(error) => Err(error),
                };
                let reply = match results {
                    Ok(results) => json!({"channel": "result", "id": id, "results": results}),
                    Err(error) => json!({"channel": "result", "id": id, "error": error.body()}),
                };
                let _ = replies.send(Message::Text(reply.to_string().into())).await;
            });
            Vec::new()
        }
    }
}
