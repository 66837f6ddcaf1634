//! The WebSocket: subscriptions (book deltas, trades, account events) and submissions.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use gnomon_core::{AccountId, MarketId};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::views::BookView;
use super::{ApiError, ErrorCode, dispatch, read};
use crate::Engine;
use crate::market_data::{Update, event_accounts};

pub(super) async fn websocket(
    State(engine): State<Arc<Engine>>,
    upgrade: WebSocketUpgrade,
) -> Response {
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
        json!({"channel": "error", "error": error.body})
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
        } => match read(engine, move |view| BookView::of(view, market, 1000)).await {
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
            Err(error) => vec![error_message(error.body.code, error.body.message)],
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
                    Err(error) => json!({"channel": "result", "id": id, "error": error.body}),
                };
                let _ = replies.send(Message::Text(reply.to_string().into())).await;
            });
            Vec::new()
        }
    }
}
