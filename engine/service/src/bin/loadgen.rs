//! `gnomon-loadgen`: drives simulated traders against a running engine over WebSocket and
//! reports acknowledged orders per second and latency percentiles (submission to
//! acknowledgment, and submission to the fill event on the trader's account stream).
//!
//! Every action is signed before the clock starts, so the figures measure the engine, not
//! the generator's signing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use gnomon_core::action::Action;
use gnomon_core::order::{Side, TimeInForce};
use gnomon_engine::client::Trader;
use gnomon_sim::{Rng, limit};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Parser)]
struct Arguments {
    /// The engine's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Simulated traders, one WebSocket each.
    #[arg(long, default_value_t = 8)]
    traders: u32,
    /// Actions each trader submits.
    #[arg(long, default_value_t = 20_000)]
    actions: usize,
    /// Actions per submission.
    #[arg(long, default_value_t = 10)]
    per_request: usize,
    /// Submissions a trader keeps in flight.
    #[arg(long, default_value_t = 4)]
    in_flight: usize,
    /// Seeds of the traders' development keys start here.
    #[arg(long, default_value_t = 1_000)]
    first_seed: u32,
}

#[derive(Debug, Default)]
struct Tally {
    accepted: u64,
    rejected: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    ack_latency: Vec<Duration>,
    fill_latency: Vec<Duration>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let http = reqwest::Client::new();
    let price = oracle_price(&http, &arguments.url).await?;
    let mut scripts = Vec::new();
    for index in 0..arguments.traders {
        let mut trader = Trader::new(arguments.first_seed + index, 0);
        let reply: Value = http
            .post(format!("{}/v1/dev/deposit", arguments.url))
            .json(&json!({"owner": trader.owner_hex(), "amount": 1_000_000_000_000u64}))
            .send()
            .await?
            .json()
            .await?;
        trader.account = reply["account"]
            .as_u64()
            .with_context(|| format!("the faucet said {reply}"))? as u32;
        scripts.push(script(&mut trader, price, &arguments));
    }
    eprintln!(
        "{} traders, {} actions each, {} per request, {} in flight; signed, starting",
        arguments.traders, arguments.actions, arguments.per_request, arguments.in_flight
    );
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (account, requests) in scripts {
        let url = format!("{}/v1/ws", arguments.url.replacen("http", "ws", 1));
        tasks.push(tokio::spawn(drive(
            url,
            account,
            requests,
            arguments.in_flight,
        )));
    }
    let mut tally = Tally::default();
    for task in tasks {
        let part = task.await??;
        tally.accepted += part.accepted;
        for (code, count) in part.rejected {
            *tally.rejected.entry(code).or_default() += count;
        }
        for (code, count) in part.errors {
            *tally.errors.entry(code).or_default() += count;
        }
        tally.ack_latency.extend(part.ack_latency);
        tally.fill_latency.extend(part.fill_latency);
    }
    let elapsed = start.elapsed();
    report(&tally, elapsed);
    Ok(())
}

async fn oracle_price(http: &reqwest::Client, url: &str) -> anyhow::Result<u64> {
    for _ in 0..100 {
        let markets: Value = http
            .get(format!("{url}/v1/markets"))
            .send()
            .await?
            .json()
            .await?;
        if let Some(price) = markets["markets"][0]["index_price"]
            .as_u64()
            .filter(|&p| p > 0)
        {
            return Ok(price - price % 10_000);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("market 0 has no oracle price")
}

/// A trader's requests: limit orders around `price` (some crossing, so trades happen) and a
/// cancel of everything every 20 actions, so open orders stay under the per-account cap.
fn script(trader: &mut Trader, price: u64, arguments: &Arguments) -> (u32, Vec<Value>) {
    let mut rng = Rng::new(u64::from(trader.seed));
    let actions: Vec<String> = (0..arguments.actions)
        .map(|index| {
            if index % 20 == 19 {
                return trader.sign(Action::CancelAll { market: Some(0) });
            }
            let side = if rng.chance(50) {
                Side::Buy
            } else {
                Side::Sell
            };
            let offset = rng.below(20) * 10_000;
            let limit_price = match side {
                Side::Buy => price + 50_000 - offset,
                Side::Sell => price - 50_000 + offset,
            };
            let request = limit(
                0,
                side,
                1 + rng.below(5),
                limit_price,
                TimeInForce::GoodTillCancel,
            );
            trader.sign(Action::PlaceOrder(request))
        })
        .collect();
    let requests = actions
        .chunks(arguments.per_request.max(1))
        .enumerate()
        .map(|(id, chunk)| json!({"op": "submit", "id": id, "actions": chunk}))
        .collect();
    (trader.account, requests)
}

async fn drive(
    url: String,
    account: u32,
    requests: Vec<Value>,
    in_flight: usize,
) -> anyhow::Result<Tally> {
    let (socket, _) = tokio_tungstenite::connect_async_with_config(&url, None, true).await?;
    let (mut sink, mut stream) = socket.split();
    sink.send(Message::text(
        json!({"op": "subscribe", "channel": "account", "account": account}).to_string(),
    ))
    .await?;
    let mut tally = Tally::default();
    let mut sent: BTreeMap<u64, Instant> = BTreeMap::new();
    // Log positions of this trader's fills: when the submission was sent, when the event came.
    let mut fill_sent: BTreeMap<u64, Instant> = BTreeMap::new();
    let mut fill_seen: BTreeMap<u64, Instant> = BTreeMap::new();
    let mut next = 0;
    let total = requests.len();
    let mut done = 0;
    while done < total {
        while next < total && sent.len() < in_flight {
            sent.insert(next as u64, Instant::now());
            sink.send(Message::text(requests[next].to_string())).await?;
            next += 1;
        }
        let Some(message) = stream.next().await else {
            bail!("the engine closed the socket");
        };
        let now = Instant::now();
        let message: Value = serde_json::from_str(message?.to_text()?)?;
        match message["channel"].as_str() {
            Some("result") => {
                let id = message["id"].as_u64().context("result id")?;
                let start = sent
                    .remove(&id)
                    .context("a result for a request in flight")?;
                tally.ack_latency.push(now - start);
                done += 1;
                if let Some(error) = message.get("error") {
                    *tally.errors.entry(error["code"].to_string()).or_default() += 1;
                    continue;
                }
                for result in message["results"].as_array().into_iter().flatten() {
                    match result["status"].as_str() {
                        Some("accepted") => {
                            tally.accepted += 1;
                            let filled =
                                result["events"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .any(|event| {
                                        event["Filled"]["taker_account"].as_u64()
                                            == Some(u64::from(account))
                                    });
                            if let (true, Some(position)) = (filled, result["position"].as_u64()) {
                                fill_sent.insert(position, start);
                            }
                        }
                        Some("rejected") => {
                            *tally
                                .rejected
                                .entry(result["error"]["code"].to_string())
                                .or_default() += 1
                        }
                        _ => {
                            *tally
                                .errors
                                .entry(result["error"]["code"].to_string())
                                .or_default() += 1
                        }
                    }
                }
            }
            Some("account") if message["event"]["event"]["Filled"].is_object() => {
                if let Some(position) = message["event"]["position"].as_u64() {
                    fill_seen.entry(position).or_insert(now);
                }
            }
            Some("error") => bail!("the engine said {message}"),
            _ => {}
        }
    }
    for (position, start) in fill_sent {
        if let Some(seen) = fill_seen.get(&position) {
            tally
                .fill_latency
                .push(seen.saturating_duration_since(start));
        }
    }
    Ok(tally)
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn report(tally: &Tally, elapsed: Duration) {
    let mut acks = tally.ack_latency.clone();
    acks.sort();
    let mut fills = tally.fill_latency.clone();
    fills.sort();
    let rejected: u64 = tally.rejected.values().sum();
    let acknowledged = tally.accepted + rejected;
    let line = |name: &str, sorted: &[Duration]| {
        println!(
            "{name}: p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms ({} samples)",
            percentile(sorted, 0.50).as_secs_f64() * 1e3,
            percentile(sorted, 0.99).as_secs_f64() * 1e3,
            percentile(sorted, 0.999).as_secs_f64() * 1e3,
            sorted.len()
        )
    };
    println!(
        "acknowledged {acknowledged} actions ({} accepted, {rejected} rejected) in {:.2} s: {:.0} per second",
        tally.accepted,
        elapsed.as_secs_f64(),
        acknowledged as f64 / elapsed.as_secs_f64()
    );
    println!(
        "rejections: {:?}; errors: {:?}",
        tally.rejected, tally.errors
    );
    line("submission to acknowledgment", &acks);
    line("submission to fill event", &fills);
}
