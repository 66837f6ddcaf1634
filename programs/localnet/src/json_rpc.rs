//! Solana's JSON-RPC, the methods clients of the settlement program use, served from the bank:
//! `getAccountInfo` and `getMultipleAccounts` (base64 data), `getBalance`,
//! `getMinimumBalanceForRentExemption`, `getLatestBlockhash`, `sendTransaction` (base64 or
//! base58 wire transactions, legacy or versioned, always run with preflight: a failing
//! transaction is refused with its logs, as a validator's simulation refuses it),
//! `requestAirdrop` (a transfer from the bank's payer), `getSignatureStatuses`, `getSlot`,
//! `getBlockHeight`, `getHealth` and `getVersion`; and over WebSocket, on the same port and on
//! the next one (where clients look for a validator's subscriptions), `signatureSubscribe` and
//! `signatureUnsubscribe`, which is what web3.js waits on to confirm a transaction. Any other
//! method is JSON-RPC's "method not found"; malformed parameters are "invalid params".

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::system_instruction;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use serde_json::{Value, json};
use solana_keypair::Keypair;
use solana_program_test::{BanksClient, BanksClientError};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tower_http::cors::CorsLayer;

use crate::{AIRDROP_NONCES, LocalnetError, unique_transaction};

/// JSON-RPC's codes, and Solana's for a refused transaction.
const INVALID_PARAMS: i64 = -32602;
const METHOD_NOT_FOUND: i64 = -32601;
const INTERNAL: i64 = -32603;
const SIMULATION_FAILED: i64 = -32002;

/// How long a signature subscription waits for its transaction: a blockhash's lifetime.
const SIGNATURE_WAIT: Duration = Duration::from_secs(90);
const SIGNATURE_POLL: Duration = Duration::from_millis(50);

/// A JSON-RPC error: its code, its message and its data.
struct RpcError {
    code: i64,
    message: String,
    data: Option<Value>,
}

type Reply = Result<Value, RpcError>;

/// What every request is served from.
struct Node {
    banks: BanksClient,
    /// Pays the airdrops.
    faucet: Keypair,
    /// Makes each airdrop a transaction of its own.
    airdrops: AtomicU32,
    /// The next subscription's id.
    subscriptions: AtomicU64,
}

pub(crate) async fn serve(
    banks: BanksClient,
    faucet: Keypair,
    address: SocketAddr,
) -> Result<String, LocalnetError> {
    let (rpc, pubsub) = bind_pair(address).await?;
    let url = format!("http://{}", rpc.local_addr()?);
    let router = Router::new()
        .route("/", post(call).get(subscribe))
        // Browsers call a validator's RPC from other origins (a web app); validators allow it.
        .layer(CorsLayer::permissive())
        .with_state(Arc::new(Node {
            banks,
            faucet,
            airdrops: AtomicU32::new(0),
            subscriptions: AtomicU64::new(0),
        }));
    let served = router.clone();
    tokio::spawn(async move { axum::serve(rpc, served).await });
    tokio::spawn(async move { axum::serve(pubsub, router).await });
    Ok(url)
}

/// Listeners on `address` and on the port after it; with port 0, on the first such pair free.
async fn bind_pair(address: SocketAddr) -> std::io::Result<(TcpListener, TcpListener)> {
    const TRIES: usize = 64;
    let next = |rpc: &TcpListener| -> std::io::Result<SocketAddr> {
        let mut pubsub = rpc.local_addr()?;
        let port = pubsub.port().checked_add(1).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "no port after 65535")
        })?;
        pubsub.set_port(port);
        Ok(pubsub)
    };
    let mut last_error = None;
    for _ in 0..if address.port() == 0 { TRIES } else { 1 } {
        let rpc = TcpListener::bind(address).await?;
        match TcpListener::bind(next(&rpc)?).await {
            Ok(pubsub) => return Ok((rpc, pubsub)),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.expect("at least one try"))
}

async fn call(State(node): State<Arc<Node>>, Json(request): Json<Value>) -> Json<Value> {
    let method = request["method"].as_str().unwrap_or_default();
    let reply = answer(&node, method, &request["params"]).await;
    Json(response(&request["id"], reply))
}

fn response(id: &Value, reply: Reply) -> Value {
    match reply {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(RpcError {
            code,
            message,
            data,
        }) => {
            let mut error = json!({"code": code, "message": message});
            if let Some(data) = data {
                error["data"] = data;
            }
            json!({"jsonrpc": "2.0", "id": id, "error": error})
        }
    }
}

fn invalid(what: &str) -> RpcError {
    RpcError {
        code: INVALID_PARAMS,
        message: format!("invalid params: {what}"),
        data: None,
    }
}

fn internal(error: impl std::fmt::Display) -> RpcError {
    RpcError {
        code: INTERNAL,
        message: error.to_string(),
        data: None,
    }
}

fn address(value: &Value) -> Result<Pubkey, RpcError> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| invalid("expected a base58 address"))
}

fn signature(value: &Value) -> Result<Signature, RpcError> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| invalid("expected a base58 signature"))
}

async fn answer(node: &Node, method: &str, params: &Value) -> Reply {
    let banks = &node.banks;
    let slot = banks.get_root_slot().await.map_err(internal)?;
    let in_context = |value: Value| json!({"context": {"slot": slot}, "value": value});
    match method {
        "getAccountInfo" => {
            let account = account_json(banks, address(&params[0])?).await?;
            Ok(in_context(account))
        }
        "getMultipleAccounts" => {
            let addresses = params[0]
                .as_array()
                .ok_or_else(|| invalid("expected a list of addresses"))?;
            let mut accounts = Vec::with_capacity(addresses.len());
            for value in addresses {
                accounts.push(account_json(banks, address(value)?).await?);
            }
            Ok(in_context(json!(accounts)))
        }
        "getBalance" => {
            let lamports = banks
                .get_balance(address(&params[0])?)
                .await
                .map_err(internal)?;
            Ok(in_context(json!(lamports)))
        }
        "getMinimumBalanceForRentExemption" => {
            let length = params[0]
                .as_u64()
                .and_then(|length| usize::try_from(length).ok())
                .ok_or_else(|| invalid("expected an account length"))?;
            let rent = banks.get_rent().await.map_err(internal)?;
            Ok(json!(rent.minimum_balance(length)))
        }
        "getLatestBlockhash" => {
            let blockhash = banks.get_latest_blockhash().await.map_err(internal)?;
            let height = banks.get_root_block_height().await.map_err(internal)?;
            Ok(in_context(json!({
                "blockhash": blockhash.to_string(),
                "lastValidBlockHeight": height + 150,
            })))
        }
        "sendTransaction" => send(banks, params).await,
        "requestAirdrop" => airdrop(node, params).await,
        "getSignatureStatuses" => {
            let signatures = params[0]
                .as_array()
                .ok_or_else(|| invalid("expected a list of signatures"))?
                .iter()
                .map(signature)
                .collect::<Result<Vec<_>, _>>()?;
            let statuses = banks
                .get_transaction_statuses(signatures)
                .await
                .map_err(internal)?;
            let statuses: Vec<Value> = statuses
                .into_iter()
                .map(|status| match status {
                    None => Value::Null,
                    Some(status) => {
                        let err = status.err.map(|error| json!(error));
                        json!({
                            "slot": status.slot,
                            "confirmations": status.confirmations,
                            "err": err,
                            "status": match &err {
                                None => json!({"Ok": null}),
                                Some(error) => json!({"Err": error}),
                            },
                            "confirmationStatus": "finalized",
                        })
                    }
                })
                .collect();
            Ok(in_context(json!(statuses)))
        }
        "getSlot" => Ok(json!(slot)),
        "getBlockHeight" => Ok(json!(
            banks.get_root_block_height().await.map_err(internal)?
        )),
        "getHealth" => Ok(json!("ok")),
        "getVersion" => Ok(json!({"solana-core": "gnomon-localnet (solana-program-test 3.1)"})),
        method => Err(RpcError {
            code: METHOD_NOT_FOUND,
            message: format!("method {method:?} is not served"),
            data: None,
        }),
    }
}

async fn account_json(banks: &BanksClient, address: Pubkey) -> Reply {
    let account = banks.get_account(address).await.map_err(internal)?;
    Ok(account.map_or(Value::Null, |account| {
        json!({
            "data": [BASE64_STANDARD.encode(&account.data), "base64"],
            "executable": account.executable,
            "lamports": account.lamports,
            "owner": account.owner.to_string(),
            "rentEpoch": account.rent_epoch,
            "space": account.data.len(),
        })
    }))
}

async fn send(banks: &BanksClient, params: &Value) -> Reply {
    let encoded = params[0]
        .as_str()
        .ok_or_else(|| invalid("expected an encoded transaction"))?;
    let bytes = match params[1]["encoding"].as_str() {
        Some("base64") => BASE64_STANDARD
            .decode(encoded)
            .map_err(|_| invalid("the transaction is not base64"))?,
        None | Some("base58") => bs58::decode(encoded)
            .into_vec()
            .map_err(|_| invalid("the transaction is not base58"))?,
        Some(other) => return Err(invalid(&format!("unknown encoding {other:?}"))),
    };
    let transaction: VersionedTransaction =
        bincode::deserialize(&bytes).map_err(|_| invalid("not a wire transaction"))?;
    let signature = transaction
        .signatures
        .first()
        .ok_or_else(|| invalid("an unsigned transaction"))?
        .to_string();
    banks
        .process_transaction_with_preflight(transaction)
        .await
        .map_err(refused)?;
    Ok(json!(signature))
}

/// A validator's answer to a transaction its simulation refuses: the error and the logs.
fn refused(error: BanksClientError) -> RpcError {
    let data = match &error {
        BanksClientError::SimulationError {
            err,
            logs,
            units_consumed,
            ..
        } => json!({"err": err, "logs": logs, "unitsConsumed": units_consumed}),
        _ => json!({"err": error.to_string(), "logs": []}),
    };
    RpcError {
        code: SIMULATION_FAILED,
        message: format!("Transaction simulation failed: {error}"),
        data: Some(data),
    }
}

async fn airdrop(node: &Node, params: &Value) -> Reply {
    let to = address(&params[0])?;
    let lamports = params[1]
        .as_u64()
        .ok_or_else(|| invalid("expected an amount of lamports"))?;
    let blockhash = node.banks.get_latest_blockhash().await.map_err(internal)?;
    let transfer = system_instruction::transfer(&node.faucet.pubkey(), &to, lamports);
    let nonce = AIRDROP_NONCES + node.airdrops.fetch_add(1, Ordering::Relaxed) % AIRDROP_NONCES;
    let transaction = unique_transaction(&[transfer], &[&node.faucet], blockhash, nonce);
    let signature = transaction.signatures[0].to_string();
    node.banks
        .process_transaction_with_preflight(transaction)
        .await
        .map_err(refused)?;
    Ok(json!(signature))
}

async fn subscribe(ws: WebSocketUpgrade, State(node): State<Arc<Node>>) -> Response {
    ws.on_upgrade(move |socket| subscriptions(socket, node))
}

/// One client's subscriptions: requests answered in order, notifications sent as their
/// transactions are processed.
async fn subscriptions(mut socket: WebSocket, node: Arc<Node>) {
    let (notify, mut notifications) = mpsc::unbounded_channel::<Value>();
    let active = Arc::new(Mutex::new(BTreeSet::new()));
    loop {
        let message = tokio::select! {
            received = socket.recv() => match received {
                Some(Ok(Message::Text(text))) => text,
                // A close is answered by the next read, which then ends the stream: a client
                // whose close goes unanswered reconnects.
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return,
            },
            Some(notification) = notifications.recv() => {
                if socket.send(Message::Text(notification.to_string().into())).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let Ok(request) = serde_json::from_str::<Value>(&message) else {
            continue;
        };
        // A notification from the client (web3.js pings): nothing to answer.
        if request.get("id").is_none() {
            continue;
        }
        let reply = match request["method"].as_str().unwrap_or_default() {
            "signatureSubscribe" => signature(&request["params"][0]).map(|signature| {
                let id = node.subscriptions.fetch_add(1, Ordering::Relaxed);
                active.lock().expect("not poisoned").insert(id);
                tokio::spawn(notify_when_processed(
                    node.banks.clone(),
                    signature,
                    id,
                    Arc::clone(&active),
                    notify.clone(),
                ));
                json!(id)
            }),
            "signatureUnsubscribe" => request["params"][0]
                .as_u64()
                .ok_or_else(|| invalid("expected a subscription id"))
                .map(|id| json!(active.lock().expect("not poisoned").remove(&id))),
            method => Err(RpcError {
                code: METHOD_NOT_FOUND,
                message: format!("subscription {method:?} is not served"),
                data: None,
            }),
        };
        let text = response(&request["id"], reply).to_string();
        if socket.send(Message::Text(text.into())).await.is_err() {
            return;
        }
    }
}

/// Sends subscription `id`'s one notification once `signature` is processed, unless the
/// client unsubscribed first; gives up after a blockhash's lifetime.
async fn notify_when_processed(
    banks: BanksClient,
    signature: Signature,
    id: u64,
    active: Arc<Mutex<BTreeSet<u64>>>,
    notify: mpsc::UnboundedSender<Value>,
) {
    let deadline = tokio::time::Instant::now() + SIGNATURE_WAIT;
    while tokio::time::Instant::now() < deadline {
        let Ok(status) = banks.get_transaction_status(signature).await else {
            return;
        };
        if let Some(status) = status {
            if active.lock().expect("not poisoned").remove(&id) {
                let err = status.err.map(|error| json!(error));
                let _ = notify.send(json!({
                    "jsonrpc": "2.0",
                    "method": "signatureNotification",
                    "params": {
                        "result": {"context": {"slot": status.slot}, "value": {"err": err}},
                        "subscription": id,
                    },
                }));
            }
            return;
        }
        tokio::time::sleep(SIGNATURE_POLL).await;
    }
    active.lock().expect("not poisoned").remove(&id);
}
