//! The API with a real HTTP and WebSocket client against an engine in this process.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gnomon_core::action::Action;
use gnomon_core::order::{Side, TimeInForce};
use gnomon_engine::Engine;
use gnomon_engine::client::Trader;
use gnomon_engine::config::Config;
use gnomon_sim::limit;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

struct Running {
    base: String,
    engine: Arc<Engine>,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

fn config(data: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.storage.data_dir = data.to_path_buf();
    config.oracle.interval_ms = 100;
    config.batching.max_steps = 40;
    config.batching.max_age_ms = 500;
    config.api.max_actions = 5;
    config.api.max_body_bytes = 16 * 1024;
    config
}

async fn start(config: Config) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let engine = Engine::start(config).unwrap();
    let server = tokio::spawn({
        let engine = engine.clone();
        async move {
            gnomon_engine::api::serve(engine, listener).await.unwrap();
        }
    });
    Running {
        base,
        engine,
        http: reqwest::Client::new(),
        server,
    }
}

impl Running {
    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn submit(&self, actions: &[String]) -> Vec<Value> {
        let (status, body) = self
            .post("/v1/actions", json!({ "actions": actions }).to_string())
            .await;
        assert_eq!(status, 200, "{body}");
        body["results"].as_array().unwrap().clone()
    }

    async fn trader(&self, seed: u32, usdc: u64) -> Trader {
        let mut trader = Trader::new(seed, 0);
        let (status, body) = self
            .post(
                "/v1/dev/deposit",
                json!({"owner": trader.owner_hex(), "amount": usdc * 1_000_000}).to_string(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        trader.account = body["account"].as_u64().unwrap() as u32;
        trader
    }

    /// Waits until the oracle has priced market 0.
    async fn priced(&self) {
        for _ in 0..100 {
            let (_, markets) = self.get("/v1/markets").await;
            if markets["markets"][0]["index_price"].as_u64() > Some(0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no oracle price");
    }

    async fn stop(self) {
        self.server.abort();
        let _ = self.server.await;
        self.engine.shutdown().unwrap();
    }
}

fn place(trader: &mut Trader, side: Side, lots: u64, price: u64) -> String {
    trader.sign(Action::PlaceOrder(limit(
        0,
        side,
        lots,
        price,
        TimeInForce::GoodTillCancel,
    )))
}

fn code(result: &Value) -> &str {
    result["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_over_rest_and_websocket_with_clear_errors_and_a_recoverable_state() {
    let data = tempfile::tempdir().unwrap();
    let running = start(config(data.path())).await;
    running.priced().await;
    let (_, markets) = running.get("/v1/markets").await;
    let index = markets["markets"][0]["index_price"].as_u64().unwrap();
    // The margin tiers and fees, for clients that estimate requirements before submitting.
    let tiers = &markets["markets"][0]["margin_tiers"];
    assert_eq!(tiers[0]["notional_floor"], 0, "{markets}");
    assert_eq!(
        u64::from(1_000_000 / tiers[0]["initial_fraction"].as_u64().unwrap() as u32),
        markets["markets"][0]["max_leverage"].as_u64().unwrap()
    );
    assert!(markets["markets"][0]["taker_fee_rate"].is_i64());
    let tick = 10_000;
    let price = index - index % tick;

    let mut maker = running.trader(1, 10_000).await;
    let mut taker = running.trader(2, 30).await;

    // The faucet says why it credits nothing: another owner's account, an account that does
    // not exist.
    for (account, reason) in [
        (maker.account, "another owner"),
        (999, "neither an account nor the next new one"),
    ] {
        let (status, body) = running
            .post(
                "/v1/dev/deposit",
                json!({"owner": taker.owner_hex(), "amount": 1, "account": account}).to_string(),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["code"], "deposit_rejected");
        assert!(body["message"].as_str().unwrap().contains(reason), "{body}");
    }

    // A key finds its accounts (where its on-chain deposits go); a malformed key is refused.
    let (status, owned) = running
        .get(&format!("/v1/accounts?owner={}", maker.owner_hex()))
        .await;
    assert_eq!((status, owned), (200, json!({"accounts": [maker.account]})));
    let (status, owned) = running
        .get(&format!("/v1/accounts?owner={}", "ab".repeat(32)))
        .await;
    assert_eq!((status, owned), (200, json!({"accounts": []})));
    let (status, body) = running.get("/v1/accounts?owner=xyz").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("malformed_json"))
    );
    // Without a chain, the status names no settlement exchange.
    let (_, status) = running.get("/v1/status").await;
    assert_eq!(status["settlement"], Value::Null);

    // A resting ask, seen in the book with a sequence number.
    let results = running
        .submit(&[place(&mut maker, Side::Sell, 5, price)])
        .await;
    assert_eq!(results[0]["status"], "accepted", "{results:?}");
    let (status, book) = running.get("/v1/markets/0/book?depth=5").await;
    assert_eq!(status, 200);
    assert_eq!(book["asks"][0], json!([price, 5]));
    assert!(book["sequence"].as_u64().unwrap() >= 1);

    // The WebSocket: subscribe to the book and the taker's account, then take over it.
    let url = format!("{}/v1/ws", running.base.replace("http", "ws"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    for subscribe in [
        json!({"op": "subscribe", "channel": "book", "market": 0}),
        json!({"op": "subscribe", "channel": "account", "account": taker.account}),
        json!({"op": "subscribe", "channel": "trades", "market": 0}),
    ] {
        socket
            .send(Message::text(subscribe.to_string()))
            .await
            .unwrap();
    }
    let buy = place(&mut taker, Side::Buy, 2, price);
    socket
        .send(Message::text(
            json!({"op": "submit", "id": 7, "actions": [buy]}).to_string(),
        ))
        .await
        .unwrap();
    let (mut result, mut fill, mut delta, mut trade) = (None, None, None, None);
    while result.is_none() || fill.is_none() || delta.is_none() || trade.is_none() {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("messages within 10 s")
            .unwrap()
            .unwrap();
        let message: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
        match message["channel"].as_str().unwrap() {
            "result" => result = Some(message),
            "account" if message["event"]["event"]["Filled"].is_object() => fill = Some(message),
            "book" if message["delta"].is_object() => delta = Some(message),
            "trades" => trade = Some(message),
            _ => {}
        }
    }
    let result = result.unwrap();
    assert_eq!(result["id"], 7);
    assert_eq!(result["results"][0]["status"], "accepted");
    assert_eq!(fill.unwrap()["event"]["event"]["Filled"]["lots"], 2);
    let changes = &delta.unwrap()["delta"]["changes"];
    assert_eq!(
        changes[0],
        json!({"side": "Sell", "price": price, "lots": 3})
    );
    assert_eq!(trade.unwrap()["trade"]["event"]["Filled"]["price"], price);

    // The account view: a long of 2 with its liquidation price, the maker's open order.
    let (_, account) = running
        .get(&format!("/v1/accounts/{}", taker.account))
        .await;
    assert_eq!(account["positions"][0]["size"], 2);
    assert_eq!(account["positions"][0]["entry_price"], price);
    assert!(account["positions"][0]["liquidation_price"].is_u64());
    assert!(account["margin"]["free_collateral"].as_i64().unwrap() > 0);
    let (_, account) = running
        .get(&format!("/v1/accounts/{}", maker.account))
        .await;
    assert_eq!(account["open_orders"][0]["lots"], 3);
    let (_, trades) = running.get("/v1/markets/0/trades").await;
    assert_eq!(trades["trades"][0]["lots"], 2);
    let (_, candles) = running.get("/v1/markets/0/candles?interval=1h").await;
    let candle = &candles["candles"][0];
    assert_eq!(
        (&candle["close"], &candle["volume"]),
        (&json!(price), &json!(2))
    );
    assert!(candle["mark"].is_u64());
    // Each side's fill, in its account's history.
    let (_, fills) = running
        .get(&format!("/v1/accounts/{}/fills", taker.account))
        .await;
    let fill = &fills["fills"][0];
    assert_eq!(
        (
            &fill["side"],
            &fill["liquidity"],
            &fill["lots"],
            &fill["price"]
        ),
        (&json!("Buy"), &json!("taker"), &json!(2), &json!(price))
    );
    let (_, fills) = running
        .get(&format!("/v1/accounts/{}/fills?limit=1", maker.account))
        .await;
    assert_eq!(fills["fills"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&fills["fills"][0]["side"], &fills["fills"][0]["liquidity"]),
        (&json!("Sell"), &json!("maker"))
    );
    let (status, payments) = running
        .get(&format!("/v1/accounts/{}/funding", taker.account))
        .await;
    assert_eq!(
        (status, payments["payments"].as_array().map(Vec::len)),
        (200, Some(0))
    );

    // Errors: each with its stable code, none affecting the others.
    let replayed = {
        let mut stale = taker.clone();
        stale.nonce -= 1;
        place(&mut stale, Side::Buy, 1, price)
    };
    let mut forged = place(&mut taker, Side::Buy, 1, price);
    forged.replace_range(forged.len() - 2.., "00");
    let results = running
        .submit(&[
            replayed,
            forged,
            "zz".into(),
            "00".into(),
            place(&mut maker, Side::Sell, 1, price + tick),
        ])
        .await;
    assert_eq!(code(&results[0]), "StaleNonce", "{results:?}");
    assert_eq!(results[0]["status"], "rejected");
    assert_eq!(code(&results[1]), "bad_signature");
    assert_eq!(code(&results[2]), "malformed_action");
    assert_eq!(code(&results[3]), "malformed_action");
    assert_eq!(results[4]["status"], "accepted");
    let margin = running
        .submit(&[place(&mut taker, Side::Buy, 1_000, price)])
        .await;
    assert_eq!(code(&margin[0]), "InsufficientMargin");

    let (status, body) = running.post("/v1/actions", "{\"actions\": [").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("malformed_json"))
    );
    let (status, body) = running
        .post("/v1/actions", json!({"actions": vec!["00"; 6]}).to_string())
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("too_many_actions"))
    );
    let (status, body) = running.post("/v1/actions", "x".repeat(20_000)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let (status, body) = running.get("/v1/markets/9/book").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("unknown_market"))
    );
    let (status, body) = running.get("/v1/markets/0/candles?interval=7m").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("unknown_interval"))
    );
    for path in [
        "/v1/accounts/999",
        "/v1/accounts/999/fills",
        "/v1/accounts/999/funding",
    ] {
        let (status, body) = running.get(path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("unknown_account")),
            "{path}"
        );
    }
    socket
        .send(Message::text("{\"op\": \"dance\"}"))
        .await
        .unwrap();
    loop {
        let message = socket.next().await.unwrap().unwrap();
        let message: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
        if message["channel"] == "error" {
            assert_eq!(message["error"]["code"], "malformed_json");
            break;
        }
    }

    // Batches are cut on time and the guest reproduces each one under the executor.
    let mut executed = false;
    let mut executed_batch = Value::Null;
    for _ in 0..300 {
        let (_, batches) = running.get("/v1/batches").await;
        let statuses = batches["batches"].as_array().unwrap();
        assert!(
            statuses
                .iter()
                .all(|batch| batch["proof"]["status"] != "failed"),
            "{batches}"
        );
        if let Some(batch) = statuses
            .iter()
            .find(|batch| batch["proof"]["status"] == "executed")
        {
            executed_batch = batch.clone();
            // The sealed batch's steps and the state roots it moves between.
            let summary = &batch["summary"];
            assert!(summary["steps"].as_u64().unwrap() > 0, "{batch}");
            assert_eq!(summary["new_root"].as_str().unwrap().len(), 64, "{batch}");
            assert_ne!(summary["prior_root"], summary["new_root"], "{batch}");
            executed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(executed, "no batch was executed");

    // The batch in full: the header the guest committed, whose list hash covers the balances.
    let number = executed_batch["batch"].as_u64().unwrap();
    let (code, detail) = running.get(&format!("/v1/batches/{number}")).await;
    assert_eq!(code, 200, "{detail}");
    let header = hex::decode(detail["header"].as_str().unwrap()).unwrap();
    assert_eq!(header.len(), 304);
    assert_eq!(header[32..40], number.to_le_bytes());
    let balances = detail["balances"].as_array().unwrap();
    assert_eq!(header[232..236], (balances.len() as u32).to_le_bytes());
    assert_eq!(detail["proof"]["status"], "executed");
    let (code, missing) = running.get("/v1/batches/999999").await;
    assert_eq!(
        (code, &missing["code"]),
        (404, &Value::from("unknown_batch"))
    );

    // A restart recovers the acknowledged state, and recovery is deterministic.
    let (_, maker_before) = running
        .get(&format!("/v1/accounts/{}", maker.account))
        .await;
    let (_, taker_before) = running
        .get(&format!("/v1/accounts/{}", taker.account))
        .await;
    drop(socket);
    running.stop().await;
    let mut quiet = config(data.path());
    quiet.oracle.feed = gnomon_engine::config::FeedKind::None;
    quiet.batching.tick_interval_ms = 3_600_000;
    quiet.batching.liquidation_interval_ms = 3_600_000;
    quiet.batching.max_age_ms = 3_600_000;
    quiet.prover.workers = 0;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let running = start(quiet.clone()).await;
        let (_, status) = running.get("/v1/status").await;
        let (_, maker_after) = running
            .get(&format!("/v1/accounts/{}", maker.account))
            .await;
        let (_, taker_after) = running
            .get(&format!("/v1/accounts/{}", taker.account))
            .await;
        assert_eq!(maker_after["open_orders"], maker_before["open_orders"]);
        assert_eq!(taker_after["last_nonce"], taker_before["last_nonce"]);
        assert_eq!(taker_after["positions"][0]["size"], 2);
        let (_, trades) = running.get("/v1/markets/0/trades").await;
        assert_eq!(
            trades["trades"][0]["lots"], 2,
            "the trade history survives restarts"
        );
        // Sealed batches survive too, with their proving status.
        let (_, batches) = running.get("/v1/batches").await;
        let kept = batches["batches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|batch| batch["batch"] == executed_batch["batch"]);
        assert_eq!(kept, Some(&executed_batch), "{batches}");
        seen.push((status, maker_after, taker_after));
        running.stop().await;
    }
    assert_eq!(seen[0], seen[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_faucet_is_off_unless_configured_and_rate_limits_bite() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    config.api.dev_faucet = false;
    config.api.rate_per_second = 1;
    config.api.rate_burst = 2;
    config.prover.workers = 0;
    let running = start(config).await;
    let (status, body) = running
        .post(
            "/v1/dev/deposit",
            json!({"owner": "00", "amount": 1}).to_string(),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("faucet_disabled"))
    );
    let (status, document) = running.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/actions",
        "/v1/markets",
        "/v1/markets/{id}/book",
        "/v1/markets/{id}/trades",
        "/v1/markets/{id}/funding",
        "/v1/markets/{id}/candles",
        "/v1/accounts/{id}",
        "/v1/accounts/{id}/fills",
        "/v1/accounts/{id}/funding",
        "/v1/batches",
        "/v1/status",
        "/v1/dev/deposit",
    ] {
        assert!(
            document["paths"][path].is_object(),
            "{path} is not documented"
        );
    }
    assert!(document["components"]["schemas"]["AccountView"].is_object());

    let mut trader = Trader::new(3, 1);
    let actions: Vec<String> = (0..3)
        .map(|_| trader.sign(Action::CancelAll { market: None }))
        .collect();
    let results = running.submit(&actions).await;
    assert_eq!(code(&results[0]), "UnknownAccount");
    assert_eq!(code(&results[2]), "rate_limited");
    running.stop().await;
}

/// Requests of 50 actions the slow client's stream falls behind on: enough deltas to fill the
/// socket buffers and the client's share of the feed.
const ROUNDS: u64 = 800;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_and_never_stalls_the_engine() {
    let data = tempfile::tempdir().unwrap();
    let mut config = config(data.path());
    config.api.feed_buffer = 8;
    config.api.max_actions = 50;
    config.api.max_body_bytes = 64 * 1024;
    config.prover.workers = 0;
    let running = start(config).await;
    running.priced().await;
    let (_, markets) = running.get("/v1/markets").await;
    let index = markets["markets"][0]["index_price"].as_u64().unwrap();
    let price = index - index % 10_000;

    // Subscribes to the book, then never reads again; a small receive window makes the
    // server's writes back up soon.
    let url = format!("{}/v1/ws", running.base.replace("http", "ws"));
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket
        .connect(running.base.trim_start_matches("http://").parse().unwrap())
        .await
        .unwrap();
    let (mut slow, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    slow.send(Message::text(
        json!({"op": "subscribe", "channel": "book", "market": 0}).to_string(),
    ))
    .await
    .unwrap();

    // Every request changes the book; each must still be acknowledged promptly.
    let mut maker = running.trader(4, 1_000_000).await;
    for round in 0..ROUNDS {
        let actions: Vec<String> = (0..50)
            .map(|level| {
                // Each request replaces every level (even ticks, then odd ones), so each
                // group publishes a large delta.
                if level == 0 {
                    maker.sign(Action::CancelAll { market: Some(0) })
                } else {
                    let offset = (2 * level + round % 2) * 10_000;
                    place(&mut maker, Side::Sell, 1 + level, price + offset)
                }
            })
            .collect();
        let results = tokio::time::timeout(Duration::from_secs(10), running.submit(&actions))
            .await
            .expect("the engine keeps acknowledging");
        assert!(results.iter().all(|result| result["status"] == "accepted"));
    }

    // The slow client's stream ends with a `lagged` error (or is closed) once it reads again.
    let mut lagged = false;
    let mut count = 0;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), slow.next()).await;
        let Ok(Some(Ok(message))) = next else {
            eprintln!("end: {next:?}");
            break;
        };
        eprintln!(
            "{}",
            &message.to_text().unwrap_or("")[..message.len().min(200)]
        );
        count += 1;
        if let Ok(text) = message.to_text()
            && text.contains("\"lagged\"")
        {
            lagged = true;
        }
    }
    assert!(
        lagged,
        "the slow client was never told it lagged ({count} messages)"
    );
    running.stop().await;
}
