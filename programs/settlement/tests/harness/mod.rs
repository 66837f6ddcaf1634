//! A settlement exchange on the local Solana runtime (`gnomon-localnet`: solana-program-test's
//! bank, the Anchor program native, the SPL token program the SBF binary program-test
//! ships). Batches are proven for real with the verification core's test circuit, whose
//! verifying key the exchange is initialized with.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::instruction::error::InstructionError;
use anchor_lang::{AccountDeserialize, AnchorSerialize, InstructionData, ToAccountMetas};
use anchor_spl::token::spl_token;
use gnomon_localnet::Localnet;
use gnomon_settlement_verifier::test_circuit;
use settlement::client::{self, balances_hash, withdrawals_hash};
use settlement::state::{Exchange, PendingBatch, Trader};
use settlement::{
    BalanceChunk, BatchHeader, DepositRange, InitializeParams, Proof, SettledBalance, TimeRange,
    Withdrawal, WithdrawalChunk,
};
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction::TransactionError;

pub const ESCAPE_DELAY: u64 = 1_000;

pub const ROTATION_DELAY: u64 = 100;
pub const GENESIS_ROOT: [u8; 32] = [0x11; 32];
pub const EXCHANGE_ID: [u8; 32] = [0xe1; 32];

/// A canonical program commitment (eight BabyBear elements, little-endian).
pub fn commitment(seed: u32) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (index, chunk) in bytes.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(
            &(seed.wrapping_mul(2_654_435_761).wrapping_add(index as u32) % 2_013_265_921)
                .to_le_bytes(),
        );
    }
    bytes
}

/// How a test fails a transaction: the program's error, or Anchor's.
pub fn code(error: settlement::error::SettlementError) -> u32 {
    error.into()
}

pub struct Harness {
    pub chain: Localnet,
    pub admin: Keypair,
    pub operator: Keypair,
    pub mint: Pubkey,
    pub exchange: Pubkey,
    pub vault: Pubkey,
    pub program: [u8; 32],
    pub exchange_id: [u8; 32],
    pub genesis_root: [u8; 32],
    pub pk: ark_groth16::ProvingKey<ark_bn254::Bn254>,
}

/// A trader: a wallet and its collateral token account.
pub struct TraderWallet {
    pub keypair: Keypair,
    pub token: Pubkey,
}

/// One batch as the engine would publish it.
#[derive(Clone, Debug)]
pub struct Batch {
    pub header: BatchHeader,
    pub balances: Vec<SettledBalance>,
    pub withdrawals: Vec<Withdrawal>,
}

impl Harness {
    /// An initialized exchange.
    pub async fn new() -> Self {
        Self::for_exchange(EXCHANGE_ID, GENESIS_ROOT, commitment(1)).await
    }

    /// An initialized exchange of the engine exchange `exchange_id` from `genesis_root`, whose
    /// batches `program` proves.
    pub async fn for_exchange(
        exchange_id: [u8; 32],
        genesis_root: [u8; 32],
        program: [u8; 32],
    ) -> Self {
        let (pk, _) = test_circuit::setup();
        let mut harness = Self {
            chain: Localnet::start().await,
            admin: Keypair::new(),
            operator: Keypair::new(),
            mint: Pubkey::default(),
            exchange: Pubkey::default(),
            vault: Pubkey::default(),
            program,
            exchange_id,
            genesis_root,
            pk,
        };
        harness.fund(&harness.admin.pubkey(), 10_000_000_000).await;
        harness
            .fund(&harness.operator.pubkey(), 10_000_000_000)
            .await;
        harness.mint = harness.chain.create_mint(6).await.expect("the mint");
        harness.exchange = client::exchange_address(&harness.mint);
        harness.vault = client::vault_address(&harness.exchange);
        let params = harness.params();
        harness
            .send(
                &[harness.initialize_ix(&params)],
                &[&harness.admin.insecure_clone()],
            )
            .await
            .expect("the exchange initializes");
        harness
    }

    pub fn params(&self) -> InitializeParams {
        InitializeParams {
            exchange_id: self.exchange_id,
            operator: self.operator.pubkey(),
            program_commitment: self.program,
            genesis_root: self.genesis_root,
            verifying_key: (&test_circuit::verifying_key()).into(),
            escape_delay_slots: ESCAPE_DELAY,
            rotation_delay_slots: ROTATION_DELAY,
        }
    }

    pub fn initialize_ix(&self, params: &InitializeParams) -> Instruction {
        client::initialize_exchange(&self.admin.pubkey(), &self.mint, params)
    }

    /// Sends `instructions` paid by the first signer. Each transaction carries a compute-unit
    /// limit unique to it, so that a test may send the same instructions twice.
    pub async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<(), BanksClientError> {
        self.chain.send(instructions, signers).await
    }

    pub fn transaction(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Transaction {
        self.chain.transaction(instructions, signers)
    }

    /// Sends and expects the program to refuse with `expected`, changing nothing.
    pub async fn refuse(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        expected: u32,
    ) {
        let before = self.snapshot().await;
        let result = self.send(instructions, signers).await;
        assert_eq!(
            custom_error(&result),
            Some(expected),
            "expected error {expected}, got {result:?}"
        );
        assert_eq!(
            self.snapshot().await,
            before,
            "a refused instruction changed state"
        );
    }

    /// The exchange, vault and pending-batch accounts' bytes (what a refusal must not change).
    pub async fn snapshot(&mut self) -> Vec<Option<Vec<u8>>> {
        let last_batch = self.exchange_state().await.last_batch;
        let pending = self.pending_address(last_batch);
        let mut out = Vec::new();
        for address in [self.exchange, self.vault, pending] {
            out.push(self.chain.account_data(&address).await.expect("reads"));
        }
        out
    }

    pub async fn fund(&mut self, to: &Pubkey, lamports: u64) {
        self.chain.fund(to, lamports).await.expect("funds");
    }

    pub async fn trader_wallet(&mut self, amount: u64) -> TraderWallet {
        let keypair = Keypair::new();
        self.fund(&keypair.pubkey(), 1_000_000_000).await;
        let mint = self.mint;
        let token = self
            .chain
            .token_account(&mint, &keypair.pubkey(), amount)
            .await
            .expect("the token account");
        TraderWallet { keypair, token }
    }

    pub async fn token_balance(&mut self, account: &Pubkey) -> u64 {
        self.chain
            .token_balance(account)
            .await
            .expect("a token account")
    }

    pub async fn exchange_state(&mut self) -> Exchange {
        self.read(self.exchange).await.expect("the exchange exists")
    }

    pub async fn trader_state(&mut self, account: u32) -> Option<Trader> {
        let address = self.trader_address(account);
        self.read(address).await
    }

    pub async fn pending_state(&mut self, batch: u64) -> Option<PendingBatch> {
        let address = self.pending_address(batch);
        self.read(address).await
    }

    async fn read<T: AccountDeserialize>(&mut self, address: Pubkey) -> Option<T> {
        let data = self.chain.account_data(&address).await.expect("reads")?;
        Some(T::try_deserialize(&mut &data[..]).expect("the account's type"))
    }

    pub fn trader_address(&self, account: u32) -> Pubkey {
        client::trader_address(&self.exchange, account)
    }

    pub fn pending_address(&self, batch: u64) -> Pubkey {
        client::pending_address(&self.exchange, batch)
    }

    pub fn admin_ix(&self, signer: &Pubkey, data: Vec<u8>) -> Instruction {
        Instruction {
            program_id: settlement::ID,
            accounts: settlement::accounts::AdminUpdate {
                admin: *signer,
                exchange: self.exchange,
            }
            .to_account_metas(None),
            data,
        }
    }

    pub fn deposit_ix(&self, wallet: &TraderWallet, amount: u64) -> Instruction {
        client::deposit(&wallet.keypair.pubkey(), &self.mint, &wallet.token, amount)
    }

    pub fn deposit_ix_with(
        &self,
        owner: &Pubkey,
        token: &Pubkey,
        vault: &Pubkey,
        amount: u64,
    ) -> Instruction {
        Instruction {
            program_id: settlement::ID,
            accounts: settlement::accounts::Deposit {
                owner: *owner,
                exchange: self.exchange,
                collateral_mint: self.mint,
                owner_token: *token,
                vault: *vault,
                token_program: spl_token::ID,
            }
            .to_account_metas(None),
            data: settlement::instruction::Deposit { amount }.data(),
        }
    }

    pub async fn deposit(&mut self, wallet: &TraderWallet, amount: u64) {
        let ix = self.deposit_ix(wallet, amount);
        self.send(&[ix], &[&wallet.keypair]).await.expect("deposit");
    }

    /// The next batch, consuming every queued deposit, with these balances and withdrawals.
    pub async fn next_batch(
        &mut self,
        balances: Vec<SettledBalance>,
        withdrawals: Vec<Withdrawal>,
    ) -> Batch {
        let exchange = self.exchange_state().await;
        let header = BatchHeader {
            exchange_id: self.exchange_id,
            batch_number: exchange.last_batch + 1,
            prior_root: exchange.state_root,
            new_root: [exchange.last_batch as u8 + 0x40; 32],
            time: TimeRange {
                start_ms: exchange.last_batch * 1_000,
                end_ms: (exchange.last_batch + 1) * 1_000,
            },
            deposits: DepositRange {
                first_sequence: exchange.consumed_deposits,
                end_sequence: exchange.deposit_count,
                chain_before: exchange.consumed_chain,
                chain_after: exchange.deposit_chain,
            },
            oracle_digest: [0x0d; 32],
            balance_count: balances.len() as u32,
            balances_hash: balances_hash(&balances),
            withdrawal_count: withdrawals.len() as u32,
            withdrawals_hash: withdrawals_hash(&withdrawals),
        };
        Batch {
            header,
            balances,
            withdrawals,
        }
    }

    /// A real proof of `header` by `program`.
    pub fn prove(&self, program: &[u8; 32], header: &BatchHeader) -> Proof {
        Self::prove_with(&self.pk, program, header)
    }

    /// A real proof of `header` by `program` with the proving key `pk` (of another setup).
    pub fn prove_with(
        pk: &ark_groth16::ProvingKey<ark_bn254::Bn254>,
        program: &[u8; 32],
        header: &BatchHeader,
    ) -> Proof {
        let proof = test_circuit::prove(
            pk,
            program,
            &header.into(),
            u64::from(header.batch_number as u32),
        );
        Proof {
            a: proof.a,
            b: proof.b,
            c: proof.c,
        }
    }

    pub fn submit_ix(&self, signer: &Pubkey, header: &BatchHeader, proof: &Proof) -> Instruction {
        self.submit_ix_at(signer, header, proof, None)
    }

    /// `submit_batch`, with the pending-batch account replaced when `pending` is given.
    pub fn submit_ix_at(
        &self,
        signer: &Pubkey,
        header: &BatchHeader,
        proof: &Proof,
        pending: Option<Pubkey>,
    ) -> Instruction {
        let pending = pending.unwrap_or_else(|| self.pending_address(header.batch_number));
        client::submit_batch(signer, &self.exchange, &pending, header, proof)
    }

    pub async fn submit(&mut self, batch: &Batch) {
        let proof = self.prove(&self.program.clone(), &batch.header);
        let ix = self.submit_ix(&self.operator.pubkey(), &batch.header, &proof);
        let operator = self.operator.insecure_clone();
        self.send(&[ix], &[&operator])
            .await
            .expect("the batch is accepted");
    }

    /// `apply_balances` for the given ranges of the batch's lists, with the matching trader
    /// accounts.
    pub fn apply_ix(
        &self,
        batch: &Batch,
        balances: std::ops::Range<usize>,
        withdrawals: std::ops::Range<usize>,
    ) -> Instruction {
        let balance_chunk = BalanceChunk {
            first: balances.start as u32,
            entries: batch.balances[balances.clone()].to_vec(),
            tail_hash: balances_hash(&batch.balances[balances.end..]),
        };
        let withdrawal_chunk = WithdrawalChunk {
            first: withdrawals.start as u32,
            entries: batch.withdrawals[withdrawals.clone()].to_vec(),
            tail_hash: withdrawals_hash(&batch.withdrawals[withdrawals.end..]),
        };
        self.apply_ix_with(batch.header.batch_number, &balance_chunk, &withdrawal_chunk)
    }

    pub fn apply_ix_with(
        &self,
        batch_number: u64,
        balances: &BalanceChunk,
        withdrawals: &WithdrawalChunk,
    ) -> Instruction {
        client::apply_balances(
            &self.operator.pubkey(),
            &self.exchange,
            batch_number,
            balances,
            withdrawals,
        )
    }

    /// Submits `batch` and applies it in one chunk.
    pub async fn settle(&mut self, batch: &Batch) {
        self.submit(batch).await;
        let ix = self.apply_ix(batch, 0..batch.balances.len(), 0..batch.withdrawals.len());
        let operator = self.operator.insecure_clone();
        self.send(&[ix], &[&operator])
            .await
            .expect("the batch applies");
    }

    pub fn trader_ix(
        &self,
        owner: &Pubkey,
        account: u32,
        token: &Pubkey,
        data: Vec<u8>,
    ) -> Instruction {
        Instruction {
            program_id: settlement::ID,
            accounts: settlement::accounts::TraderTransfer {
                owner: *owner,
                exchange: self.exchange,
                trader: self.trader_address(account),
                collateral_mint: self.mint,
                owner_token: *token,
                vault: self.vault,
                token_program: spl_token::ID,
            }
            .to_account_metas(None),
            data,
        }
    }

    pub fn claim_ix(&self, wallet: &TraderWallet, account: u32) -> Instruction {
        client::claim_withdrawal(&wallet.keypair.pubkey(), &self.mint, account, &wallet.token)
    }

    pub fn escape_ix(&self, wallet: &TraderWallet, account: u32) -> Instruction {
        self.trader_ix(
            &wallet.keypair.pubkey(),
            account,
            &wallet.token,
            settlement::instruction::Escape {}.data(),
        )
    }

    pub fn reclaim_ix(&self, wallet: &TraderWallet, sequence: u64) -> Instruction {
        Instruction {
            program_id: settlement::ID,
            accounts: settlement::accounts::Deposit {
                owner: wallet.keypair.pubkey(),
                exchange: self.exchange,
                collateral_mint: self.mint,
                owner_token: wallet.token,
                vault: self.vault,
                token_program: spl_token::ID,
            }
            .to_account_metas(None),
            data: settlement::instruction::ReclaimDeposit { sequence }.data(),
        }
    }

    /// Moves the bank `slots` slots ahead.
    pub async fn advance(&mut self, slots: u64) {
        self.chain.advance(slots).await.expect("warps");
    }
}

/// The custom error code of a failed transaction's instruction (the compute-budget
/// instruction is instruction 0; the program's is 1).
pub fn custom_error(result: &Result<(), BanksClientError>) -> Option<u32> {
    match result {
        Err(BanksClientError::TransactionError(TransactionError::InstructionError(
            _,
            InstructionError::Custom(code),
        ))) => Some(*code),
        _ => None,
    }
}

/// The wire size of a transaction.
pub fn wire_size(transaction: &Transaction) -> usize {
    let signatures = transaction.signatures.len();
    let compact = if signatures < 0x80 { 1 } else { 2 };
    compact + 64 * signatures + transaction.message.serialize().len()
}

/// The borsh bytes of an Anchor argument.
pub fn borsh<T: AnchorSerialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.serialize(&mut out).expect("encodes");
    out
}
