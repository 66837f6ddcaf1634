//! # gnomon-localnet: a local Solana runtime for the settlement program
//!
//! Where the Solana toolchain is missing (no `solana-test-validator`, and Anchor 1.x programs
//! cannot be built to SBF on these machines), Gnomon runs its settlement program in
//! solana-program-test's bank: the Anchor program natively, the SPL token program as the SBF
//! binary program-test ships, real transactions, signatures, rent and slots. This crate starts
//! that bank ([`Localnet`]), does the chores of a local cluster (funding, mints, token
//! accounts, time passing), and serves the part of Solana's JSON-RPC that clients use over it
//! ([`Localnet::serve_json_rpc`]), so that the engine's settlement driver, a real
//! solana-rpc-client, talks to it exactly as it talks to a validator. Two binaries make it a
//! stand-in for the Solana toolchain of `anchor test`: `gnomon-localnet` (the runtime as a
//! server, with a funded wallet) and `settlement-idl` (the program's IDL, by Anchor's own IDL
//! build); `scripts/test-anchor` runs the TypeScript suite with them.
//!
//! ## What it must never do
//!
//! - Stand in for the program: every instruction runs the settlement program's own code, and
//!   every transaction passes the bank's signature, account and fee checks.
//! - Panic on a malformed request: a bad JSON-RPC call is a JSON-RPC error.

use std::net::SocketAddr;

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::solana_program::system_instruction;
use anchor_spl::associated_token;
use anchor_spl::token::spl_token;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_program_test::{BanksClient, BanksClientError, ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;

mod json_rpc;

/// Compute units a transaction may use (Solana's per-transaction maximum).
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;

/// Why the local runtime refused a chore.
#[derive(Debug, thiserror::Error)]
pub enum LocalnetError {
    #[error("the bank refused the transaction: {0}")]
    Bank(#[from] BanksClientError),
    #[error("account {0} does not exist")]
    MissingAccount(Pubkey),
    #[error("account {0} is not a token account")]
    NotATokenAccount(Pubkey),
    #[error("the bank cannot warp to slot {0}")]
    Warp(u64),
    #[error("serving JSON-RPC: {0}")]
    Serve(#[from] std::io::Error),
}

/// A bank with the settlement program (at its declared id) and the SPL token program.
pub struct Localnet {
    pub ctx: ProgramTestContext,
    /// Counts the transactions built, so that each carries a compute-unit limit of its own and
    /// sending the same instructions twice makes two transactions, not one.
    sent: u32,
}

impl std::fmt::Debug for Localnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Localnet")
            .field("payer", &self.ctx.payer.pubkey())
            .finish_non_exhaustive()
    }
}

/// Anchor's generated `entry` ties the program id, the accounts slice and the data to the
/// accounts' own lifetime; program-test hands shorter borrows of values that live for the
/// whole call.
fn entry<'a, 'b>(
    program_id: &Pubkey,
    accounts: &'a [AccountInfo<'b>],
    data: &[u8],
) -> anchor_lang::solana_program::entrypoint::ProgramResult {
    // SAFETY: program-test keeps all three alive until `entry` returns, and `entry` keeps no
    // reference to them afterwards.
    let (program_id, accounts, data): (&'b Pubkey, &'b [AccountInfo<'b>], &'b [u8]) =
        unsafe { std::mem::transmute((program_id, accounts, data)) };
    settlement::entry(program_id, accounts, data)
}

impl Localnet {
    /// Starts a fresh bank. Must run inside a tokio runtime.
    pub async fn start() -> Self {
        // program-test installs its process-wide syscall stubs on its first start, and
        // concurrent first starts race on them.
        static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let mut program_test = ProgramTest::new(
            "settlement",
            settlement::ID,
            solana_program_test::processor!(entry),
        );
        program_test.set_compute_max_units(u64::from(MAX_COMPUTE_UNITS));
        let ctx = {
            let _starting = STARTING.lock().await;
            program_test.start_with_context().await
        };
        Self { ctx, sent: 0 }
    }

    /// The bank's client (cheap to clone).
    pub fn banks(&self) -> BanksClient {
        self.ctx.banks_client.clone()
    }

    /// The account that funds everything (the genesis payer; the mint authority of
    /// [`Self::create_mint`]).
    pub fn payer(&self) -> Keypair {
        self.ctx.payer.insecure_clone()
    }

    /// `instructions` in a transaction paid by the first signer, with a compute-unit limit
    /// unique to it, on the last blockhash [`Self::send`] saw.
    pub fn transaction(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Transaction {
        self.sent = (self.sent + 1) % AIRDROP_NONCES;
        unique_transaction(instructions, signers, self.ctx.last_blockhash, self.sent)
    }

    /// Sends `instructions` (see [`Self::transaction`]) and waits for them to be processed.
    pub async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<(), BanksClientError> {
        // A blockhash of a long-idle bank expires (the bank's slots go on with the clock).
        self.ctx.last_blockhash = self.ctx.banks_client.get_latest_blockhash().await?;
        let transaction = self.transaction(instructions, signers);
        self.ctx.banks_client.process_transaction(transaction).await
    }

    /// Moves `lamports` from the payer to `to`.
    pub async fn fund(&mut self, to: &Pubkey, lamports: u64) -> Result<(), LocalnetError> {
        let payer = self.payer();
        let transfer = system_instruction::transfer(&payer.pubkey(), to, lamports);
        Ok(self.send(&[transfer], &[&payer]).await?)
    }

    /// A new SPL mint of `decimals` whose mint authority is the payer.
    pub async fn create_mint(&mut self, decimals: u8) -> Result<Pubkey, LocalnetError> {
        let payer = self.payer();
        let mint = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await?;
        let create = system_instruction::create_account(
            &payer.pubkey(),
            &mint.pubkey(),
            rent.minimum_balance(spl_token::state::Mint::LEN),
            spl_token::state::Mint::LEN as u64,
            &spl_token::ID,
        );
        let init = spl_token::instruction::initialize_mint2(
            &spl_token::ID,
            &mint.pubkey(),
            &payer.pubkey(),
            None,
            decimals,
        )
        .expect("the instruction's arguments are valid");
        self.send(&[create, init], &[&payer, &mint]).await?;
        Ok(mint.pubkey())
    }

    /// A new token account of `mint` owned by `owner`, holding `amount` minted by the payer.
    pub async fn token_account(
        &mut self,
        mint: &Pubkey,
        owner: &Pubkey,
        amount: u64,
    ) -> Result<Pubkey, LocalnetError> {
        let payer = self.payer();
        let account = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await?;
        let mut instructions = vec![
            system_instruction::create_account(
                &payer.pubkey(),
                &account.pubkey(),
                rent.minimum_balance(spl_token::state::Account::LEN),
                spl_token::state::Account::LEN as u64,
                &spl_token::ID,
            ),
            spl_token::instruction::initialize_account3(
                &spl_token::ID,
                &account.pubkey(),
                mint,
                owner,
            )
            .expect("the instruction's arguments are valid"),
        ];
        instructions.extend(mint_to(mint, &account.pubkey(), &payer.pubkey(), amount));
        self.send(&instructions, &[&payer, &account]).await?;
        Ok(account.pubkey())
    }

    /// `owner`'s associated token account of `mint` (the one wallets use), created if it does
    /// not exist, credited with `amount` minted by the payer.
    pub async fn associated_token_account(
        &mut self,
        mint: &Pubkey,
        owner: &Pubkey,
        amount: u64,
    ) -> Result<Pubkey, LocalnetError> {
        let payer = self.payer();
        let account = associated_token::get_associated_token_address(owner, mint);
        let mut instructions = vec![
            associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &payer.pubkey(),
                owner,
                mint,
                &spl_token::ID,
            ),
        ];
        instructions.extend(mint_to(mint, &account, &payer.pubkey(), amount));
        self.send(&instructions, &[&payer]).await?;
        Ok(account)
    }

    /// The data of the account at `address`, if it exists.
    pub async fn account_data(
        &mut self,
        address: &Pubkey,
    ) -> Result<Option<Vec<u8>>, LocalnetError> {
        let account = self.ctx.banks_client.get_account(*address).await?;
        Ok(account.map(|account| account.data))
    }

    /// The balance of the token account `account`.
    pub async fn token_balance(&mut self, account: &Pubkey) -> Result<u64, LocalnetError> {
        let data = self
            .account_data(account)
            .await?
            .ok_or(LocalnetError::MissingAccount(*account))?;
        spl_token::state::Account::unpack(&data)
            .map(|account| account.amount)
            .map_err(|_| LocalnetError::NotATokenAccount(*account))
    }

    /// Lets `slots` slots pass.
    pub async fn advance(&mut self, slots: u64) -> Result<(), LocalnetError> {
        let slot = self.ctx.banks_client.get_root_slot().await? + slots;
        self.ctx
            .warp_to_slot(slot)
            .map_err(|_| LocalnetError::Warp(slot))
    }

    /// Serves Solana's JSON-RPC over this bank on `address` (port 0: any free port), and its
    /// subscriptions on the next port, as a validator does, until the runtime stops; returns
    /// the RPC endpoint's URL. Airdrops come from the payer. See [`json_rpc`] for the methods
    /// served.
    pub async fn serve_json_rpc(&self, address: SocketAddr) -> Result<String, LocalnetError> {
        json_rpc::serve(self.banks(), self.payer(), address).await
    }
}

/// `mint_to` of `amount` (none for nothing) by the mint authority `authority`.
fn mint_to(
    mint: &Pubkey,
    account: &Pubkey,
    authority: &Pubkey,
    amount: u64,
) -> Option<Instruction> {
    (amount > 0).then(|| {
        spl_token::instruction::mint_to(&spl_token::ID, mint, account, authority, &[], amount)
            .expect("the instruction's arguments are valid")
    })
}

/// Nonces of [`unique_transaction`] below this are the chores' ([`Localnet::transaction`]);
/// airdrops take the ones above, so that a chore and an airdrop never make one transaction.
const AIRDROP_NONCES: u32 = 1 << 19;

/// `instructions` in a transaction paid by the first signer on `blockhash`, made unique by
/// `nonce` (below `2 * AIRDROP_NONCES`, its compute-unit limit): the same instructions sent
/// twice are two transactions.
fn unique_transaction(
    instructions: &[Instruction],
    signers: &[&Keypair],
    blockhash: solana_hash::Hash,
    nonce: u32,
) -> Transaction {
    let mut all = vec![ComputeBudgetInstruction::set_compute_unit_limit(
        MAX_COMPUTE_UNITS - nonce,
    )];
    all.extend_from_slice(instructions);
    Transaction::new_signed_with_payer(&all, Some(&signers[0].pubkey()), signers, blockhash)
}
