//! Vectors for the web app's action encoder (app/src/borsh.ts, app/src/sign.ts): several
//! actions of every kind, signed with fixed development keys, rendered to
//! app/test/fixtures/actions.json. The app's tests check that they produce the same bytes;
//! this test fails when the committed file is stale (rerun with `GNOMON_BLESS=1`).

use gnomon_core::action::{Action, OrderRequest, SessionKey, action_message};
use gnomon_core::order::{Execution, SelfTradePrevention, Side, TimeInForce, Trigger, TriggerKind};
use gnomon_engine::client::encode;
use gnomon_sim::{EXCHANGE_ID, public_key, sign};
use serde_json::{Value, json};

fn side(side: Side) -> &'static str {
    match side {
        Side::Buy => "Buy",
        Side::Sell => "Sell",
    }
}

/// The action as the app describes it (u64 values as decimal strings).
fn describe(action: &Action) -> Value {
    match *action {
        Action::PlaceOrder(order) => {
            let execution = match order.execution {
                Execution::Limit {
                    price,
                    time_in_force,
                } => json!({
                    "kind": "Limit",
                    "price": price.to_string(),
                    "timeInForce": format!("{time_in_force:?}"),
                }),
                Execution::Market { worst_price } => {
                    json!({"kind": "Market", "worstPrice": worst_price.to_string()})
                }
            };
            let trigger = order.trigger.map(|trigger| {
                json!({"kind": format!("{:?}", trigger.kind), "price": trigger.price.to_string()})
            });
            json!({
                "kind": "PlaceOrder",
                "order": {
                    "market": order.market,
                    "side": side(order.side),
                    "lots": order.lots.to_string(),
                    "execution": execution,
                    "trigger": trigger,
                    "reduceOnly": order.reduce_only,
                    "clientOrderId": order.client_order_id.to_string(),
                    "selfTrade": format!("{:?}", order.self_trade),
                }
            })
        }
        Action::Cancel { market, order_id } => {
            json!({"kind": "Cancel", "market": market, "orderId": order_id.to_string()})
        }
        Action::CancelByClientId {
            market,
            client_order_id,
        } => json!({
            "kind": "CancelByClientId",
            "market": market,
            "clientOrderId": client_order_id.to_string(),
        }),
        Action::CancelAll { market } => json!({"kind": "CancelAll", "market": market}),
        Action::Modify {
            market,
            order_id,
            price,
            lots,
        } => json!({
            "kind": "Modify",
            "market": market,
            "orderId": order_id.to_string(),
            "price": price.to_string(),
            "lots": lots.to_string(),
        }),
        Action::Withdraw { amount } => json!({"kind": "Withdraw", "amount": amount.to_string()}),
        Action::SetSessionKey { session } => json!({
            "kind": "SetSessionKey",
            "session": session.map(|session| json!({
                "key": hex::encode(session.key),
                "expiresMs": session.expires_ms.to_string(),
            })),
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn order(
    market: u16,
    side: Side,
    lots: u64,
    execution: Execution,
    trigger: Option<Trigger>,
    reduce_only: bool,
    client_order_id: u64,
    self_trade: SelfTradePrevention,
) -> Action {
    Action::PlaceOrder(OrderRequest {
        market,
        side,
        lots,
        execution,
        trigger,
        reduce_only,
        client_order_id,
        self_trade,
    })
}

fn limit(price: u64, time_in_force: TimeInForce) -> Execution {
    Execution::Limit {
        price,
        time_in_force,
    }
}

fn actions() -> Vec<(u32, u32, u64, Action)> {
    use SelfTradePrevention::{ExpireBoth, ExpireMaker, ExpireTaker};
    use TimeInForce::{FillOrKill, GoodTillCancel, ImmediateOrCancel, PostOnly};
    let stop = |price| Trigger {
        kind: TriggerKind::StopLoss,
        price,
    };
    let take = |price| Trigger {
        kind: TriggerKind::TakeProfit,
        price,
    };
    vec![
        (
            1,
            1,
            1,
            order(
                0,
                Side::Buy,
                5,
                limit(100_000_000, GoodTillCancel),
                None,
                false,
                0,
                ExpireMaker,
            ),
        ),
        (
            1,
            1,
            2,
            order(
                0,
                Side::Sell,
                1,
                limit(99_990_000, PostOnly),
                None,
                false,
                7,
                ExpireTaker,
            ),
        ),
        (
            2,
            2,
            1,
            order(
                1,
                Side::Buy,
                1 << 40,
                limit(1 << 40, ImmediateOrCancel),
                None,
                true,
                u64::MAX,
                ExpireBoth,
            ),
        ),
        (
            2,
            2,
            2,
            order(
                0,
                Side::Sell,
                3,
                limit(10_000, FillOrKill),
                None,
                false,
                1,
                ExpireMaker,
            ),
        ),
        (
            3,
            7,
            9,
            order(
                0,
                Side::Buy,
                2,
                Execution::Market {
                    worst_price: 120_000_000,
                },
                None,
                false,
                0,
                ExpireMaker,
            ),
        ),
        (
            3,
            7,
            10,
            order(
                0,
                Side::Sell,
                2,
                Execution::Market { worst_price: 1 },
                Some(stop(95_000_000)),
                true,
                42,
                ExpireMaker,
            ),
        ),
        (
            3,
            7,
            11,
            order(
                1,
                Side::Sell,
                4,
                limit(2_100_000_000, GoodTillCancel),
                Some(take(2_050_000_000)),
                true,
                43,
                ExpireTaker,
            ),
        ),
        (
            1,
            1,
            3,
            Action::Cancel {
                market: 0,
                order_id: 17,
            },
        ),
        (
            1,
            1,
            u64::MAX,
            Action::Cancel {
                market: 1,
                order_id: u64::MAX,
            },
        ),
        (
            2,
            2,
            3,
            Action::CancelByClientId {
                market: 0,
                client_order_id: 7,
            },
        ),
        (2, 2, 4, Action::CancelAll { market: None }),
        (2, 2, 5, Action::CancelAll { market: Some(1) }),
        (
            1,
            1,
            4,
            Action::Modify {
                market: 0,
                order_id: 3,
                price: 100_010_000,
                lots: 2,
            },
        ),
        (1, 1, 5, Action::Withdraw { amount: 1_000_000 }),
        (3, 7, 12, Action::Withdraw { amount: u64::MAX }),
        (
            1,
            1,
            6,
            Action::SetSessionKey {
                session: Some(SessionKey {
                    key: public_key(99),
                    expires_ms: 1_800_000_000_000,
                }),
            },
        ),
        (1, 1, 7, Action::SetSessionKey { session: None }),
    ]
}

fn render() -> String {
    let cases: Vec<Value> = actions()
        .into_iter()
        .map(|(seed, account, nonce, action)| {
            let signed = sign(seed, account, nonce, action);
            json!({
                "seed": seed,
                "publicKey": hex::encode(public_key(seed)),
                "account": account,
                "nonce": nonce.to_string(),
                "action": describe(&action),
                "actionHex": hex::encode(borsh::to_vec(&action).unwrap()),
                "messageHex": hex::encode(action_message(&EXCHANGE_ID, account, nonce, &action)),
                "signedHex": encode(&signed),
            })
        })
        .collect();
    let document = json!({
        "comment": "Rendered by engine/service/tests/app_vectors.rs (GNOMON_BLESS=1 to update).",
        "exchangeId": hex::encode(EXCHANGE_ID),
        "cases": cases,
    });
    serde_json::to_string_pretty(&document).unwrap() + "\n"
}

#[test]
fn the_app_action_vectors_are_current() {
    check_fixture("actions.json", &render());
}

/// A sealed batch as `GET /v1/batches/{number}` shows it, for the app's check of a settled
/// balance against the committed header (app/src/lib/batch.ts).
fn render_batch() -> String {
    let mut sim = gnomon_sim::Sim::new(vec![gnomon_sim::unit_market()]);
    for (seed, usdc) in [(1, 1_500), (2, 250), (3, 10_000)] {
        sim.trader(seed, usdc);
    }
    sim.advance(1_000);
    sim.tick();
    let sealed = sim.seal();
    let detail = gnomon_engine::api::views::BatchDetail::of(&sealed, None, None);
    let mut document = serde_json::to_value(detail).unwrap();
    document["comment"] =
        json!("Rendered by engine/service/tests/app_vectors.rs (GNOMON_BLESS=1 to update).");
    serde_json::to_string_pretty(&document).unwrap() + "\n"
}

/// Fails when `file` under app/test/fixtures is not `rendered` (and rewrites it with
/// `GNOMON_BLESS=1`).
fn check_fixture(file: &str, rendered: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../app/test/fixtures")
        .join(file);
    if std::env::var("GNOMON_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, rendered).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "app/test/fixtures/{file} is stale: rerun with GNOMON_BLESS=1"
    );
}

#[test]
fn the_app_batch_vector_is_current() {
    check_fixture("batch.json", &render_batch());
}
