//! Solana's JSON-RPC, the methods clients of the settlement program use, served from the bank:
//! `getAccountInfo` and `getMultipleAccounts` (base64 data), `getBalance`,
//! `getLatestBlockhash`, `sendTransaction` (base64 or base58 wire transactions, run with
//! preflight: a failing transaction is refused, as a validator's simulation refuses it),
//! `getSignatureStatuses`, `getSlot`, `getBlockHeight`, `getHealth` and `getVersion`. Any
//! other method is JSON-RPC's "method not found"; malformed parameters are "invalid params".

use std::net::SocketAddr;
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use serde_json::{Value, json};
use solana_program_test::BanksClient;
use solana_signature::Signature;
use solana_transaction::Transaction;

use crate::LocalnetError;

/// JSON-RPC's codes, and Solana's for a refused transaction.
const INVALID_PARAMS: i64 = -32602;
const METHOD_NOT_FOUND: i64 = -32601;
const INTERNAL: i64 = -32603;
const SIMULATION_FAILED: i64 = -32002;

type Reply = Result<Value, (i64, String)>;

pub(crate) async fn serve(
    client: BanksClient,
    address: SocketAddr,
) -> Result<String, LocalnetError> {
    let router = Router::new()
        .route("/", post(call))
        .with_state(Arc::new(client));
    let listener = tokio::net::TcpListener::bind(address).await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

async fn call(State(client): State<Arc<BanksClient>>, Json(request): Json<Value>) -> Json<Value> {
    let id = request["id"].clone();
    let method = request["method"].as_str().unwrap_or_default();
    let reply = answer(&client, method, &request["params"]).await;
    Json(match reply {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err((code, message)) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        }
    })
}

fn invalid(what: &str) -> (i64, String) {
    (INVALID_PARAMS, format!("invalid params: {what}"))
}

fn internal(error: impl std::fmt::Display) -> (i64, String) {
    (INTERNAL, error.to_string())
}

fn address(value: &Value) -> Result<Pubkey, (i64, String)> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| invalid("expected a base58 address"))
}

async fn answer(client: &BanksClient, method: &str, params: &Value) -> Reply {
    let slot = client.get_root_slot().await.map_err(internal)?;
    let in_context = |value: Value| json!({"context": {"slot": slot}, "value": value});
    match method {
        "getAccountInfo" => {
            let account = account_json(client, address(&params[0])?).await?;
            Ok(in_context(account))
        }
        "getMultipleAccounts" => {
            let addresses = params[0]
                .as_array()
                .ok_or_else(|| invalid("expected a list of addresses"))?;
            let mut accounts = Vec::with_capacity(addresses.len());
            for value in addresses {
                accounts.push(account_json(client, address(value)?).await?);
            }
            Ok(in_context(json!(accounts)))
        }
        "getBalance" => {
            let lamports = client
                .get_balance(address(&params[0])?)
                .await
                .map_err(internal)?;
            Ok(in_context(json!(lamports)))
        }
        "getLatestBlockhash" => {
            let blockhash = client.get_latest_blockhash().await.map_err(internal)?;
            let height = client.get_root_block_height().await.map_err(internal)?;
            Ok(in_context(json!({
                "blockhash": blockhash.to_string(),
                "lastValidBlockHeight": height + 150,
            })))
        }
        "sendTransaction" => send(client, params).await,
        "getSignatureStatuses" => {
            let signatures = params[0]
                .as_array()
                .ok_or_else(|| invalid("expected a list of signatures"))?
                .iter()
                .map(|value| {
                    value
                        .as_str()
                        .and_then(|text| text.parse::<Signature>().ok())
                        .ok_or_else(|| invalid("expected a base58 signature"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let statuses = client
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
            client.get_root_block_height().await.map_err(internal)?
        )),
        "getHealth" => Ok(json!("ok")),
        "getVersion" => Ok(json!({"solana-core": "gnomon-localnet (solana-program-test 3.1)"})),
        method => Err((METHOD_NOT_FOUND, format!("method {method:?} is not served"))),
    }
}

async fn account_json(client: &BanksClient, address: Pubkey) -> Reply {
    let account = client.get_account(address).await.map_err(internal)?;
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

async fn send(client: &BanksClient, params: &Value) -> Reply {
    let encoded = params[0]
        .as_str()
        .ok_or_else(|| invalid("expected an encoded transaction"))?;
    let bytes = match params[1]["encoding"].as_str() {
        Some("base64") => BASE64_STANDARD
            .decode(encoded)
            .map_err(|_| invalid("the transaction is not base64"))?,
        None | Some("base58") => bs58_decode(encoded)?,
        Some(other) => return Err(invalid(&format!("unknown encoding {other:?}"))),
    };
    let transaction: Transaction =
        bincode::deserialize(&bytes).map_err(|_| invalid("not a wire transaction"))?;
    let signature = transaction
        .signatures
        .first()
        .ok_or_else(|| invalid("an unsigned transaction"))?
        .to_string();
    client
        .process_transaction_with_preflight(transaction)
        .await
        .map_err(|error| {
            (
                SIMULATION_FAILED,
                format!("Transaction simulation failed: {error}"),
            )
        })?;
    Ok(json!(signature))
}

fn bs58_decode(text: &str) -> Result<Vec<u8>, (i64, String)> {
    bs58::decode(text)
        .into_vec()
        .map_err(|_| invalid("the transaction is not base58"))
}
