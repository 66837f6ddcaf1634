//! Solana's own JSON-RPC client against the local runtime: reads, a transfer sent and
//! confirmed, a refused transaction, malformed calls.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::system_instruction;
use gnomon_localnet::Localnet;
use serde_json::{Value, json};
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::request::RpcRequest;
use solana_signer::Signer;
use solana_transaction::Transaction;

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
