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
//! | `GET /v1/markets/{id}/candles?interval=1m&limit=N` | candles (`1m`, `1h`, `1d`): trades' OHLCV, mark and index at the close, newest first |
//! | `GET /v1/accounts?owner=hex` | the ids of the accounts of a key, oldest first (where its on-chain deposits went) |
//! | `GET /v1/accounts/{id}` | collateral, positions, open orders, margin, liquidation prices |
//! | `GET /v1/accounts/{id}/fills?limit=N` | the account's fills (maker, taker, liquidations), newest first |
//! | `GET /v1/accounts/{id}/funding?limit=N` | the account's funding payments, newest first |
//! | `GET /v1/batches` | sealed batches, their proving status and settlement transactions |
//! | `GET /v1/batches/{number}` | one sealed batch: its committed header, output digest, settled balances and withdrawals |
//! | `GET /v1/status` | log position, state root, batch number |
//! | `POST /v1/dev/deposit` | `{"owner": hex, "amount": atoms, "account": id?}` (faucet, demo only) |
//! | `GET /v1/ws` | WebSocket: subscriptions and submissions (below) |
//! | `GET /openapi.json` | this API as an OpenAPI 3.1 document, generated from the handlers |
//!
//! WebSocket messages from the client: `{"op": "subscribe", "channel": "book", "market": 0}`,
//! `{"op": "subscribe", "channel": "trades", "market": 0}`,
//! `{"op": "subscribe", "channel": "account", "account": 5}` and
//! `{"op": "submit", "id": 1, "actions": [hex, ...]}`. A book subscription starts with a
//! snapshot carrying a sequence number; deltas with a sequence at or below it are already
//! in it. A client that falls `api.feed_buffer` updates behind gets a `lagged` error and is
//! disconnected (it never slows the engine down).

use std::sync::Arc;
use std::sync::mpsc::TrySendError;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use axum::{Json, Router};
use gnomon_core::{AccountId, MarketId};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::Engine;
use crate::auth::{AdmissionError, Verified};
use crate::history::{HistoryError, Interval};
use crate::prover::ProofStore;
use crate::sequencer::{ActionOutcome, Command, View};

mod stream;
pub mod views;

use views::{
    AccountView, AccountsResponse, ActionResult, BatchDetail, BatchView, BatchesResponse, BookView,
    CandlesResponse, DepositResponse, FillsResponse, FundingPaymentsResponse, FundingResponse,
    Groth16View, MarketView, MarketsResponse, StatusView, SubmitResponse, TradesResponse,
};

/// The stable error codes of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
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
    DepositRejected,
    Lagged,
    HistoryUnavailable,
    UnknownInterval,
    UnknownBatch,
}

/// Every error body: a stable code and a message for people.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
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

/// The OpenAPI document, generated from the handlers and the response types.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Gnomon engine",
        description = "Trader API of the Gnomon perpetual-futures engine"
    ),
    paths(
        submit_actions,
        markets,
        book,
        trades,
        funding,
        candles,
        accounts_of_owner,
        account,
        account_fills,
        account_funding,
        batches,
        batch,
        status,
        deposit
    )
)]
pub struct ApiDocument;

/// The API's routes over a running engine.
pub fn router(engine: Arc<Engine>) -> Router {
    let limit = engine.config.api.max_body_bytes;
    Router::new()
        .route("/v1/actions", post(submit_actions))
        .route("/v1/markets", get(markets))
        .route("/v1/markets/{id}/book", get(book))
        .route("/v1/markets/{id}/trades", get(trades))
        .route("/v1/markets/{id}/funding", get(funding))
        .route("/v1/markets/{id}/candles", get(candles))
        .route("/v1/accounts", get(accounts_of_owner))
        .route("/v1/accounts/{id}", get(account))
        .route("/v1/accounts/{id}/fills", get(account_fills))
        .route("/v1/accounts/{id}/funding", get(account_funding))
        .route("/v1/batches", get(batches))
        .route("/v1/batches/{number}", get(batch))
        .route("/v1/status", get(status))
        .route("/v1/dev/deposit", post(deposit))
        .route("/v1/ws", get(stream::websocket))
        .route(
            "/openapi.json",
            get(|| async { Json(ApiDocument::openapi()) }),
        )
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

/// Signed actions, each the hex of a borsh `SignedAction`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    actions: Vec<String>,
}

/// A request's actions after admission: those that passed are with the sequencer, in
/// order, and the others already have their error.
struct Dispatched {
    results: Vec<Option<ActionResult>>,
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
    let mut results: Vec<Option<ActionResult>> = vec![None; actions.len()];
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
            Err(error) => {
                let code = match error {
                    AdmissionError::Malformed => ErrorCode::MalformedAction,
                    AdmissionError::BadSignature => ErrorCode::BadSignature,
                };
                ApiError::new(StatusCode::BAD_REQUEST, code, error.to_string())
            }
        };
        results[slot] = Some(ActionResult::Error { error: error.body });
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
    async fn results(self) -> Result<Vec<ActionResult>, ApiError> {
        let Self {
            mut results,
            slots,
            outcomes,
        } = self;
        if let Some(outcomes) = outcomes {
            let outcomes = outcomes.await.map_err(|_| unavailable())?;
            for (slot, outcome) in slots.into_iter().zip(outcomes) {
                results[slot] = Some(outcome.into());
            }
        }
        Ok(results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| ActionResult::Error {
                    error: unavailable().body,
                })
            })
            .collect())
    }
}

/// Submits up to `api.max_actions` signed actions: orders, cancels, modifies, withdrawals,
/// session keys.
#[utoipa::path(post, path = "/v1/actions", request_body = Submission, responses(
    (status = 200, description = "one result per action", body = SubmitResponse),
    (status = 400, description = "malformed JSON", body = ErrorBody),
    (status = 413, description = "too many actions or too large a body", body = ErrorBody),
    (status = 503, description = "overloaded or stopped", body = ErrorBody),
))]
async fn submit_actions(
    State(engine): State<Arc<Engine>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SubmitResponse>, ApiError> {
    let submission: Submission = parse(body)?;
    let results = dispatch(&engine, &submission.actions)?.results().await?;
    Ok(Json(SubmitResponse { results }))
}

/// Every market: configuration, prices, funding, open interest, best bid and ask.
#[utoipa::path(get, path = "/v1/markets", responses((status = 200, body = MarketsResponse)))]
async fn markets(State(engine): State<Arc<Engine>>) -> Result<Json<MarketsResponse>, ApiError> {
    read(&engine, |view| {
        let markets = (0..)
            .zip(&view.exchange.global().markets)
            .map(|(id, market)| MarketView::of(id, market))
            .collect();
        Json(MarketsResponse { markets })
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
struct Depth {
    /// Levels per side (default 50, at most 1000).
    depth: Option<usize>,
}

#[derive(Debug, Deserialize, IntoParams)]
struct Limit {
    /// Records (default 100, at most 1000).
    limit: Option<usize>,
}

/// An owner's ed25519 key from its hex.
fn owner_key(hex: &str) -> Result<[u8; 32], ApiError> {
    hex::decode(hex)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::MalformedJson,
                "owner must be 32 bytes of hex",
            )
        })
}

fn unknown_account(id: AccountId) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::UnknownAccount,
        format!("no account {id}"),
    )
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

/// A market's aggregated book, with the sequence number its deltas continue from.
#[utoipa::path(get, path = "/v1/markets/{id}/book", params(("id" = u16, Path), Depth), responses(
    (status = 200, body = BookView),
    (status = 404, description = "no such market", body = ErrorBody),
))]
async fn book(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<MarketId>,
    Query(query): Query<Depth>,
) -> Result<Json<BookView>, ApiError> {
    let depth = query.depth.unwrap_or(50).min(1000);
    read(&engine, move |view| BookView::of(view, id, depth))
        .await?
        .map(Json)
        .ok_or_else(|| unknown_market(id))
}

/// A market's trades, newest first.
#[utoipa::path(get, path = "/v1/markets/{id}/trades", params(("id" = u16, Path), Limit), responses(
    (status = 200, body = TradesResponse),
    (status = 404, description = "no such market", body = ErrorBody),
))]
async fn trades(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<MarketId>,
    Query(query): Query<Limit>,
) -> Result<Json<TradesResponse>, ApiError> {
    let limit = query.limit.unwrap_or(100).min(1000);
    read(&engine, move |view| {
        view.exchange.market(id).ok_or_else(|| unknown_market(id))?;
        let trades = view.history.trades(id, limit).map_err(history_failed)?;
        Ok(Json(TradesResponse { market: id, trades }))
    })
    .await?
}

/// A market's hourly funding settlements, newest first.
#[utoipa::path(get, path = "/v1/markets/{id}/funding", params(("id" = u16, Path), Limit), responses(
    (status = 200, body = FundingResponse),
    (status = 404, description = "no such market", body = ErrorBody),
))]
async fn funding(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<MarketId>,
    Query(query): Query<Limit>,
) -> Result<Json<FundingResponse>, ApiError> {
    let limit = query.limit.unwrap_or(100).min(1000);
    read(&engine, move |view| {
        view.exchange.market(id).ok_or_else(|| unknown_market(id))?;
        let funding = view.history.funding(id, limit).map_err(history_failed)?;
        Ok(Json(FundingResponse {
            market: id,
            funding,
        }))
    })
    .await?
}

#[derive(Debug, Deserialize, IntoParams)]
struct CandleQuery {
    /// `1m` (the default), `1h` or `1d`.
    interval: Option<String>,
    /// Candles (default 100, at most 1000).
    limit: Option<usize>,
}

/// A market's candles, newest first: each interval's trades (open, high, low, close,
/// volume; none when nothing traded) and the mark and index prices at its close. Intervals
/// with neither trades nor oracle prices are absent.
#[utoipa::path(get, path = "/v1/markets/{id}/candles", params(("id" = u16, Path), CandleQuery), responses(
    (status = 200, body = CandlesResponse),
    (status = 400, description = "no such interval", body = ErrorBody),
    (status = 404, description = "no such market", body = ErrorBody),
))]
async fn candles(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<MarketId>,
    Query(query): Query<CandleQuery>,
) -> Result<Json<CandlesResponse>, ApiError> {
    let interval = match query.interval.as_deref().unwrap_or("1m") {
        "1m" => Interval::Minute,
        "1h" => Interval::Hour,
        "1d" => Interval::Day,
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::UnknownInterval,
                format!("no interval {other:?}: 1m, 1h or 1d"),
            ));
        }
    };
    let limit = query.limit.unwrap_or(100).min(1000);
    read(&engine, move |view| {
        view.exchange.market(id).ok_or_else(|| unknown_market(id))?;
        let candles = view
            .history
            .candles(id, interval, limit)
            .map_err(history_failed)?;
        Ok(Json(CandlesResponse {
            market: id,
            interval,
            candles,
        }))
    })
    .await?
}

#[derive(Debug, Deserialize, IntoParams)]
struct Owner {
    /// The owner's ed25519 key, hex.
    owner: String,
}

/// The accounts a key owns, oldest first: a deposit from the chain goes to the first, or opens
/// one.
#[utoipa::path(get, path = "/v1/accounts", params(Owner), responses(
    (status = 200, body = AccountsResponse),
    (status = 400, description = "owner is not 32 bytes of hex", body = ErrorBody),
))]
async fn accounts_of_owner(
    State(engine): State<Arc<Engine>>,
    Query(query): Query<Owner>,
) -> Result<Json<AccountsResponse>, ApiError> {
    let owner = owner_key(&query.owner)?;
    read(&engine, move |view| {
        Json(AccountsResponse {
            accounts: view
                .exchange
                .accounts()
                .filter(|(_, account)| account.owner == owner)
                .map(|(id, _)| id)
                .collect(),
        })
    })
    .await
}

/// An account: collateral, positions, open orders, margin and liquidation prices.
#[utoipa::path(get, path = "/v1/accounts/{id}", params(("id" = u32, Path)), responses(
    (status = 200, body = AccountView),
    (status = 404, description = "no such account", body = ErrorBody),
))]
async fn account(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<AccountId>,
) -> Result<Json<AccountView>, ApiError> {
    read(&engine, move |view| AccountView::of(view, id))
        .await?
        .map(Json)
        .ok_or_else(|| unknown_account(id))
}

/// An account's fills, newest first: its side of each trade, and the liquidations that closed
/// its positions.
#[utoipa::path(get, path = "/v1/accounts/{id}/fills", params(("id" = u32, Path), Limit), responses(
    (status = 200, body = FillsResponse),
    (status = 404, description = "no such account", body = ErrorBody),
))]
async fn account_fills(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<AccountId>,
    Query(query): Query<Limit>,
) -> Result<Json<FillsResponse>, ApiError> {
    let limit = query.limit.unwrap_or(100).min(1000);
    read(&engine, move |view| {
        view.exchange
            .account(id)
            .ok_or_else(|| unknown_account(id))?;
        let fills = view.history.fills(id, limit).map_err(history_failed)?;
        Ok(Json(FillsResponse { account: id, fills }))
    })
    .await?
}

/// An account's funding payments, newest first.
#[utoipa::path(get, path = "/v1/accounts/{id}/funding", params(("id" = u32, Path), Limit), responses(
    (status = 200, body = FundingPaymentsResponse),
    (status = 404, description = "no such account", body = ErrorBody),
))]
async fn account_funding(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<AccountId>,
    Query(query): Query<Limit>,
) -> Result<Json<FundingPaymentsResponse>, ApiError> {
    let limit = query.limit.unwrap_or(100).min(1000);
    read(&engine, move |view| {
        view.exchange
            .account(id)
            .ok_or_else(|| unknown_account(id))?;
        let payments = view
            .history
            .funding_payments(id, limit)
            .map_err(history_failed)?;
        Ok(Json(FundingPaymentsResponse {
            account: id,
            payments,
        }))
    })
    .await?
}

/// Sealed batches, their proving status and their settlement transactions.
#[utoipa::path(get, path = "/v1/batches", responses((status = 200, body = BatchesResponse)))]
async fn batches(State(engine): State<Arc<Engine>>) -> Result<Json<BatchesResponse>, ApiError> {
    let (last_sealed, open_batch_steps) = read(&engine, |view| {
        (view.exchange.global().batch_number, view.open_batch_steps)
    })
    .await?;
    // Off the sequencer thread: a shared queue answers from its database, and a round trip
    // there must never hold up trading.
    let queue = engine.queue.clone();
    let mut settlements = engine.settlements.all();
    let batches = tokio::task::spawn_blocking(move || {
        let mut summaries = queue.summaries();
        queue
            .statuses()
            .into_iter()
            .map(|(batch, proof)| BatchView {
                batch,
                proof,
                summary: summaries.remove(&batch),
                settlement: settlements.remove(&batch),
            })
            .collect()
    })
    .await
    .map_err(|_| unavailable())?;
    Ok(Json(BatchesResponse {
        last_sealed,
        open_batch_steps,
        batches,
    }))
}

/// One sealed batch: the header its proof commits to, its settled balances and withdrawals,
/// its proving status and settlement transactions.
#[utoipa::path(get, path = "/v1/batches/{number}", params(("number" = u64, Path)), responses(
    (status = 200, body = BatchDetail),
    (status = 404, description = "no such batch kept", body = ErrorBody),
))]
async fn batch(
    State(engine): State<Arc<Engine>>,
    Path(number): Path<u64>,
) -> Result<Json<BatchDetail>, ApiError> {
    let queue = engine.queue.clone();
    let settlement = engine.settlements.get(number);
    let proofs = engine.config.proof_dir();
    // Off the runtime: the batch is read from disk or from the shared queue's database.
    let detail = tokio::task::spawn_blocking(move || {
        let sealed = queue.sealed(number)?;
        let proof = queue.statuses().remove(&number);
        let groth16 = std::fs::read(ProofStore::at(&proofs).groth16_path(number))
            .ok()
            .and_then(|wrapped| Groth16View::of(&wrapped));
        Some(BatchDetail::of(&sealed, proof, settlement, groth16))
    })
    .await
    .map_err(|_| unavailable())?;
    detail.map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownBatch,
            format!("no batch {number} is kept"),
        )
    })
}

/// Where the engine stands: log position, state root, last sealed batch.
#[utoipa::path(get, path = "/v1/status", responses((status = 200, body = StatusView)))]
async fn status(State(engine): State<Arc<Engine>>) -> Result<Json<StatusView>, ApiError> {
    let chain = engine.config.chain.clone();
    read(&engine, move |view| Json(StatusView::of(view, &chain))).await
}

/// A faucet deposit (demo only): `owner` is the key's hex; without `account`, a new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    owner: String,
    amount: u64,
    account: Option<AccountId>,
}

/// Credits collateral from the development faucet (`api.dev_faucet`); in production deposits
/// come from the on-chain queue.
#[utoipa::path(post, path = "/v1/dev/deposit", request_body = DepositRequest, responses(
    (status = 200, body = DepositResponse),
    (status = 403, description = "the faucet is off", body = ErrorBody),
    (status = 422, description = "the state machine refused the deposit", body = ErrorBody),
))]
async fn deposit(
    State(engine): State<Arc<Engine>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DepositResponse>, ApiError> {
    if !engine.config.api.dev_faucet {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::FaucetDisabled,
            "the development faucet is off; deposits come from the on-chain queue",
        ));
    }
    let request: DepositRequest = parse(body)?;
    let owner = owner_key(&request.owner)?;
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
        Ok(account) => Ok(Json(DepositResponse { account })),
        Err(reason) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::DepositRejected,
            reason.to_string(),
        )),
    }
}
