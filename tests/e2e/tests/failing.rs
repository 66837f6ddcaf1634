//! Batches the guest must refuse: each one exits non-zero with the reason on stderr and
//! commits nothing, so no proof of a valid transition can exist for it. The reason is the
//! one the native replay (`verify_batch`) gives.

use gnomon_core::action::{Action, Ed25519Verifier};
use gnomon_core::batch::{BatchInput, BatchWitness, SealedBatch, StepKind, verify_batch};
use gnomon_core::hash::NativePoseidon2;
use gnomon_core::order::{Side, TimeInForce};
use gnomon_core::sha256::SoftSha256;
use gnomon_e2e::{assert_guest_reproduces, run};
use gnomon_guest_abi::exit;
use gnomon_sim::{Sim, USDC, limit, sign, unit_market, usdc};

/// A second batch over two funded traders: two deposits, an oracle price, a trade and a
/// withdrawal. Returns it with the sim it came from.
fn valid_batch() -> (Sim, SealedBatch) {
    let mut sim = Sim::new(vec![unit_market()]);
    let a = sim.trader(1, 1_000);
    let b = sim.trader(2, 1_000);
    sim.seal();
    sim.advance(1_000);
    sim.deposit(a, 10 * USDC);
    sim.deposit(b, 10 * USDC);
    sim.oracle(0, usdc(100));
    sim.sell(a, 2, usdc(100));
    sim.buy(b, 2, usdc(100));
    sim.act(
        a,
        Action::Withdraw {
            amount: 5 * USDC as u64,
        },
    );
    let batch = sim.seal();
    assert_guest_reproduces(&batch);
    (sim, batch)
}

/// Step indices of the valid batch.
const DEPOSIT_A: usize = 0;
const DEPOSIT_B: usize = 1;
const ORACLE: usize = 2;
const SELL: usize = 3;
const BUY: usize = 4;

fn assert_refused(input: &BatchInput, witness: &BatchWitness, reason: &str) {
    let native = verify_batch(
        input,
        witness.clone(),
        &Ed25519Verifier,
        &NativePoseidon2::default(),
        &SoftSha256,
    )
    .expect_err("the native replay refuses it too");
    let execution = run(input, witness);
    let stderr = String::from_utf8_lossy(&execution.stderr);
    let halt = execution.halt().expect("the guest halts");
    assert_eq!(halt.exit_code, exit::PANIC, "{stderr}");
    assert!(execution.journal.is_empty(), "nothing is committed");
    assert!(
        stderr.contains(&native.to_string()) && stderr.contains(reason),
        "expected {native} ({reason}), the guest said: {stderr}"
    );
}

fn trader_step(batch: &mut SealedBatch, index: usize) -> &mut gnomon_core::action::SignedAction {
    match &mut batch.input.steps[index].kind {
        StepKind::Trader(signed) => signed,
        other => panic!("step {index} is {other:?}"),
    }
}

#[test]
fn a_bad_trader_signature() {
    let (_, mut batch) = valid_batch();
    trader_step(&mut batch, SELL).signature[5] ^= 1;
    assert_refused(
        &batch.input,
        &batch.witness,
        "step 3 is refused: signature does not verify",
    );
}

#[test]
fn a_bad_oracle_signature() {
    let (_, mut batch) = valid_batch();
    let StepKind::Oracle(signed) = &mut batch.input.steps[ORACLE].kind else {
        panic!("step {ORACLE} is an oracle update");
    };
    signed.update.price += 10_000;
    assert_refused(
        &batch.input,
        &batch.witness,
        "step 2 is refused: signature does not verify",
    );
}

#[test]
fn an_unknown_account() {
    let (_, mut batch) = valid_batch();
    let forged = sign(1, 999, 1, Action::CancelAll { market: None });
    *trader_step(&mut batch, SELL) = forged;
    assert_refused(&batch.input, &batch.witness, "unknown account");
}

#[test]
fn a_replayed_action() {
    let (_, mut batch) = valid_batch();
    let replay = batch.input.steps[SELL].clone();
    batch.input.steps.insert(BUY, replay);
    assert_refused(&batch.input, &batch.witness, "nonce already used");
}

#[test]
fn an_order_the_margin_rules_reject() {
    // The engine refused it (and recorded a tick); a batch that applies it anyway fails.
    let (mut sim, _) = valid_batch();
    sim.advance(1_000);
    let greedy = sim.signed(
        1,
        Action::PlaceOrder(limit(
            0,
            Side::Buy,
            1_000,
            usdc(100),
            TimeInForce::GoodTillCancel,
        )),
    );
    let outcome = sim.try_step(StepKind::Trader(greedy.clone())).unwrap();
    assert!(outcome.refused.is_some());
    let mut batch = sim.seal();
    assert_guest_reproduces(&batch);
    assert!(matches!(batch.input.steps[0].kind, StepKind::Tick));
    batch.input.steps[0].kind = StepKind::Trader(greedy);
    assert_refused(&batch.input, &batch.witness, "insufficient margin");
}

#[test]
fn a_wrong_prior_root() {
    let (_, mut batch) = valid_batch();
    batch.input.prior_root[3] ^= 1;
    assert_refused(
        &batch.input,
        &batch.witness,
        "the witness does not match the prior root",
    );
}

#[test]
fn a_wrong_batch_number() {
    let (_, mut batch) = valid_batch();
    batch.input.batch_number += 1;
    assert_refused(&batch.input, &batch.witness, "batch number");
}

#[test]
fn deposits_out_of_order() {
    let (_, mut batch) = valid_batch();
    batch.input.steps.swap(DEPOSIT_A, DEPOSIT_B);
    assert_refused(
        &batch.input,
        &batch.witness,
        "deposit out of queue sequence",
    );
}

#[test]
fn time_going_back() {
    let (_, mut batch) = valid_batch();
    batch.input.steps[BUY].timestamp_ms = batch.input.steps[SELL].timestamp_ms - 1;
    assert_refused(&batch.input, &batch.witness, "timestamp before");
}

#[test]
fn a_witness_that_lies_about_an_account() {
    let (_, mut batch) = valid_batch();
    let account = batch
        .witness
        .accounts
        .iter_mut()
        .find(|account| account.prior.is_some())
        .unwrap();
    account.prior.as_mut().unwrap().collateral += 1;
    assert_refused(&batch.input, &batch.witness, "witness proof");
}

#[test]
fn a_witness_that_withholds_an_account() {
    let (_, mut batch) = valid_batch();
    batch.witness.accounts.retain(|account| account.id != 2);
    assert_refused(
        &batch.input,
        &batch.witness,
        "account 2 is not in the witness",
    );
}
