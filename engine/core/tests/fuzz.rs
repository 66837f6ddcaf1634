//! Fuzzing with proptest: the decoders never panic on arbitrary or mutated bytes, and the
//! state machine never panics (and keeps its invariants) on arbitrary actions, including
//! extreme numbers and steps an operator could feed it.
//!
//! `tests/corpus/steps.hex` is the kept corpus: one valid borsh-encoded `Step` per line,
//! covering every step and action kind. It seeds the mutations, and it pins the wire layout:
//! `wire_layout_is_stable` fails if an encoding changes (rerun with `GNOMON_BLESS=1` to
//! rewrite the file after an intended layout change). Failing cases proptest finds are kept
//! in `proptest-regressions/`.

use gnomon_core::action::{
    Action, AdminAction, Ed25519Verifier, OrderRequest, SessionKey, SignedAdminAction,
    SignedOracleUpdate,
};
use gnomon_core::batch::{BatchInput, BatchWitness, Deposit, Step, StepKind};
use gnomon_core::book::Book;
use gnomon_core::exchange::{Exchange, GlobalState};
use gnomon_core::market::MarketStatus;
use gnomon_core::order::{Execution, SelfTradePrevention, Side, TimeInForce, Trigger, TriggerKind};
use gnomon_core::prices::OracleUpdate;
use gnomon_sim::*;
use proptest::prelude::*;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/steps.hex");

fn seed_steps() -> Vec<Step> {
    let request = OrderRequest {
        market: 0,
        side: Side::Buy,
        lots: 3,
        execution: Execution::Limit {
            price: 100_000_000,
            time_in_force: TimeInForce::GoodTillCancel,
        },
        trigger: None,
        reduce_only: false,
        client_order_id: 7,
        self_trade: SelfTradePrevention::ExpireMaker,
    };
    let stop = OrderRequest {
        side: Side::Sell,
        execution: Execution::Market {
            worst_price: 90_000_000,
        },
        trigger: Some(Trigger {
            kind: TriggerKind::StopLoss,
            price: 95_000_000,
        }),
        reduce_only: true,
        self_trade: SelfTradePrevention::ExpireBoth,
        ..request
    };
    let actions = [
        Action::PlaceOrder(request),
        Action::PlaceOrder(stop),
        Action::Cancel {
            market: 0,
            order_id: 5,
        },
        Action::CancelByClientId {
            market: 0,
            client_order_id: 7,
        },
        Action::CancelAll { market: None },
        Action::CancelAll { market: Some(0) },
        Action::Modify {
            market: 0,
            order_id: 5,
            price: 99_990_000,
            lots: 2,
        },
        Action::Withdraw { amount: 1_000_000 },
        Action::SetSessionKey {
            session: Some(SessionKey {
                key: public_key(77),
                expires_ms: 3_600_000,
            }),
        },
        Action::SetSessionKey { session: None },
    ];
    let mut steps: Vec<Step> = actions
        .into_iter()
        .enumerate()
        .map(|(nonce, action)| Step {
            timestamp_ms: 1_000,
            kind: StepKind::Trader(sign(1, 1, nonce as u64 + 1, action)),
        })
        .collect();
    steps.push(Step {
        timestamp_ms: 1_000,
        kind: StepKind::Oracle(sign_oracle(
            &[0; 32],
            OracleUpdate {
                market: 0,
                price: 100_000_000,
                publish_time_ms: 1_000,
            },
        )),
    });
    steps.push(Step {
        timestamp_ms: 1_000,
        kind: StepKind::Deposit(Deposit {
            sequence: 0,
            owner: key(1).verifying_key().to_bytes(),
            amount: 5_000_000,
            account: 1,
        }),
    });
    steps.push(Step {
        timestamp_ms: 1_000,
        kind: StepKind::Liquidate {
            account: 1,
            deleverage: vec![(0, vec![2, 3])],
        },
    });
    steps.push(Step {
        timestamp_ms: 1_000,
        kind: StepKind::Admin(SignedAdminAction {
            nonce: 1,
            action: AdminAction::SetMarketStatus {
                market: 0,
                status: MarketStatus::ReduceOnly,
            },
            signature: [3; 64],
        }),
    });
    steps.push(Step {
        timestamp_ms: 1_000,
        kind: StepKind::Admin(SignedAdminAction {
            nonce: 2,
            action: AdminAction::AddMarket(unit_market()),
            signature: [4; 64],
        }),
    });
    steps.push(Step {
        timestamp_ms: 2_000,
        kind: StepKind::Tick,
    });
    steps
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(line: &str) -> Vec<u8> {
    (0..line.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&line[i..i + 2], 16).expect("hex"))
        .collect()
}

fn corpus() -> Vec<Vec<u8>> {
    std::fs::read_to_string(CORPUS)
        .expect("the corpus file")
        .lines()
        .filter(|line| !line.is_empty())
        .map(unhex)
        .collect()
}

#[test]
fn wire_layout_is_stable() {
    let encoded: Vec<String> = seed_steps()
        .iter()
        .map(|step| hex(&borsh::to_vec(step).unwrap()))
        .collect();
    if std::env::var_os("GNOMON_BLESS").is_some() {
        std::fs::write(CORPUS, encoded.join("\n") + "\n").unwrap();
    }
    let kept: Vec<String> = corpus().iter().map(|bytes| hex(bytes)).collect();
    assert_eq!(
        kept, encoded,
        "the borsh layout of steps changed; rerun with GNOMON_BLESS=1 if intended"
    );
    for bytes in corpus() {
        let step: Step = borsh::from_slice(&bytes).expect("every corpus entry decodes");
        assert_eq!(borsh::to_vec(&step).unwrap(), bytes);
    }
}

/// A ledger with two funded traders, a priced market and a few resting orders.
fn populated() -> Sim {
    let mut h = Sim::new(vec![unit_market()]);
    h.fund_insurance(100);
    let a = h.trader(1, 10_000);
    let b = h.trader(2, 10_000);
    h.oracle(0, usdc(100));
    h.buy(a, 5, usdc(99));
    h.sell(b, 5, usdc(101));
    h.sell(b, 2, usdc(100));
    h.buy(a, 2, usdc(100));
    h
}

fn assert_sound(exchange: &Exchange) {
    assert!(exchange.balance_sheet().balanced());
    let book = &exchange.market(0).unwrap().book;
    if let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) {
        assert!(bid < ask);
    }
}

/// Applies decoded steps, signed or not: only checks that nothing panics and the invariants
/// hold (an invalid step may be refused). Oracle updates with an all-zero signature are
/// signed against the market's current chain first, so that their prices reach the guards.
fn apply_steps(h: &mut Sim, steps: Vec<Step>) {
    for mut step in steps {
        if let StepKind::Oracle(signed) = &mut step.kind
            && signed.signature == [0; 64]
        {
            *signed = h.sign_oracle(signed.update);
        }
        step.timestamp_ms = step.timestamp_ms.max(h.now);
        if let Ok(_events) = h.ledger.apply_step(step.clone(), &Ed25519Verifier) {
            h.now = step.timestamp_ms;
        }
        assert_sound(h.exchange());
    }
}

fn mutate(seed: &[u8], edits: &[(usize, u8, u8)], cut: usize) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for &(position, value, kind) in edits {
        if bytes.is_empty() {
            bytes.push(value);
            continue;
        }
        let position = position % bytes.len();
        match kind % 3 {
            0 => bytes[position] ^= value,
            1 => bytes.insert(position, value),
            _ => {
                bytes.remove(position);
            }
        }
    }
    bytes.truncate(bytes.len().saturating_sub(cut % 4));
    bytes
}

fn arbitrary_price() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(1u64 << 40),
        Just((1u64 << 40) + 1),
        99_000_000..101_000_000u64,
        any::<u64>()
    ]
}

fn arbitrary_lots() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(1u64 << 40),
        1..50u64,
        any::<u64>()
    ]
}

fn arbitrary_action() -> impl Strategy<Value = Action> {
    let tif = prop_oneof![
        Just(TimeInForce::GoodTillCancel),
        Just(TimeInForce::ImmediateOrCancel),
        Just(TimeInForce::FillOrKill),
        Just(TimeInForce::PostOnly)
    ];
    let execution = prop_oneof![
        (arbitrary_price(), tif).prop_map(|(price, time_in_force)| Execution::Limit {
            price,
            time_in_force
        }),
        arbitrary_price().prop_map(|worst_price| Execution::Market { worst_price }),
    ];
    let trigger = prop::option::of((any::<bool>(), arbitrary_price()).prop_map(
        |(take_profit, price)| Trigger {
            kind: if take_profit {
                TriggerKind::TakeProfit
            } else {
                TriggerKind::StopLoss
            },
            price,
        },
    ));
    let stp = prop_oneof![
        Just(SelfTradePrevention::ExpireMaker),
        Just(SelfTradePrevention::ExpireTaker),
        Just(SelfTradePrevention::ExpireBoth)
    ];
    let market = prop_oneof![Just(0u16), any::<u16>()];
    let request = (
        market.clone(),
        any::<bool>(),
        arbitrary_lots(),
        execution,
        trigger,
        any::<bool>(),
        any::<u64>(),
        stp,
    )
        .prop_map(
            |(market, buy, lots, execution, trigger, reduce_only, client_order_id, self_trade)| {
                OrderRequest {
                    market,
                    side: if buy { Side::Buy } else { Side::Sell },
                    lots,
                    execution,
                    trigger,
                    reduce_only,
                    client_order_id: client_order_id % 4,
                    self_trade,
                }
            },
        );
    prop_oneof![
        4 => request.prop_map(Action::PlaceOrder),
        1 => (market.clone(), 0..20u64).prop_map(|(market, order_id)| Action::Cancel { market, order_id }),
        1 => (market.clone(), 0..4u64).prop_map(|(market, client_order_id)| Action::CancelByClientId { market, client_order_id }),
        1 => prop::option::of(market.clone()).prop_map(|market| Action::CancelAll { market }),
        2 => (market, 0..20u64, arbitrary_price(), arbitrary_lots())
            .prop_map(|(market, order_id, price, lots)| Action::Modify { market, order_id, price, lots }),
        1 => prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>(), 0..20_000_000_000u64].prop_map(|amount| Action::Withdraw { amount }),
    ]
}

fn arbitrary_step() -> impl Strategy<Value = StepKind> {
    prop_oneof![
        (any::<u16>(), arbitrary_price(), any::<u64>()).prop_map(
            |(market, price, publish_time_ms)| {
                // Signed against the market's chain when applied (see `apply_steps`).
                StepKind::Oracle(SignedOracleUpdate {
                    update: OracleUpdate {
                        market: market % 3,
                        price,
                        publish_time_ms: publish_time_ms % 3_000_000,
                    },
                    signature: [0; 64],
                })
            }
        ),
        (
            0..5u32,
            prop::collection::vec((0..3u16, prop::collection::vec(0..6u32, 0..4)), 0..3)
        )
            .prop_map(|(account, deleverage)| StepKind::Liquidate {
                account,
                deleverage
            }),
        (
            0..6u32,
            prop_oneof![
                Just(0u64),
                Just(u64::MAX),
                Just(i64::MAX as u64),
                any::<u64>()
            ]
        )
            .prop_map(|(account, amount)| StepKind::Deposit(Deposit {
                sequence: 0,
                owner: key(1).verifying_key().to_bytes(),
                amount,
                account
            })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = borsh::from_slice::<Step>(&bytes);
        let _ = borsh::from_slice::<Action>(&bytes);
        let _ = borsh::from_slice::<BatchInput>(&bytes);
        let _ = borsh::from_slice::<BatchWitness>(&bytes);
        let _ = borsh::from_slice::<GlobalState>(&bytes);
        let _ = borsh::from_slice::<Book>(&bytes);
    }

    #[test]
    fn mutated_corpus_entries_never_panic(
        pick in any::<usize>(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..6),
        cut in any::<usize>(),
    ) {
        let corpus = corpus();
        let seed = &corpus[pick % corpus.len()];
        let bytes = mutate(seed, &edits, cut);
        if let Ok(step) = borsh::from_slice::<Step>(&bytes) {
            let mut h = populated();
            apply_steps(&mut h, vec![step]);
        }
        let _ = borsh::from_slice::<BatchInput>(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary actions skip signatures through the engine's authenticated entry point, so
    /// that they reach the state machine proper.
    #[test]
    fn the_state_machine_never_panics_on_arbitrary_actions(
        actions in prop::collection::vec((0..5u32, any::<u64>(), arbitrary_action()), 1..40),
        steps in prop::collection::vec(arbitrary_step(), 0..6),
    ) {
        let mut h = populated();
        let mut exchange = h.exchange().clone();
        let mut now = h.now;
        for (account, nonce, action) in &actions {
            now += 10;
            let result = exchange.apply_authorized(*account, *nonce % 1_000, action, now);
            prop_assert!(result.is_ok());
            assert_sound(&exchange);
        }
        apply_steps(&mut h, steps.into_iter().map(|kind| Step { timestamp_ms: 2_000, kind }).collect());
    }
}
