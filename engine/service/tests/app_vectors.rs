//! Vectors for the web app's action encoder (app/src/borsh.ts, app/src/sign.ts): several
//! actions of every kind, signed with fixed development keys, rendered to
//! app/test/fixtures/actions.json. The app's tests check that they produce the same bytes;
//! this test fails when the committed file is stale (rerun with `GNOMON_BLESS=1`). The same for
//! the settlement program's side of the app (app/src/lib/chain.ts): its account layouts, the
//! addresses it derives and the instructions a trader signs, rendered by the program's own
//! client to app/test/fixtures/settlement.json.

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
    let detail = gnomon_engine::api::views::BatchDetail::of(&sealed, None, None, None);
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

/// An instruction as the app builds it: program, accounts with their roles, data.
fn describe_instruction(
    instruction: &anchor_lang::solana_program::instruction::Instruction,
) -> Value {
    json!({
        "programId": instruction.program_id.to_string(),
        "accounts": instruction.accounts.iter().map(|meta| json!({
            "address": meta.pubkey.to_string(),
            "signer": meta.is_signer,
            "writable": meta.is_writable,
        })).collect::<Vec<_>>(),
        "dataHex": hex::encode(&instruction.data),
    })
}

/// The program's accounts and instructions as a trader's browser meets them, every field
/// distinct so that a misplaced offset shows.
fn render_settlement() -> String {
    use anchor_lang::AccountSerialize as _;
    use anchor_lang::prelude::Pubkey;
    use settlement::state::{Exchange, QueuedDeposit, Trader};

    let mint = Pubkey::new_from_array([7; 32]);
    let owner = Pubkey::new_from_array(public_key(5));
    let owner_token = anchor_spl::associated_token::get_associated_token_address(&owner, &mint);
    let exchange_address = settlement::client::exchange_address(&mint);
    let account = 3;
    let mut exchange = Exchange {
        version: 1,
        bump: 254,
        vault_bump: 253,
        paused: true,
        escaped: false,
        exchange_id: EXCHANGE_ID,
        admin: Pubkey::new_from_array([1; 32]),
        operator: Pubkey::new_from_array([2; 32]),
        collateral_mint: mint,
        vault: settlement::client::vault_address(&exchange_address),
        program_commitment: std::array::from_fn(|index| (index as u8).wrapping_mul(37) & 0x3f),
        pending_commitment: [4; 32],
        rotation_slot: 0x0102,
        rotation_delay_slots: 0x0304,
        state_root: std::array::from_fn(|index| index as u8),
        last_batch: 12,
        applied_batch: 11,
        deposit_count: 40,
        deposit_chain: [5; 32],
        consumed_deposits: 38,
        consumed_chain: [6; 32],
        last_settlement_slot: 0x0506,
        escape_delay_slots: 0x0708,
        ..Exchange::default()
    };
    exchange.deposit_queue[0] = QueuedDeposit {
        owner,
        amount: 9,
        chain_after: [8; 32],
        reclaimed: true,
    };
    let trader = Trader {
        version: 1,
        bump: 252,
        exchange: exchange_address,
        account,
        owner,
        collateral: -17,
        claimable: 250_000_000,
        last_batch: 12,
        staged_collateral: 1_000,
        has_staged_collateral: true,
        staged_withdrawal: 75_000_000,
    };
    let serialize = |account: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = Vec::new();
        account(&mut bytes);
        hex::encode(bytes)
    };
    let document = json!({
        "comment": "Rendered by engine/service/tests/app_vectors.rs (GNOMON_BLESS=1 to update).",
        "program": settlement::ID.to_string(),
        "mint": mint.to_string(),
        "owner": owner.to_string(),
        "ownerToken": owner_token.to_string(),
        "account": account,
        "exchange": exchange_address.to_string(),
        "vault": exchange.vault.to_string(),
        "trader": settlement::client::trader_address(&exchange_address, account).to_string(),
        "exchangeAccount": {
            "hex": serialize(&|bytes| exchange.try_serialize(bytes).unwrap()),
            "paused": exchange.paused,
            "escaped": exchange.escaped,
            "exchangeId": hex::encode(exchange.exchange_id),
            "collateralMint": mint.to_string(),
            "vault": exchange.vault.to_string(),
            "stateRoot": hex::encode(exchange.state_root),
            "programCommitment": hex::encode(exchange.program_commitment),
            "programCommitmentInput": hex::encode(
                gnomon_settlement_verifier::inputs::commitment_input(&exchange.program_commitment).unwrap(),
            ),
            "lastBatch": exchange.last_batch.to_string(),
            "appliedBatch": exchange.applied_batch.to_string(),
            "depositCount": exchange.deposit_count.to_string(),
            "consumedDeposits": exchange.consumed_deposits.to_string(),
            "lastSettlementSlot": exchange.last_settlement_slot.to_string(),
            "escapeDelaySlots": exchange.escape_delay_slots.to_string(),
        },
        "traderAccount": {
            "hex": serialize(&|bytes| trader.try_serialize(bytes).unwrap()),
            "account": trader.account,
            "owner": owner.to_string(),
            "collateral": trader.collateral.to_string(),
            "claimable": trader.claimable.to_string(),
            "lastBatch": trader.last_batch.to_string(),
            "stagedCollateral": trader.staged_collateral.to_string(),
            "hasStagedCollateral": trader.has_staged_collateral,
            "stagedWithdrawal": trader.staged_withdrawal.to_string(),
        },
        "deposit": {
            "amount": "2500000000",
            "instruction": describe_instruction(&settlement::client::deposit(&owner, &mint, &owner_token, 2_500_000_000)),
        },
        "claim": describe_instruction(&settlement::client::claim_withdrawal(&owner, &mint, account, &owner_token)),
    });
    serde_json::to_string_pretty(&document).unwrap() + "\n"
}

#[test]
fn the_app_settlement_vector_is_current() {
    check_fixture("settlement.json", &render_settlement());
}
