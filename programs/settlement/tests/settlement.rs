//! The settlement program in solana-program-test: every instruction, every refusal, and full
//! batch cycles with real Groth16 proofs. One test crate (program-test is expensive to build).

mod harness;

use anchor_lang::InstructionData;
use gnomon_settlement_verifier::batch as core;
use gnomon_settlement_verifier::test_circuit;
use harness::{Harness, code, commitment, custom_error, wire_size};
use settlement::error::SettlementError as E;
use settlement::state::{DEPOSIT_QUEUE_CAPACITY, Exchange, PendingBatch, Trader};
use settlement::{BalanceChunk, BatchHeader, SettledBalance, Withdrawal, WithdrawalChunk};
use solana_keypair::Keypair;
use solana_signer::Signer;

fn balance(account: u32, owner: &Keypair, collateral: i64) -> SettledBalance {
    SettledBalance {
        account,
        owner: owner.pubkey(),
        collateral,
    }
}

fn withdrawal(account: u32, owner: &Keypair, amount: u64) -> Withdrawal {
    Withdrawal {
        account,
        owner: owner.pubkey(),
        amount,
    }
}

/// Anchor's own error for a PDA whose seeds do not match (`ConstraintSeeds`).
const ANCHOR_CONSTRAINT_SEEDS: u32 = 2006;

#[tokio::test]
async fn initialize_records_the_configuration_and_refuses_bad_parameters() {
    let mut h = Harness::new().await;
    let exchange = h.exchange_state().await;
    assert_eq!(exchange.version, 1);
    assert_eq!(exchange.admin, h.admin.pubkey());
    assert_eq!(exchange.operator, h.operator.pubkey());
    assert_eq!(exchange.collateral_mint, h.mint);
    assert_eq!(exchange.vault, h.vault);
    assert_eq!(exchange.program_commitment, h.program);
    assert_eq!(
        exchange.verifying_key,
        (&test_circuit::verifying_key()).into()
    );
    assert_eq!(exchange.state_root, harness::GENESIS_ROOT);
    assert_eq!((exchange.last_batch, exchange.deposit_count), (0, 0));
    let account = h
        .chain
        .ctx
        .banks_client
        .get_account(h.exchange)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.data.len(), Exchange::SIZE);
    // Both instructions that carry a verifying key fit a transaction.
    let admin = h.admin.insecure_clone();
    let initialize = h.initialize_ix(&h.params());
    let rotate = h.admin_ix(
        &admin.pubkey(),
        settlement::instruction::RotateProgram {
            program_commitment: commitment(2),
            verifying_key: h.params().verifying_key,
        }
        .data(),
    );
    for ix in [initialize, rotate] {
        assert!(wire_size(&h.transaction(&[ix], &[&admin])) <= 1_232);
    }
    assert_eq!(h.token_balance(&h.vault.clone()).await, 0);

    // A second exchange on another mint: bad parameters are refused.
    h.mint = h.chain.create_mint(6).await.unwrap();
    h.exchange = anchor_lang::prelude::Pubkey::find_program_address(
        &[b"exchange", h.mint.as_ref()],
        &settlement::ID,
    )
    .0;
    h.vault = anchor_lang::prelude::Pubkey::find_program_address(
        &[b"vault", h.exchange.as_ref()],
        &settlement::ID,
    )
    .0;
    let admin = h.admin.insecure_clone();
    let mut params = h.params();
    params.program_commitment[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    let result = h.send(&[h.initialize_ix(&params)], &[&admin]).await;
    assert_eq!(custom_error(&result), Some(code(E::NonCanonicalCommitment)));
    let mut params = h.params();
    params.escape_delay_slots = 0;
    let result = h.send(&[h.initialize_ix(&params)], &[&admin]).await;
    assert_eq!(custom_error(&result), Some(code(E::InvalidDelay)));
    // A key with a point off its curve, or a degenerate one (an identity point), is never
    // recorded.
    let mut off_curve = h.params();
    off_curve.verifying_key.ic[1][63] ^= 1;
    let mut identity = h.params();
    identity.verifying_key.delta_g2 = [0; 128];
    for params in [off_curve, identity] {
        let result = h.send(&[h.initialize_ix(&params)], &[&admin]).await;
        assert_eq!(custom_error(&result), Some(code(E::InvalidVerifyingKey)));
    }
    let params = h.params();
    h.send(&[h.initialize_ix(&params)], &[&admin])
        .await
        .expect("valid parameters");
}

#[tokio::test]
async fn admin_instructions_need_the_admin() {
    let mut h = Harness::new().await;
    let admin = h.admin.insecure_clone();
    let intruder = Keypair::new();
    h.fund(&intruder.pubkey(), 1_000_000_000).await;
    let new_operator = Keypair::new().pubkey();

    let set_operator = settlement::instruction::SetOperator {
        operator: new_operator,
    }
    .data();
    h.refuse(
        &[h.admin_ix(&intruder.pubkey(), set_operator.clone())],
        &[&intruder],
        code(E::NotAdmin),
    )
    .await;
    h.send(&[h.admin_ix(&admin.pubkey(), set_operator)], &[&admin])
        .await
        .expect("the admin sets the operator");
    assert_eq!(h.exchange_state().await.operator, new_operator);

    let pause = settlement::instruction::SetPaused { paused: true }.data();
    h.refuse(
        &[h.admin_ix(&intruder.pubkey(), pause.clone())],
        &[&intruder],
        code(E::NotAdmin),
    )
    .await;
    h.send(&[h.admin_ix(&admin.pubkey(), pause)], &[&admin])
        .await
        .unwrap();
    assert!(h.exchange_state().await.paused);

    let key = h.params().verifying_key;
    let mut bad_key = key;
    bad_key.beta_g2[100] ^= 1;
    let rotations = [
        (&intruder, commitment(2), key, E::NotAdmin),
        (&admin, [0xff; 32], key, E::NonCanonicalCommitment),
        (&admin, commitment(2), bad_key, E::InvalidVerifyingKey),
    ];
    for (signer, program_commitment, verifying_key, refusal) in rotations {
        let rotate = settlement::instruction::RotateProgram {
            program_commitment,
            verifying_key,
        }
        .data();
        h.refuse(
            &[h.admin_ix(&signer.pubkey(), rotate)],
            &[signer],
            code(refusal),
        )
        .await;
    }
}

#[tokio::test]
async fn deposits_fill_the_vault_and_the_chain_and_refuse_bad_accounts() {
    let mut h = Harness::new().await;
    let alice = h.trader_wallet(1_000_000).await;
    h.deposit(&alice, 250_000).await;
    h.deposit(&alice, 50_000).await;
    assert_eq!(h.token_balance(&h.vault.clone()).await, 300_000);
    assert_eq!(h.token_balance(&alice.token).await, 700_000);
    let exchange = h.exchange_state().await;
    let owner = alice.keypair.pubkey().to_bytes();
    let chain = core::deposit_chain_next(
        &core::deposit_chain_next(&[0; 32], 0, &owner, 250_000),
        1,
        &owner,
        50_000,
    );
    assert_eq!((exchange.deposit_count, exchange.deposit_chain), (2, chain));
    assert_eq!(exchange.deposit_queue[1].amount, 50_000);

    let signer = alice.keypair.insecure_clone();
    // Another mint's token account.
    let other_mint = h.chain.create_mint(6).await.unwrap();
    let foreign = h
        .chain
        .token_account(&other_mint, &alice.keypair.pubkey(), 1_000)
        .await
        .unwrap();
    let ix = h.deposit_ix_with(&alice.keypair.pubkey(), &foreign, &h.vault, 1_000);
    h.refuse(&[ix], &[&signer], code(E::WrongMint)).await;
    // A token account of the right mint that is not the vault.
    let mint = h.mint;
    let decoy = h
        .chain
        .token_account(&mint, &alice.keypair.pubkey(), 0)
        .await
        .unwrap();
    let ix = h.deposit_ix_with(&alice.keypair.pubkey(), &alice.token, &decoy, 1_000);
    h.refuse(&[ix], &[&signer], code(E::WrongVault)).await;
    h.refuse(&[h.deposit_ix(&alice, 0)], &[&signer], code(E::ZeroAmount))
        .await;

    // More than the engine can credit.
    let whale = h.trader_wallet(1 << 63).await;
    let whale_signer = whale.keypair.insecure_clone();
    h.refuse(
        &[h.deposit_ix(&whale, 1 << 63)],
        &[&whale_signer],
        code(E::AmountTooLarge),
    )
    .await;

    // Paused.
    let admin = h.admin.insecure_clone();
    h.send(
        &[h.admin_ix(
            &admin.pubkey(),
            settlement::instruction::SetPaused { paused: true }.data(),
        )],
        &[&admin],
    )
    .await
    .unwrap();
    h.refuse(&[h.deposit_ix(&alice, 1)], &[&signer], code(E::Paused))
        .await;
    h.send(
        &[h.admin_ix(
            &admin.pubkey(),
            settlement::instruction::SetPaused { paused: false }.data(),
        )],
        &[&admin],
    )
    .await
    .unwrap();

    // The queue holds DEPOSIT_QUEUE_CAPACITY deposits until a batch consumes them.
    for _ in 2..DEPOSIT_QUEUE_CAPACITY {
        let ix = h.deposit_ix(&alice, 1);
        h.send(&[ix], &[&signer]).await.unwrap();
    }
    h.refuse(
        &[h.deposit_ix(&alice, 1)],
        &[&signer],
        code(E::DepositQueueFull),
    )
    .await;
    let batch = h
        .next_batch(vec![balance(1, &alice.keypair, 300_030)], vec![])
        .await;
    h.settle(&batch).await;
    h.deposit(&alice, 1).await;
}

#[tokio::test]
async fn a_full_batch_cycle_with_real_proofs() {
    let mut h = Harness::new().await;
    let alice = h.trader_wallet(1_000_000).await;
    let bob = h.trader_wallet(1_000_000).await;
    h.deposit(&alice, 600_000).await;
    h.deposit(&bob, 400_000).await;

    // Batch 1 credits the deposits (accounts 1 and 2; 0 is the insurance fund).
    let batch1 = h
        .next_batch(
            vec![
                balance(1, &alice.keypair, 600_000),
                balance(2, &bob.keypair, 400_000),
            ],
            vec![],
        )
        .await;
    let proof = h.prove(&h.program.clone(), &batch1.header);
    let operator = h.operator.insecure_clone();
    let submit = h.submit_ix(&operator.pubkey(), &batch1.header, &proof);
    let transaction = h.transaction(std::slice::from_ref(&submit), &[&operator]);
    let size = wire_size(&transaction);
    eprintln!(
        "submit_batch transaction: {size} bytes, instruction data {} bytes",
        submit.data.len()
    );
    assert!(
        size <= 1_232,
        "submit_batch must fit a transaction: {size} bytes"
    );
    h.chain
        .ctx
        .banks_client
        .process_transaction(transaction)
        .await
        .expect("batch 1 accepted");
    let exchange = h.exchange_state().await;
    assert_eq!((exchange.last_batch, exchange.applied_batch), (1, 0));
    assert_eq!(exchange.state_root, batch1.header.new_root);
    assert_eq!(exchange.consumed_deposits, 2);
    let pending: PendingBatch = h.pending_state(1).await.expect("pending");
    assert_eq!((pending.balance_count, pending.balances_applied), (2, 0));

    // Two chunks, in order; staged until the batch completes.
    let ix = h.apply_ix(&batch1, 0..1, 0..0);
    h.send(&[ix], &[&operator]).await.expect("chunk 1");
    let alice_account: Trader = h.trader_state(1).await.expect("created");
    assert_eq!(
        (alice_account.collateral, alice_account.staged_collateral),
        (0, 600_000)
    );
    assert_eq!(alice_account.owner, alice.keypair.pubkey());
    let ix = h.apply_ix(&batch1, 1..2, 0..0);
    h.send(&[ix], &[&operator])
        .await
        .expect("the chunk applies");
    let exchange = h.exchange_state().await;
    assert_eq!(exchange.applied_batch, 1);
    assert!(
        h.pending_state(1).await.is_none(),
        "the pending batch is closed"
    );

    // Batch 2: alice withdraws 100,000 and pays bob 50,000 of PnL.
    let batch2 = h
        .next_batch(
            vec![
                balance(1, &alice.keypair, 450_000),
                balance(2, &bob.keypair, 450_000),
            ],
            vec![withdrawal(1, &alice.keypair, 100_000)],
        )
        .await;
    assert_eq!(batch2.header.prior_root, batch1.header.new_root);
    h.submit(&batch2).await;
    // Claims see nothing until the batch is fully applied.
    let ix = h.apply_ix(&batch2, 0..0, 0..1);
    h.send(&[ix], &[&operator]).await.expect("withdrawal chunk");
    let alice_signer = alice.keypair.insecure_clone();
    h.refuse(
        &[h.claim_ix(&alice, 1)],
        &[&alice_signer],
        code(E::NothingToClaim),
    )
    .await;
    let ix = h.apply_ix(&batch2, 0..2, 1..1);
    h.send(&[ix], &[&operator]).await.expect("balance chunk");

    let before = h.token_balance(&alice.token).await;
    h.send(&[h.claim_ix(&alice, 1)], &[&alice_signer])
        .await
        .expect("claim");
    assert_eq!(h.token_balance(&alice.token).await, before + 100_000);
    assert_eq!(h.token_balance(&h.vault.clone()).await, 900_000);
    let alice_account = h.trader_state(1).await.unwrap();
    assert_eq!(
        (
            alice_account.collateral,
            alice_account.claimable,
            alice_account.last_batch
        ),
        (450_000, 0, 2)
    );
    h.refuse(
        &[h.claim_ix(&alice, 1)],
        &[&alice_signer],
        code(E::NothingToClaim),
    )
    .await;

    // An empty batch settles in one empty chunk.
    let batch3 = h.next_batch(vec![], vec![]).await;
    h.settle(&batch3).await;
    assert_eq!(h.exchange_state().await.applied_batch, 3);
}

#[tokio::test]
async fn submit_batch_refuses_every_bad_batch() {
    let mut h = Harness::new().await;
    let alice = h.trader_wallet(1_000_000).await;
    h.deposit(&alice, 100).await;
    let operator = h.operator.insecure_clone();
    let program = h.program;
    let good = h
        .next_batch(vec![balance(1, &alice.keypair, 100)], vec![])
        .await;
    let proof = h.prove(&program, &good.header);

    // Wrong signer.
    let intruder = Keypair::new();
    h.fund(&intruder.pubkey(), 1_000_000_000).await;
    h.refuse(
        &[h.submit_ix(&intruder.pubkey(), &good.header, &proof)],
        &[&intruder],
        code(E::NotOperator),
    )
    .await;
    // Tampered proof.
    let mut tampered = proof;
    tampered.c[33] ^= 1;
    h.refuse(
        &[h.submit_ix(&operator.pubkey(), &good.header, &tampered)],
        &[&operator],
        code(E::InvalidProof),
    )
    .await;
    tampered = proof;
    tampered.a[10] ^= 0x80;
    h.refuse(
        &[h.submit_ix(&operator.pubkey(), &good.header, &tampered)],
        &[&operator],
        code(E::InvalidProof),
    )
    .await;
    // Tampered public input: the header differs from what was proven.
    let mut header = good.header;
    header.new_root[5] ^= 1;
    h.refuse(
        &[h.submit_ix(&operator.pubkey(), &header, &proof)],
        &[&operator],
        code(E::InvalidProof),
    )
    .await;
    header = good.header;
    header.balances_hash[0] ^= 1;
    h.refuse(
        &[h.submit_ix(&operator.pubkey(), &header, &proof)],
        &[&operator],
        code(E::InvalidProof),
    )
    .await;
    // A real proof of the same batch by another program.
    let other = h.prove(&commitment(99), &good.header);
    h.refuse(
        &[h.submit_ix(&operator.pubkey(), &good.header, &other)],
        &[&operator],
        code(E::InvalidProof),
    )
    .await;

    // Proven but inconsistent with the chain: each proof is valid for its header.
    let mut cases = Vec::new();
    let mut header = good.header;
    header.batch_number = 2;
    cases.push((header, E::BatchOutOfOrder));
    header = good.header;
    header.exchange_id = [0x33; 32];
    cases.push((header, E::WrongExchangeId));
    header = good.header;
    header.prior_root = [0x22; 32];
    cases.push((header, E::PriorRootMismatch));
    header = good.header;
    header.deposits.first_sequence = 1;
    cases.push((header, E::DepositRangeMismatch));
    header = good.header;
    header.deposits.chain_before = [1; 32];
    cases.push((header, E::DepositRangeMismatch));
    header = good.header;
    header.deposits.end_sequence = 2;
    cases.push((header, E::DepositsNotQueued));
    header = good.header;
    header.deposits.chain_after[0] ^= 1;
    cases.push((header, E::DepositChainMismatch));
    for (header, error) in cases {
        let proof = h.prove(&program, &header);
        let ix = h.submit_ix_at(
            &operator.pubkey(),
            &header,
            &proof,
            Some(h.pending_address(1)),
        );
        h.refuse(&[ix], &[&operator], code(error)).await;
    }
    // The pending-batch account must be the next batch's PDA.
    let wrong = h.pending_address(7);
    let ix = h.submit_ix_at(&operator.pubkey(), &good.header, &proof, Some(wrong));
    h.refuse(&[ix], &[&operator], ANCHOR_CONSTRAINT_SEEDS).await;

    // Accepted once; the next batch waits until it is applied; a replay is out of order.
    h.submit(&good).await;
    let next = h.next_batch(vec![], vec![]).await;
    let next_proof = h.prove(&program, &next.header);
    h.refuse(
        &[h.submit_ix(&operator.pubkey(), &next.header, &next_proof)],
        &[&operator],
        code(E::PreviousBatchPending),
    )
    .await;
    let ix = h.apply_ix(&good, 0..1, 0..0);
    h.send(&[ix], &[&operator]).await.unwrap();
    h.refuse(
        &[h.submit_ix_at(
            &operator.pubkey(),
            &good.header,
            &proof,
            Some(h.pending_address(2)),
        )],
        &[&operator],
        code(E::BatchOutOfOrder),
    )
    .await;
    // Paused.
    let admin = h.admin.insecure_clone();
    h.send(
        &[h.admin_ix(
            &admin.pubkey(),
            settlement::instruction::SetPaused { paused: true }.data(),
        )],
        &[&admin],
    )
    .await
    .unwrap();
    h.refuse(
        &[h.submit_ix(&operator.pubkey(), &next.header, &next_proof)],
        &[&operator],
        code(E::Paused),
    )
    .await;
    h.send(
        &[h.admin_ix(
            &admin.pubkey(),
            settlement::instruction::SetPaused { paused: false }.data(),
        )],
        &[&admin],
    )
    .await
    .unwrap();
    h.send(
        &[h.submit_ix(&operator.pubkey(), &next.header, &next_proof)],
        &[&operator],
    )
    .await
    .expect("in order");
}

#[tokio::test]
async fn apply_balances_takes_each_chunk_once_in_order_and_only_as_committed() {
    let mut h = Harness::new().await;
    let alice = h.trader_wallet(0).await;
    let bob = h.trader_wallet(0).await;
    let operator = h.operator.insecure_clone();
    let batch = h
        .next_batch(
            vec![
                balance(1, &alice.keypair, 10),
                balance(2, &bob.keypair, 20),
                balance(3, &bob.keypair, 30),
            ],
            vec![
                withdrawal(1, &alice.keypair, u64::MAX / 2 + 1),
                withdrawal(1, &alice.keypair, u64::MAX / 2 + 1),
            ],
        )
        .await;
    h.submit(&batch).await;

    // Wrong signer.
    let intruder = Keypair::new();
    h.fund(&intruder.pubkey(), 1_000_000_000).await;
    let mut ix = h.apply_ix(&batch, 0..1, 0..0);
    ix.accounts[0].pubkey = intruder.pubkey();
    h.refuse(&[ix], &[&intruder], code(E::NotOperator)).await;
    // Out of order, too long, tampered entry, wrong tail, empty.
    h.refuse(
        &[h.apply_ix(&batch, 1..2, 0..0)],
        &[&operator],
        code(E::ChunkOutOfOrder),
    )
    .await;
    let mut chunk = BalanceChunk {
        first: 0,
        entries: batch.balances.clone(),
        tail_hash: [0; 32],
    };
    chunk.entries.push(balance(4, &bob.keypair, 1));
    let ix = h.apply_ix_with(1, &chunk, &WithdrawalChunk::default());
    h.refuse(&[ix], &[&operator], code(E::ChunkTooLong)).await;
    let mut chunk = BalanceChunk {
        first: 0,
        entries: batch.balances[..1].to_vec(),
        tail_hash: settlement::client::balances_hash(&batch.balances[1..]),
    };
    chunk.entries[0].collateral += 1;
    let ix = h.apply_ix_with(1, &chunk, &WithdrawalChunk::default());
    h.refuse(&[ix], &[&operator], code(E::ChunkMismatch)).await;
    chunk.entries[0].collateral -= 1;
    chunk.tail_hash[0] ^= 1;
    let ix = h.apply_ix_with(1, &chunk, &WithdrawalChunk::default());
    h.refuse(&[ix], &[&operator], code(E::ChunkMismatch)).await;
    let last = BalanceChunk {
        first: 0,
        entries: batch.balances.clone(),
        tail_hash: [9; 32],
    };
    let ix = h.apply_ix_with(1, &last, &WithdrawalChunk::default());
    h.refuse(&[ix], &[&operator], code(E::ChunkMismatch)).await;
    let ix = h.apply_ix_with(1, &BalanceChunk::default(), &WithdrawalChunk::default());
    h.refuse(&[ix], &[&operator], code(E::EmptyChunk)).await;
    // Trader accounts: wrong PDA, missing, another wallet's.
    let mut ix = h.apply_ix(&batch, 0..1, 0..0);
    ix.accounts[4].pubkey = h.trader_address(2);
    h.refuse(&[ix], &[&operator], code(E::WrongTraderAccount))
        .await;
    let mut ix = h.apply_ix(&batch, 0..1, 0..0);
    ix.accounts.pop();
    h.refuse(&[ix], &[&operator], code(E::TraderAccountCount))
        .await;

    // In order: the first chunk applies; applying it again is refused.
    let ix = h.apply_ix(&batch, 0..1, 0..0);
    h.send(std::slice::from_ref(&ix), &[&operator])
        .await
        .expect("chunk 1");
    h.refuse(&[ix], &[&operator], code(E::ChunkAlreadyApplied))
        .await;
    let ix = h.apply_ix(&batch, 1..3, 0..0);
    h.send(&[ix], &[&operator]).await.expect("chunk 2");
    // Two withdrawals whose sum overflows u64 on one account.
    let ix = h.apply_ix(&batch, 3..3, 0..2);
    h.refuse(&[ix], &[&operator], code(E::Overflow)).await;
    let pending = h.pending_state(1).await.unwrap();
    assert_eq!(
        (pending.balances_applied, pending.withdrawals_applied),
        (3, 0)
    );

    // A batch whose entry names account 1 with another owner.
    let mut h = Harness::new().await;
    let operator = h.operator.insecure_clone();
    let batch = h
        .next_batch(vec![balance(1, &alice.keypair, 10)], vec![])
        .await;
    h.settle(&batch).await;
    let batch = h
        .next_batch(vec![balance(1, &bob.keypair, 10)], vec![])
        .await;
    h.submit(&batch).await;
    h.refuse(
        &[h.apply_ix(&batch, 0..1, 0..0)],
        &[&operator],
        code(E::TraderOwnerMismatch),
    )
    .await;
}

#[tokio::test]
async fn claims_check_the_owner_the_mint_and_the_vault() {
    let mut h = Harness::new().await;
    let alice = h.trader_wallet(0).await;
    let bob = h.trader_wallet(0).await;
    // Fund the vault through a deposit, then release 1,000 to alice.
    let carol = h.trader_wallet(5_000).await;
    h.deposit(&carol, 5_000).await;
    let batch = h
        .next_batch(
            vec![
                balance(1, &carol.keypair, 4_000),
                balance(2, &alice.keypair, 0),
            ],
            vec![withdrawal(2, &alice.keypair, 1_000)],
        )
        .await;
    h.settle(&batch).await;

    let bob_signer = bob.keypair.insecure_clone();
    let alice_signer = alice.keypair.insecure_clone();
    let ix = h.trader_ix(
        &bob.keypair.pubkey(),
        2,
        &bob.token,
        settlement::instruction::ClaimWithdrawal {}.data(),
    );
    h.refuse(&[ix], &[&bob_signer], code(E::NotTraderOwner))
        .await;
    let other_mint = h.chain.create_mint(6).await.unwrap();
    let foreign = h
        .chain
        .token_account(&other_mint, &alice.keypair.pubkey(), 0)
        .await
        .unwrap();
    let ix = h.trader_ix(
        &alice.keypair.pubkey(),
        2,
        &foreign,
        settlement::instruction::ClaimWithdrawal {}.data(),
    );
    h.refuse(&[ix], &[&alice_signer], code(E::WrongMint)).await;
    let mut ix = h.claim_ix(&alice, 2);
    ix.accounts[5].pubkey = carol.token;
    h.refuse(&[ix], &[&alice_signer], code(E::WrongVault)).await;
    let mut ix = h.claim_ix(&alice, 2);
    ix.accounts[2].pubkey = h.trader_address(1);
    h.refuse(&[ix], &[&alice_signer], code(E::NotTraderOwner))
        .await;
    h.refuse(
        &[h.claim_ix(&carol, 1)],
        &[&carol.keypair.insecure_clone()],
        code(E::NothingToClaim),
    )
    .await;
    h.send(&[h.claim_ix(&alice, 2)], &[&alice_signer])
        .await
        .expect("claims");
    assert_eq!(h.token_balance(&alice.token).await, 1_000);
}

#[tokio::test]
async fn rotation_takes_effect_after_its_delay() {
    let mut h = Harness::new().await;
    let admin = h.admin.insecure_clone();
    let operator = h.operator.insecure_clone();
    let old = h.program;
    let new = commitment(2);
    // The new program's wrap circuit has its own setup.
    let (new_pk, new_vk) = test_circuit::setup_seeded(2);
    let new_vk = gnomon_settlement_verifier::keys::verifying_key(&new_vk).unwrap();
    h.send(
        &[h.admin_ix(
            &admin.pubkey(),
            settlement::instruction::RotateProgram {
                program_commitment: new,
                verifying_key: (&new_vk).into(),
            }
            .data(),
        )],
        &[&admin],
    )
    .await
    .expect("the admin rotates the program");
    let batch = h.next_batch(vec![], vec![]).await;
    // Before the delay: the old program's proofs under the old key only.
    let new_proof = Harness::prove_with(&new_pk, &new, &batch.header);
    let new_program_old_key = h.prove(&new, &batch.header);
    let old_program_new_key = Harness::prove_with(&new_pk, &old, &batch.header);
    for proof in [&new_proof, &new_program_old_key, &old_program_new_key] {
        h.refuse(
            &[h.submit_ix(&operator.pubkey(), &batch.header, proof)],
            &[&operator],
            code(E::InvalidProof),
        )
        .await;
    }
    h.advance(harness::ROTATION_DELAY + 1).await;
    // After it: the new program under the new key only (a proof with the wrong key, of
    // either program, is refused).
    let old_proof = h.prove(&old, &batch.header);
    for proof in [&old_proof, &new_program_old_key, &old_program_new_key] {
        h.refuse(
            &[h.submit_ix(&operator.pubkey(), &batch.header, proof)],
            &[&operator],
            code(E::InvalidProof),
        )
        .await;
    }
    h.send(
        &[h.submit_ix(&operator.pubkey(), &batch.header, &new_proof)],
        &[&operator],
    )
    .await
    .expect("the new program");
    let exchange = h.exchange_state().await;
    assert_eq!(
        (exchange.program_commitment, exchange.rotation_slot),
        (new, 0)
    );
    assert_eq!(exchange.verifying_key, (&new_vk).into());
}

#[tokio::test]
async fn the_escape_hatch_pays_settled_collateral_and_stops_batches() {
    let mut h = Harness::new().await;
    let alice = h.trader_wallet(10_000).await;
    let bob = h.trader_wallet(10_000).await;
    let operator = h.operator.insecure_clone();
    h.deposit(&alice, 6_000).await;
    h.deposit(&bob, 4_000).await;
    let batch = h
        .next_batch(
            vec![
                balance(1, &alice.keypair, 6_000),
                balance(2, &bob.keypair, 4_000),
            ],
            vec![],
        )
        .await;
    h.settle(&batch).await;
    // A second batch applied halfway (bob's balance only) must not count.
    let half = h
        .next_batch(
            vec![
                balance(1, &alice.keypair, 1_000),
                balance(2, &bob.keypair, 9_000),
            ],
            vec![],
        )
        .await;
    h.submit(&half).await;
    let ix = h.apply_ix(&half, 0..1, 0..0);
    h.send(&[ix], &[&operator]).await.unwrap();
    // A deposit no batch consumed.
    h.deposit(&bob, 500).await;

    let alice_signer = alice.keypair.insecure_clone();
    let bob_signer = bob.keypair.insecure_clone();
    h.refuse(
        &[h.escape_ix(&alice, 1)],
        &[&alice_signer],
        code(E::EscapeHatchClosed),
    )
    .await;
    h.refuse(
        &[h.reclaim_ix(&bob, 2)],
        &[&bob_signer],
        code(E::EscapeHatchClosed),
    )
    .await;
    h.advance(harness::ESCAPE_DELAY + 1).await;
    h.refuse(
        &[h.escape_ix(&bob, 1)],
        &[&bob_signer],
        code(E::NotTraderOwner),
    )
    .await;
    h.send(&[h.escape_ix(&alice, 1)], &[&alice_signer])
        .await
        .expect("alice escapes");
    h.send(&[h.escape_ix(&bob, 2)], &[&bob_signer])
        .await
        .expect("bob escapes");
    assert_eq!(
        h.token_balance(&alice.token).await,
        4_000 + 6_000,
        "the settled 6,000, not the staged 1,000"
    );
    assert_eq!(
        h.token_balance(&bob.token).await,
        5_500 + 4_000,
        "the settled 4,000, not the staged 9,000"
    );
    h.refuse(
        &[h.escape_ix(&alice, 1)],
        &[&alice_signer],
        code(E::NothingToEscape),
    )
    .await;

    // No more batches or chunks.
    assert!(h.exchange_state().await.escaped);
    let ix = h.apply_ix(&half, 1..2, 0..0);
    h.refuse(&[ix], &[&operator], code(E::ExchangeEscaped))
        .await;
    let batch = h.next_batch(vec![], vec![]).await;
    let proof = h.prove(&h.program.clone(), &batch.header);
    h.refuse(
        &[h.submit_ix(&operator.pubkey(), &batch.header, &proof)],
        &[&operator],
        code(E::ExchangeEscaped),
    )
    .await;
    h.refuse(
        &[h.deposit_ix(&alice, 1)],
        &[&alice_signer],
        code(E::ExchangeEscaped),
    )
    .await;

    // The unconsumed deposit comes back once, to its owner only.
    h.refuse(
        &[h.reclaim_ix(&alice, 2)],
        &[&alice_signer],
        code(E::NotDepositOwner),
    )
    .await;
    h.refuse(
        &[h.reclaim_ix(&bob, 0)],
        &[&bob_signer],
        code(E::DepositConsumed),
    )
    .await;
    h.refuse(
        &[h.reclaim_ix(&bob, 3)],
        &[&bob_signer],
        code(E::UnknownDeposit),
    )
    .await;
    h.send(&[h.reclaim_ix(&bob, 2)], &[&bob_signer])
        .await
        .expect("reclaims");
    assert_eq!(h.token_balance(&bob.token).await, 10_000);
    h.refuse(
        &[h.reclaim_ix(&bob, 2)],
        &[&bob_signer],
        code(E::DepositAlreadyReclaimed),
    )
    .await;
    assert_eq!(
        h.token_balance(&h.vault.clone()).await,
        0,
        "every token is back with its owner"
    );
}

#[tokio::test]
async fn an_apply_chunk_fits_a_transaction() {
    let mut h = Harness::new().await;
    let owner = Keypair::new();
    let operator = h.operator.insecure_clone();
    let mut largest = 0;
    for count in 1..40 {
        let balances: Vec<SettledBalance> = (0..count)
            .map(|account| balance(account, &owner, 1))
            .collect();
        let batch = h.next_batch(balances, vec![]).await;
        let ix = h.apply_ix(&batch, 0..count as usize, 0..0);
        if wire_size(&h.transaction(&[ix], &[&operator])) > 1_232 {
            break;
        }
        largest = count;
    }
    eprintln!("apply_balances: at most {largest} balances a transaction (legacy, no lookup table)");
    assert!(largest >= 10, "chunks of at least ten entries");

    // The operator's chunk, of new traders only (each one created), mixing both lists, fits
    // and applies within the compute budget.
    let size = settlement::client::APPLY_CHUNK_ENTRIES;
    let balances = (100..100 + size as u32 - 2)
        .map(|account| balance(account, &owner, 5))
        .collect();
    let withdrawals = (200..202)
        .map(|account| withdrawal(account, &owner, 1))
        .collect();
    let batch = h.next_batch(balances, withdrawals).await;
    h.submit(&batch).await;
    let (balance_chunk, withdrawal_chunk) =
        settlement::client::next_chunk(&batch.balances, &batch.withdrawals, (0, 0), size);
    assert_eq!(
        balance_chunk.entries.len() + withdrawal_chunk.entries.len(),
        size
    );
    let ix = h.apply_ix_with(batch.header.batch_number, &balance_chunk, &withdrawal_chunk);
    let transaction = h.transaction(std::slice::from_ref(&ix), &[&operator]);
    assert!(wire_size(&transaction) <= 1_232);
    h.send(&[ix], &[&operator])
        .await
        .expect("the chunk applies");
    assert_eq!(
        h.exchange_state().await.applied_batch,
        batch.header.batch_number
    );
}

#[test]
fn arguments_and_accounts_have_the_documented_layouts() {
    let header = BatchHeader {
        exchange_id: [11; 32],
        batch_number: 5,
        prior_root: [1; 32],
        new_root: [2; 32],
        time: settlement::TimeRange {
            start_ms: 12,
            end_ms: 13,
        },
        deposits: settlement::DepositRange {
            first_sequence: 3,
            end_sequence: 4,
            chain_before: [5; 32],
            chain_after: [6; 32],
        },
        oracle_digest: [14; 32],
        balance_count: 7,
        balances_hash: [8; 32],
        withdrawal_count: 9,
        withdrawals_hash: [10; 32],
    };
    assert_eq!(
        harness::borsh(&header),
        core::BatchHeader::from(&header).to_bytes().to_vec()
    );
    let owner = Keypair::new();
    let entry = balance(3, &owner, -5);
    assert_eq!(
        harness::borsh(&entry),
        core::ListEntry::to_bytes(&core::SettledBalance::from(&entry)).to_vec()
    );
    let entry = withdrawal(3, &owner, 5);
    assert_eq!(
        harness::borsh(&entry),
        core::ListEntry::to_bytes(&core::Withdrawal::from(&entry)).to_vec()
    );
    // A verifying key is the core's key file without its count of input points.
    const VERIFYING_KEY_BYTES: usize = 64 + 3 * 128 + 3 * 64;
    let key = test_circuit::verifying_key();
    let file = key.to_bytes();
    let args_key = settlement::VerifyingKey::from(&key);
    assert_eq!(
        harness::borsh(&args_key),
        [&file[..64 + 3 * 128], &file[64 + 3 * 128 + 4..]].concat()
    );
    assert_eq!(harness::borsh(&args_key).len(), VERIFYING_KEY_BYTES);
    assert_eq!(
        Exchange::SIZE,
        8 + 5
            + 32
            + 4 * 32
            + 2 * (32 + VERIFYING_KEY_BYTES)
            + 2 * 8
            + 32
            + 2 * 8
            + 8
            + 32
            + 8
            + 32
            + 2 * 8
            + 32 * (32 + 8 + 32 + 1)
    );
    assert_eq!(Trader::SIZE, 8 + 2 + 32 + 4 + 32 + 8 + 8 + 8 + 8 + 1 + 8);
    assert_eq!(PendingBatch::SIZE, 8 + 2 + 32 + 8 + 2 * (4 + 4 + 32));
}

/// The TypeScript suite's scenario (tests/settlement.ts), with real proofs from the test
/// circuit: two traders deposit, batch 1 credits them, batch 2 moves PnL and releases a
/// withdrawal. The committed file must be what this renders (`GNOMON_BLESS=1` rewrites it).
#[test]
fn the_typescript_fixtures_are_current() {
    use gnomon_settlement_verifier::batch::{DepositRange as CoreRange, deposit_chain_next};
    let (pk, _) = test_circuit::setup();
    // A proof of each batch under another setup's key: what an exchange recording another
    // verifying key must refuse.
    let (other_pk, _) = test_circuit::setup_seeded(2);
    let program = commitment(1);
    let seeds = [[0xa1u8; 32], [0xb2u8; 32]];
    let traders: Vec<Keypair> = seeds
        .iter()
        .map(|seed| Keypair::new_from_array(*seed))
        .collect();
    let deposits = [600_000u64, 400_000];
    let mut chain = [0u8; 32];
    for (sequence, (trader, amount)) in traders.iter().zip(deposits).enumerate() {
        chain = deposit_chain_next(&chain, sequence as u64, &trader.pubkey().to_bytes(), amount);
    }
    let batches = [
        (
            vec![
                balance(1, &traders[0], 600_000),
                balance(2, &traders[1], 400_000),
            ],
            vec![],
            CoreRange {
                first_sequence: 0,
                end_sequence: 2,
                chain_before: [0; 32],
                chain_after: chain,
            },
        ),
        (
            vec![
                balance(1, &traders[0], 450_000),
                balance(2, &traders[1], 450_000),
            ],
            vec![withdrawal(1, &traders[0], 100_000)],
            CoreRange {
                first_sequence: 2,
                end_sequence: 2,
                chain_before: chain,
                chain_after: chain,
            },
        ),
    ];
    let bytes = |bytes: &[u8]| {
        format!(
            "[{}]",
            bytes
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let mut root = harness::GENESIS_ROOT;
    let mut rendered = Vec::new();
    for (index, (balances, withdrawals, deposits)) in batches.into_iter().enumerate() {
        let new_root = [0x40 + index as u8; 32];
        let header = BatchHeader {
            exchange_id: harness::EXCHANGE_ID,
            batch_number: index as u64 + 1,
            prior_root: root,
            new_root,
            time: settlement::TimeRange {
                start_ms: index as u64 * 1_000,
                end_ms: (index as u64 + 1) * 1_000,
            },
            deposits: settlement::DepositRange {
                first_sequence: deposits.first_sequence,
                end_sequence: deposits.end_sequence,
                chain_before: deposits.chain_before,
                chain_after: deposits.chain_after,
            },
            oracle_digest: [0x0d; 32],
            balance_count: balances.len() as u32,
            balances_hash: settlement::client::balances_hash(&balances),
            withdrawal_count: withdrawals.len() as u32,
            withdrawals_hash: settlement::client::withdrawals_hash(&withdrawals),
        };
        root = new_root;
        let proof = test_circuit::prove(&pk, &program, &(&header).into(), index as u64 + 1);
        let other_key_proof =
            test_circuit::prove(&other_pk, &program, &(&header).into(), index as u64 + 1);
        let d = &header.deposits;
        let entries = |list: Vec<(u32, String, String)>| {
            list.into_iter()
                .map(|(account, owner, value)| {
                    format!("{{\"account\":{account},\"owner\":\"{owner}\",{value}}}")
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        rendered.push(format!(
            "{{\"header\":{{\"exchangeId\":{},\"batchNumber\":{},\"priorRoot\":{},\"newRoot\":{},\"time\":{{\"startMs\":{},\"endMs\":{}}},\"deposits\":{{\"firstSequence\":{},\"endSequence\":{},\"chainBefore\":{},\"chainAfter\":{}}},\"oracleDigest\":{},\"balanceCount\":{},\"balancesHash\":{},\"withdrawalCount\":{},\"withdrawalsHash\":{}}},\"proof\":{{\"a\":{},\"b\":{},\"c\":{}}},\"otherKeyProof\":{{\"a\":{},\"b\":{},\"c\":{}}},\"balances\":[{}],\"withdrawals\":[{}]}}",
            bytes(&header.exchange_id),
            header.batch_number,
            bytes(&header.prior_root),
            bytes(&header.new_root),
            header.time.start_ms,
            header.time.end_ms,
            d.first_sequence,
            d.end_sequence,
            bytes(&d.chain_before),
            bytes(&d.chain_after),
            bytes(&header.oracle_digest),
            header.balance_count,
            bytes(&header.balances_hash),
            header.withdrawal_count,
            bytes(&header.withdrawals_hash),
            bytes(&proof.a),
            bytes(&proof.b),
            bytes(&proof.c),
            bytes(&other_key_proof.a),
            bytes(&other_key_proof.b),
            bytes(&other_key_proof.c),
            entries(balances.iter().map(|b| (b.account, b.owner.to_string(), format!("\"collateral\":{}", b.collateral))).collect()),
            entries(withdrawals.iter().map(|w| (w.account, w.owner.to_string(), format!("\"amount\":{}", w.amount))).collect()),
        ));
    }
    let key = test_circuit::verifying_key();
    let verifying_key_json = format!(
        "{{\"alphaG1\":{},\"betaG2\":{},\"gammaG2\":{},\"deltaG2\":{},\"ic\":[{}]}}",
        bytes(&key.alpha_g1),
        bytes(&key.beta_g2),
        bytes(&key.gamma_g2),
        bytes(&key.delta_g2),
        key.ic.map(|point| bytes(&point)).join(","),
    );
    let traders_json: Vec<String> = seeds
        .iter()
        .zip(deposits)
        .map(|(seed, amount)| format!("{{\"seed\":{},\"deposit\":{amount}}}", bytes(seed)))
        .collect();
    let json = format!(
        "{{\n\"exchangeId\":{},\n\"programCommitment\":{},\n\"verifyingKey\":{},\n\"genesisRoot\":{},\n\"escapeDelaySlots\":{},\n\"rotationDelaySlots\":{},\n\"traders\":[{}],\n\"batches\":[\n{}\n]\n}}\n",
        bytes(&harness::EXCHANGE_ID),
        bytes(&program),
        verifying_key_json,
        bytes(&harness::GENESIS_ROOT),
        harness::ESCAPE_DELAY,
        harness::ROTATION_DELAY,
        traders_json.join(","),
        rendered.join(",\n"),
    );
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/settlement.json"
    );
    if std::env::var("GNOMON_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(std::path::Path::new(path).parent().expect("a directory"))
            .expect("created");
        std::fs::write(path, &json).expect("written");
    }
    assert!(
        std::fs::read_to_string(path).is_ok_and(|committed| committed == json),
        "tests/fixtures/settlement.json is stale: rerun with GNOMON_BLESS=1"
    );
}
