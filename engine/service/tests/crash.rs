//! Durability: the engine process is killed with SIGKILL in the middle of a load, restarted,
//! and must hold every action it acknowledged and none that no one submitted.

use std::time::{Duration, Instant};

use gnomon_core::action::Action;
use gnomon_core::order::{Side, TimeInForce};
use gnomon_engine::client::Trader;
use gnomon_sim::limit;
use serde_json::{Value, json};

mod common;
use common::{dev_deposit, get, launch};

const TRADERS: u32 = 4;

/// Submits one action per request until the engine stops answering; returns the highest
/// nonce acknowledged as accepted and the highest nonce sent.
async fn trade_until_killed(base: String, mut trader: Trader, price: u64) -> (u64, u64) {
    let http = reqwest::Client::new();
    let mut acknowledged = 0;
    for index in 0u64.. {
        let action = if index % 20 == 19 {
            Action::CancelAll { market: Some(0) }
        } else {
            let side = if index % 2 == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let price = price + (index % 5) * 10_000 - 20_000;
            Action::PlaceOrder(limit(0, side, 1, price, TimeInForce::GoodTillCancel))
        };
        let body = json!({ "actions": [trader.sign(action)] }).to_string();
        let response = http
            .post(format!("{base}/v1/actions"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let Ok(response) = response else { break };
        let Ok(reply) = response.json::<Value>().await else {
            break;
        };
        assert_eq!(reply["results"][0]["status"], "accepted", "{reply}");
        acknowledged = trader.nonce;
    }
    (acknowledged, trader.nonce)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_load_loses_nothing_acknowledged_and_applies_nothing_unsent() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let config = directory.path().join("engine.toml");
    std::fs::write(
        &config,
        "[oracle]\ninterval_ms = 100\n[batching]\nmax_steps = 50\n[prover]\nworkers = 0\n",
    )
    .unwrap();
    let http = reqwest::Client::new();
    let engine = launch(&data, &config).await;
    let mut price = 0;
    while price == 0 {
        let markets = get(&http, format!("{}/v1/markets", engine.base)).await;
        price = markets["markets"][0]["index_price"].as_u64().unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let price = price - price % 10_000;
    let mut traders = Vec::new();
    for seed in 0..TRADERS {
        let mut trader = Trader::new(100 + seed, 0);
        let owner = trader.owner_hex();
        trader.account = dev_deposit(&http, &engine.base, &owner, 1_000_000_000_000).await;
        traders.push(trader);
    }
    let load: Vec<_> = traders
        .iter()
        .map(|trader| {
            tokio::spawn(trade_until_killed(
                engine.base.clone(),
                trader.clone(),
                price,
            ))
        })
        .collect();
    // Let the load cross a few batch boundaries (snapshots), then kill mid-stream.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = get(&http, format!("{}/v1/status", engine.base)).await;
        if status["last_sealed_batch"].as_u64() >= Some(4) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.kill();
    let mut bounds = Vec::new();
    for task in load {
        bounds.push(task.await.unwrap());
    }
    assert!(
        bounds.iter().all(|&(acknowledged, _)| acknowledged > 10),
        "{bounds:?}"
    );

    let mut recovered = Vec::new();
    for _ in 0..2 {
        let engine = launch(&data, &config).await;
        for (trader, &(acknowledged, sent)) in traders.iter().zip(&bounds) {
            let account = get(
                &http,
                format!("{}/v1/accounts/{}", engine.base, trader.account),
            )
            .await;
            let nonce = account["last_nonce"].as_u64().unwrap();
            assert!(
                (acknowledged..=sent).contains(&nonce),
                "account {}: recovered nonce {nonce}, acknowledged {acknowledged}, sent {sent}",
                trader.account
            );
        }
        let status = get(&http, format!("{}/v1/status", engine.base)).await;
        recovered.push(status["log_position"].as_u64().unwrap());
        engine.kill();
    }
    // The second recovery starts from the first one's log (plus its own timer steps).
    assert!(recovered[1] >= recovered[0]);
}
