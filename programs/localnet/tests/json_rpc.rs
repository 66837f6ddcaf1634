//! Solana's own JSON-RPC client against the local runtime: reads, a transfer sent and
//! confirmed, a refused transaction, malformed calls; airdrops, and the subscriptions web3.js
//! confirms with.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::system_instruction;
use futures_util::{SinkExt, StreamExt};
use gnomon_localnet::Localnet;
use serde_json::{Value, json};
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::request::RpcRequest;
use solana_signer::Signer;
use solana_transaction::Transaction;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solanas_client_reads_sends_and_confirms_and_is_refused_what_the_bank_refuses() {
    let mut localnet = Localnet::start().await;
    let url = localnet
        .serve_json_rpc("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let rpc = RpcClient::new(url);
    let payer = localnet.payer();
    let before = rpc.get_balance(&payer.pubkey()).await.unwrap();
    assert!(before > 0);
    assert!(rpc.get_account(&Pubkey::new_unique()).await.is_err());

    let to = Keypair::new().pubkey();
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let transfer = Transaction::new_signed_with_payer(
        &[system_instruction::transfer(
            &payer.pubkey(),
            &to,
            5_000_000,
        )],
        Some(&payer.pubkey()),
        &[&payer],
        blockhash,
    );
    let signature = rpc.send_and_confirm_transaction(&transfer).await.unwrap();
    assert_eq!(rpc.get_balance(&to).await.unwrap(), 5_000_000);
    let statuses = rpc.get_signature_statuses(&[signature]).await.unwrap();
    assert!(statuses.value[0].as_ref().unwrap().err.is_none());
    assert_eq!(
        localnet.account_data(&to).await.unwrap(),
        Some(Vec::new()),
        "the bank and the endpoint agree"
    );

    // More than the payer holds: refused, nothing lands.
    let too_much = Transaction::new_signed_with_payer(
        &[system_instruction::transfer(
            &payer.pubkey(),
            &to,
            before * 2,
        )],
        Some(&payer.pubkey()),
        &[&payer],
        blockhash,
    );
    assert!(rpc.send_transaction(&too_much).await.is_err());
    let statuses = rpc
        .get_signature_statuses(&[too_much.signatures[0]])
        .await
        .unwrap();
    assert!(statuses.value[0].is_none());
    assert_eq!(rpc.get_balance(&to).await.unwrap(), 5_000_000);

    // Malformed calls are JSON-RPC errors, not a dead endpoint.
    let unknown: Result<Value, _> = rpc
        .send(
            RpcRequest::Custom {
                method: "getEverything",
            },
            json!([]),
        )
        .await;
    assert!(unknown.unwrap_err().to_string().contains("not served"));
    let garbage: Result<Value, _> = rpc
        .send(
            RpcRequest::SendTransaction,
            json!(["!!!", {"encoding": "base64"}]),
        )
        .await;
    assert!(garbage.unwrap_err().to_string().contains("invalid params"));
    let bad_address: Result<Value, _> = rpc
        .send(RpcRequest::GetAccountInfo, json!(["not-an-address"]))
        .await;
    assert!(bad_address.is_err());
    assert!(rpc.get_health().await.is_ok());
}

/// What web3.js does to confirm a transaction: subscribe to its signature on the port after
/// the RPC port, and wait for the one notification; airdrops and rent as its helpers use them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_notify_a_processed_signature_once_with_its_outcome() {
    let localnet = Localnet::start().await;
    let url = localnet
        .serve_json_rpc("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let rpc = RpcClient::new(url.clone());
    let to = Keypair::new().pubkey();
    let airdrop = rpc.request_airdrop(&to, 3_000_000).await.unwrap();
    let again = rpc.request_airdrop(&to, 3_000_000).await.unwrap();
    assert_ne!(airdrop, again, "two airdrops are two transactions");
    assert_eq!(rpc.get_balance(&to).await.unwrap(), 6_000_000);
    let rent = rpc
        .get_minimum_balance_for_rent_exemption(165)
        .await
        .unwrap();
    assert!(rent > 0);

    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}", port + 1))
        .await
        .unwrap();
    let mut request = async |body: Value| -> Value {
        socket
            .send(WsMessage::text(body.to_string()))
            .await
            .unwrap();
        next_json(&mut socket).await
    };
    let subscribed = request(json!({
        "jsonrpc": "2.0", "id": 1, "method": "signatureSubscribe",
        "params": [airdrop.to_string(), {"commitment": "confirmed"}],
    }))
    .await;
    let subscription = subscribed["result"].as_u64().unwrap();
    let notification = request(json!({"jsonrpc": "2.0", "method": "ping"})).await;
    assert_eq!(notification["method"], "signatureNotification");
    assert_eq!(notification["params"]["subscription"], subscription);
    assert_eq!(
        notification["params"]["result"]["value"]["err"],
        Value::Null
    );

    // A notification is sent once: the subscription is gone afterwards.
    let unsubscribed = request(json!({
        "jsonrpc": "2.0", "id": 2, "method": "signatureUnsubscribe", "params": [subscription],
    }))
    .await;
    assert_eq!(unsubscribed["result"], false);
    let unknown = request(json!({"jsonrpc": "2.0", "id": 3, "method": "slotSubscribe"})).await;
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not served")
    );
    let malformed = request(json!({
        "jsonrpc": "2.0", "id": 4, "method": "signatureSubscribe", "params": ["not-a-signature"],
    }))
    .await;
    assert_eq!(malformed["error"]["code"], -32602);
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    loop {
        match socket.next().await.unwrap().unwrap() {
            WsMessage::Text(text) => return serde_json::from_str(&text).unwrap(),
            _ => continue,
        }
    }
}

/// A web app on another origin calls the endpoint as it calls a validator's: the CORS
/// preflight is allowed, and the answer carries the header the browser checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_on_other_origins_may_call_it() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let localnet = Localnet::start().await;
    let url = localnet
        .serve_json_rpc("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let address = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let preflight = format!(
        "OPTIONS / HTTP/1.1\r\nHost: {address}\r\nOrigin: http://app.example\r\n\
         Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(preflight.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let answer = answer.to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(
        answer.contains("access-control-allow-origin: *"),
        "{answer}"
    );
    assert!(
        answer.contains("access-control-allow-methods: *"),
        "{answer}"
    );
}

/// The wallet's token account is the associated one, and funding it twice adds up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_get_their_associated_token_account_once() {
    let mut localnet = Localnet::start().await;
    let mint = localnet.create_mint(6).await.unwrap();
    let owner = Keypair::new().pubkey();
    let first = localnet
        .associated_token_account(&mint, &owner, 5)
        .await
        .unwrap();
    assert_eq!(
        first,
        anchor_spl::associated_token::get_associated_token_address(&owner, &mint)
    );
    let again = localnet
        .associated_token_account(&mint, &owner, 3)
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(localnet.token_balance(&first).await.unwrap(), 8);
}
