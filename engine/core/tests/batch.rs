//! Batches: the guest's replay from witnesses equals the engine's output, batches chain,
//! and every tampering is caught.

mod common;

use common::*;
use gnomon_core::action::{Action, Ed25519Verifier};
use gnomon_core::batch::{
    BatchError, BatchInput, BatchOutput, BatchWitness, Deposit, SealedBatch, Step, StepKind,
    verify_batch,
};
use gnomon_core::error::Fatal;
use gnomon_core::hash::NativePoseidon2;
use gnomon_core::order::Side;
use gnomon_core::tree::ProofError;

fn verify(sealed: &SealedBatch) -> Result<BatchOutput, BatchError> {
    verify_batch(
        &sealed.input,
        sealed.witness.clone(),
        &Ed25519Verifier,
        &NativePoseidon2::default(),
    )
}

fn trading_batch(h: &mut Harness) -> SealedBatch {
    let a = h.trader(1, 1_000);
    let b = h.trader(2, 1_000);
    h.oracle(0, usdc(100));
    h.sell(a, 5, usdc(100));
    h.buy(b, 3, usdc(100));
    h.act(
        b,
        Action::Withdraw {
            amount: 100 * USDC as u64,
        },
    );
    h.seal()
}

#[test]
fn the_guest_reproduces_the_engine_and_batches_chain() {
    let mut h = Harness::new(vec![unit_market()]);
    let first = trading_batch(&mut h);
    assert_eq!(verify(&first), Ok(first.output.clone()));
    assert_eq!(first.output.batch_number, 1);
    assert_eq!(first.output.deposits.first_sequence, 0);
    assert_eq!(first.output.deposits.end_sequence, 2);
    assert_eq!(first.output.withdrawals.len(), 1);
    assert_eq!(
        first
            .output
            .balances
            .iter()
            .map(|balance| balance.account)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );

    let c = h.trader(3, 500);
    h.market_order(c, Side::Buy, 2, usdc(101));
    let second = h.seal();
    assert_eq!(second.input.prior_root, first.output.new_root);
    assert_eq!(
        second.output.deposits.chain_before,
        first.output.deposits.chain_after
    );
    assert_eq!(verify(&second), Ok(second.output.clone()));
    assert_eq!(second.output.new_root, h.ledger.root());

    // An empty batch still advances the number and commits the same accounts.
    let empty = h.seal();
    assert!(empty.input.steps.is_empty());
    assert_eq!(verify(&empty), Ok(empty.output.clone()));

    // Everything round-trips through borsh.
    let bytes = borsh::to_vec(&second.input).unwrap();
    assert_eq!(
        borsh::from_slice::<BatchInput>(&bytes).unwrap(),
        second.input
    );
    let bytes = borsh::to_vec(&second.witness).unwrap();
    assert_eq!(
        borsh::from_slice::<BatchWitness>(&bytes).unwrap(),
        second.witness
    );
    let bytes = borsh::to_vec(&second.output).unwrap();
    assert_eq!(
        borsh::from_slice::<BatchOutput>(&bytes).unwrap(),
        second.output
    );
}

#[test]
fn tampering_is_caught() {
    let mut h = Harness::new(vec![unit_market()]);
    trading_batch(&mut h);
    // A second batch, over accounts 1 and 2 that now exist.
    h.sell(1, 2, usdc(100));
    h.buy(2, 2, usdc(100));
    let sealed = h.seal();
    assert_eq!(verify(&sealed), Ok(sealed.output.clone()));

    let mut wrong_root = sealed.clone();
    wrong_root.input.prior_root[0] ^= 1;
    assert_eq!(verify(&wrong_root), Err(BatchError::PriorRootMismatch));

    let mut wrong_number = sealed.clone();
    wrong_number.input.batch_number = 5;
    assert_eq!(verify(&wrong_number), Err(BatchError::WrongBatchNumber));

    let mut richer = sealed.clone();
    let witness = richer
        .witness
        .accounts
        .iter_mut()
        .find(|account| account.prior.is_some())
        .unwrap();
    witness.prior.as_mut().unwrap().collateral += 1;
    assert!(matches!(
        verify(&richer),
        Err(BatchError::Proof(ProofError::RootMismatch))
    ));

    let mut global = sealed.clone();
    global.witness.global.fees_collected += 1;
    assert_eq!(verify(&global), Err(BatchError::PriorRootMismatch));

    let mut missing = sealed.clone();
    missing.witness.accounts.retain(|account| account.id != 1);
    assert_eq!(
        verify(&missing),
        Err(BatchError::Step(Fatal::MissingWitness(1)))
    );

    let mut non_canonical = sealed.clone();
    non_canonical.witness.accounts[0].proof.siblings[3][0] = u32::MAX;
    assert_eq!(
        verify(&non_canonical),
        Err(BatchError::Proof(ProofError::NonCanonical))
    );

    let mut dropped_step = sealed.clone();
    dropped_step.input.steps.pop();
    assert_ne!(
        verify(&dropped_step).map(|output| output.new_root),
        Ok(sealed.output.new_root)
    );
}

#[test]
fn invalid_steps_are_refused_and_change_nothing() {
    let mut h = Harness::new(vec![unit_market()]);
    h.trader(1, 1_000);
    let before = h.exchange().clone();
    let verifier = Ed25519Verifier;
    let owner = key(1).verifying_key().to_bytes();
    let deposit = |sequence, account| {
        StepKind::Deposit(Deposit {
            sequence,
            owner,
            amount: 1,
            account,
        })
    };
    let step = |timestamp_ms, kind| Step { timestamp_ms, kind };
    let attempts = [
        (step(h.now - 1, deposit(1, 1)), Fatal::TimestampRegression),
        (step(h.now, deposit(0, 1)), Fatal::DepositOutOfSequence),
        (step(h.now, deposit(1, 7)), Fatal::DepositAccountInvalid),
        (
            step(
                h.now,
                StepKind::Deposit(Deposit {
                    sequence: 1,
                    owner: [9; 32],
                    amount: 1,
                    account: 1,
                }),
            ),
            Fatal::DepositOwnerMismatch,
        ),
        (
            step(
                h.now,
                StepKind::Deposit(Deposit {
                    sequence: 1,
                    owner,
                    amount: u64::MAX,
                    account: 1,
                }),
            ),
            Fatal::DepositTooLarge,
        ),
    ];
    for (step, error) in attempts {
        assert_eq!(h.ledger.apply_step(step, &verifier), Err(error));
        assert_eq!(h.exchange(), &before);
    }
    // The refused steps are not part of the batch.
    let sealed = h.seal();
    assert_eq!(sealed.input.steps.len(), 1);
    assert_eq!(verify(&sealed), Ok(sealed.output.clone()));
}
