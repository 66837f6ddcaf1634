//! Batches: the guest's replay from witnesses equals the engine's output, batches chain,
//! and every tampering is caught.

use gnomon_core::action::{Action, Ed25519Verifier};
use gnomon_core::batch::{
    BatchError, BatchInput, BatchOutput, BatchWitness, Deposit, SealedBatch, Step, StepKind,
    public_input, verify_batch,
};
use gnomon_core::error::{Fatal, RejectReason};
use gnomon_core::hash::NativePoseidon2;
use gnomon_core::order::Side;
use gnomon_core::sha256::SoftSha256;
use gnomon_core::tree::ProofError;
use gnomon_sim::*;

fn verify(sealed: &SealedBatch) -> Result<BatchOutput, BatchError> {
    verify_batch(
        &sealed.input,
        sealed.witness.clone(),
        &Ed25519Verifier,
        &NativePoseidon2::default(),
        &SoftSha256,
    )
}

fn trading_batch(h: &mut Sim) -> SealedBatch {
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
    let mut h = Sim::new(vec![unit_market()]);
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
    let mut h = Sim::new(vec![unit_market()]);
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
        Err(BatchError::Step {
            index: 0,
            error: Fatal::MissingWitness(1)
        })
    );

    let mut non_canonical = sealed.clone();
    non_canonical.witness.proof.siblings[3][0] = u32::MAX;
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
    let mut h = Sim::new(vec![unit_market()]);
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

#[test]
fn refused_steps_are_recorded_as_ticks_and_the_guest_refuses_them() {
    let mut h = Sim::new(vec![unit_market()]);
    let a = h.trader(1, 1_000);
    h.oracle(0, usdc(100));
    h.advance(500);
    let mut forged = h.signed(a, Action::CancelAll { market: None });
    forged.signature[0] ^= 1;
    let outcome = h.try_step(StepKind::Trader(forged.clone())).unwrap();
    assert_eq!(outcome.refused, Some(RejectReason::BadSignature));
    h.advance(500);
    // Far too large for the account's margin: refused too.
    let greedy = h.signed(
        a,
        Action::PlaceOrder(limit(
            0,
            Side::Buy,
            1_000,
            usdc(100),
            gnomon_core::order::TimeInForce::GoodTillCancel,
        )),
    );
    let outcome = h.try_step(StepKind::Trader(greedy.clone())).unwrap();
    assert_eq!(outcome.refused, Some(RejectReason::InsufficientMargin));
    let sealed = h.seal();
    let kinds: Vec<_> = sealed.input.steps.iter().map(|step| &step.kind).collect();
    assert!(matches!(
        kinds[..],
        [
            StepKind::Deposit(_),
            StepKind::Oracle(_),
            StepKind::Tick,
            StepKind::Tick
        ]
    ));
    assert_eq!(sealed.output.time.end_ms, h.now);
    assert_eq!(verify(&sealed), Ok(sealed.output.clone()));

    for (index, step, reason) in [
        (2, forged, RejectReason::BadSignature),
        (3, greedy, RejectReason::InsufficientMargin),
    ] {
        let mut batch = sealed.clone();
        batch.input.steps[index].kind = StepKind::Trader(step);
        assert_eq!(
            verify(&batch),
            Err(BatchError::Refused {
                index: index as u32,
                reason
            })
        );
    }
}

#[test]
fn oracle_updates_chain_and_the_last_signature_vouches_for_the_batch() {
    let mut h = Sim::new(vec![unit_market(), unit_market()]);
    h.oracle(0, usdc(100));
    h.oracle(1, usdc(50));
    let before = h.seal();
    for price in [101, 102, 103] {
        h.advance(1_000);
        h.oracle(0, usdc(price));
    }
    // An update the oracle did not sign is refused whole: the chain does not move.
    let mut forged = h.oracle_update(0, usdc(150));
    forged.signature[1] ^= 1;
    assert_eq!(
        h.try_step(StepKind::Oracle(forged)).unwrap().refused,
        Some(RejectReason::BadSignature)
    );
    h.advance(1_000);
    h.oracle(1, usdc(51));
    let sealed = h.seal();
    assert_eq!(verify(&sealed), Ok(sealed.output.clone()));
    assert_ne!(sealed.output.oracle_digest, before.output.oracle_digest);
    assert_eq!(h.exchange().market(0).unwrap().state.index_price, usdc(103));

    let oracle_step =
        |batch: &mut SealedBatch, index: usize| match &mut batch.input.steps[index].kind {
            StepKind::Oracle(signed) => *signed,
            other => panic!("not an oracle step: {other:?}"),
        };
    let set = |batch: &mut SealedBatch, index: usize, signed| {
        batch.input.steps[index].kind = StepKind::Oracle(signed);
    };
    // Steps: 0, 1, 2 oracle(0); 3 tick (the forged one); 4 oracle(1).
    let mut garbled = sealed.clone();
    let mut first = oracle_step(&mut garbled, 0);
    first.signature = [7; 64];
    set(&mut garbled, 0, first);
    assert_eq!(
        verify(&garbled),
        Ok(sealed.output.clone()),
        "an earlier update's signature is implied by the last one's"
    );
    let mut moved = sealed.clone();
    let mut first = oracle_step(&mut moved, 0);
    first.update.price += 10_000;
    set(&mut moved, 0, first);
    assert_eq!(
        verify(&moved),
        Err(BatchError::Refused {
            index: 2,
            reason: RejectReason::BadSignature
        }),
        "but a changed price breaks the chain the last signature covers"
    );
    let mut dropped = sealed.clone();
    dropped.input.steps.remove(1);
    assert_eq!(
        verify(&dropped),
        Err(BatchError::Refused {
            index: 1,
            reason: RejectReason::BadSignature
        }),
        "and so does a skipped update"
    );
}

#[test]
fn the_output_names_the_exchange_its_time_and_its_public_input() {
    let mut h = Sim::new(vec![unit_market()]);
    let start = h.now;
    h.trader(1, 10);
    h.advance(2_500);
    h.oracle(0, usdc(100));
    let sealed = h.seal();
    let output = &sealed.output;
    assert_eq!(output.exchange_id, EXCHANGE_ID);
    assert_eq!(
        (output.time.start_ms, output.time.end_ms),
        (0, start + 2_500)
    );
    let empty = h.seal();
    assert_eq!(
        (empty.output.time.start_ms, empty.output.time.end_ms),
        (start + 2_500, start + 2_500)
    );

    let bytes = borsh::to_vec(output).unwrap();
    // The fixed-size fields sit at their documented offsets.
    assert_eq!(bytes[..32], output.exchange_id);
    assert_eq!(bytes[32..40], output.batch_number.to_le_bytes());
    assert_eq!(bytes[104..112], output.time.start_ms.to_le_bytes());
    assert_eq!(
        bytes[120..128],
        output.deposits.first_sequence.to_le_bytes()
    );
    assert_eq!(bytes[200..232], output.oracle_digest);
    assert_eq!(
        bytes[232..236],
        (output.balances.len() as u32).to_le_bytes()
    );

    // The header is the fixed-size fields, then each list's length and list hash.
    use sha2::Digest as _;
    let header = output.header();
    assert_eq!(header[..232], bytes[..232]);
    assert!(!output.balances.is_empty());
    fn list_hash<T: borsh::BorshSerialize>(entries: &[T]) -> [u8; 32] {
        entries.iter().rev().fold([0; 32], |tail, entry| {
            let bytes = [borsh::to_vec(entry).unwrap().as_slice(), &tail].concat();
            sha2::Sha256::digest(bytes).into()
        })
    }
    assert_eq!(
        header[232..236],
        (output.balances.len() as u32).to_le_bytes()
    );
    assert_eq!(header[236..268], list_hash(&output.balances));
    assert_eq!(
        header[268..272],
        (output.withdrawals.len() as u32).to_le_bytes()
    );
    assert_eq!(header[272..304], list_hash(&output.withdrawals));
    let sha: [u8; 32] = sha2::Sha256::digest(header).into();
    let digest = output.digest();
    assert_eq!(digest, public_input(&sha));
    assert_eq!(digest[0], 0, "248 bits: below the BN254 scalar field");
    assert_eq!(digest[1..], sha[1..]);
}
