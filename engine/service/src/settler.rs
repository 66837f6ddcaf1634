//! The settlement driver: proven batches to the settlement program on Solana, in order.
//!
//! Each step reads the exchange account first and does the one thing the chain's state calls
//! for: while a batch is accepted but not fully applied, the next `apply_balances` chunk from
//! the pending batch's cursors; otherwise `submit_batch` of the batch after the last one, once
//! its Groth16 proof is in the proof store. The chain is the only record of progress, so a
//! restarted driver (or one whose transaction timed out but landed) resumes exactly where the
//! chain is, and the program's checks (batch number, prior root, chunk cursors and list
//! hashes) make a double application impossible whatever the driver does.
//!
//! Before a proof is sent it is checked here as the program will check it (the public inputs
//! of the batch's header and the exchange's program commitment, against the verifying key
//! compiled into the program), so that a proof made with another circuit's keys is reported
//! instead of paid for. The signatures of what was sent are kept per batch in
//! `settlements/` under the data directory, for the API.
//!
//! It must never build a header or a list from anything but the sealed batch's own output:
//! the proof commits to those bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{AccountDeserialize as _, AnchorDeserialize as _};
use gnomon_core::batch::SealedBatch;
use gnomon_settlement_verifier::inputs::commitment_input;
use gnomon_settlement_verifier::verify::{self, verify_batch};
use serde::{Deserialize, Serialize};
use settlement::client::{self, APPLY_CHUNK_ENTRIES};
use settlement::state::PendingBatch;
use settlement::{BatchHeader, Proof, SettledBalance, Withdrawal};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_signer::Signer as _;

use crate::chain::{ChainError, Ledger, read_exchange};
use crate::files::{files_with_extension, read_checked, write_checked};
use crate::prover::{JobQueue, ProofStore};

/// Compute units an operator transaction asks for: the most a transaction may use (a proof
/// check is about 85k; a chunk creates up to [`APPLY_CHUNK_ENTRIES`] trader accounts).
const COMPUTE_UNITS: u32 = 1_400_000;

/// A batch's way onto the chain, as this engine sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settlement {
    /// The `submit_batch` transaction's signature (base58); none if another run of the
    /// engine sent it and stopped before recording it.
    pub submitted: Option<String>,
    /// The `apply_balances` transactions' signatures, in order.
    pub applied: Vec<String>,
    /// Every balance and withdrawal is applied: the batch is settled on chain.
    pub settled: bool,
}

/// Why a settlement step could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("batch {0} is not in the proving queue's store")]
    MissingBatch(u64),
    #[error("the Groth16 proof of batch {batch}: {reason}")]
    BadProof { batch: u64, reason: String },
    #[error(
        "the chain's state root is not batch {batch}'s prior root: the chain and the engine \
         disagree (is the engine's genesis the exchange's?)"
    )]
    RootMismatch { batch: u64 },
    #[error("the exchange has escaped: no batch will ever be accepted again")]
    Escaped,
    #[error("the exchange is paused")]
    Paused,
    #[error("recording a settlement: {0}")]
    Io(#[from] std::io::Error),
}

/// What a step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Nothing to send: the next batch has no Groth16 proof yet.
    Idle,
    Submitted {
        batch: u64,
    },
    Applied {
        batch: u64,
        settled: bool,
    },
}

/// The settlement records, one file per batch, and their copy in memory for the API.
#[derive(Debug)]
pub struct Settlements {
    dir: PathBuf,
    records: Mutex<BTreeMap<u64, Settlement>>,
}

impl Settlements {
    /// The records kept in `dir` (a damaged one is dropped: the chain has the truth).
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut records = BTreeMap::new();
        for path in files_with_extension(dir, "settlement")? {
            let bytes = std::fs::read(&path)?;
            let record = read_checked(&bytes)
                .and_then(|payload| serde_json::from_slice::<(u64, Settlement)>(payload).ok());
            match record {
                Some((batch, settlement)) => {
                    records.insert(batch, settlement);
                }
                None => tracing::warn!(path = %path.display(), "a damaged settlement record"),
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            records: Mutex::new(records),
        })
    }

    /// Every batch's record.
    pub fn all(&self) -> BTreeMap<u64, Settlement> {
        self.lock().clone()
    }

    /// Batch `number`'s record.
    pub fn get(&self, number: u64) -> Option<Settlement> {
        self.lock().get(&number).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Settlement>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the recorded batches up to `batch` settled.
    fn settled_through(&self, batch: u64) -> std::io::Result<()> {
        let unsettled: Vec<u64> = self
            .lock()
            .range(..=batch)
            .filter(|(_, record)| !record.settled)
            .map(|(&number, _)| number)
            .collect();
        for number in unsettled {
            self.update(number, |record| record.settled = true)?;
        }
        Ok(())
    }

    fn update(
        &self,
        batch: u64,
        change: impl FnOnce(&mut Settlement),
    ) -> std::io::Result<Settlement> {
        let mut records = self.lock();
        let mut record = records.get(&batch).cloned().unwrap_or_default();
        change(&mut record);
        let payload = serde_json::to_vec(&(batch, &record))?;
        write_checked(&self.dir, &format!("{batch:020}.settlement"), &payload)?;
        records.insert(batch, record.clone());
        Ok(record)
    }
}

/// The driver of one exchange.
pub struct Settler {
    ledger: Arc<dyn Ledger>,
    exchange: Pubkey,
    exchange_id: [u8; 32],
    operator: Keypair,
    proofs: ProofStore,
    queue: Arc<dyn JobQueue>,
    settlements: Arc<Settlements>,
}

impl std::fmt::Debug for Settler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settler")
            .field("exchange", &self.exchange)
            .field("operator", &self.operator.pubkey())
            .finish_non_exhaustive()
    }
}

impl Settler {
    /// The driver of the exchange account `exchange` (of the engine's `exchange_id`), paying
    /// and signing as `operator`, with the batches of `queue` and the Groth16 proofs of
    /// `proofs`.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        exchange: Pubkey,
        exchange_id: [u8; 32],
        operator: Keypair,
        proofs: ProofStore,
        queue: Arc<dyn JobQueue>,
        settlements: Arc<Settlements>,
    ) -> Self {
        Self {
            ledger,
            exchange,
            exchange_id,
            operator,
            proofs,
            queue,
            settlements,
        }
    }

    /// Sends the one transaction the chain's state calls for, if any.
    pub fn step(&self) -> Result<Progress, SettleError> {
        let exchange = read_exchange(self.ledger.as_ref(), &self.exchange, &self.exchange_id)?;
        if exchange.escaped {
            return Err(SettleError::Escaped);
        }
        if exchange.paused {
            return Err(SettleError::Paused);
        }
        // A batch whose last chunk landed without its confirmation reaching us.
        self.settlements.settled_through(exchange.applied_batch)?;
        if exchange.applying() {
            return self.apply_next_chunk(exchange.last_batch);
        }
        let number = exchange.next_batch_number();
        let Some(wrapped) = self.groth16_proof(number)? else {
            return Ok(Progress::Idle);
        };
        let batch = self.sealed(number)?;
        let header = header_of(&batch);
        if header.prior_root != exchange.state_root {
            return Err(SettleError::RootMismatch { batch: number });
        }
        // A proposed rotation takes effect at a slot the engine does not read: a proof of
        // either program may be the one the program accepts now, and the program decides.
        let current = (
            exchange.program_commitment,
            (&exchange.verifying_key).into(),
        );
        let proposed = (
            exchange.pending_commitment,
            (&exchange.pending_verifying_key).into(),
        );
        let programs: &[Program] = if exchange.rotation_slot != 0 {
            &[current, proposed]
        } else {
            &[current]
        };
        let proof = checked_proof(&batch, &wrapped, programs)?;
        let pending = client::pending_address(&self.exchange, number);
        let operator = self.operator.pubkey();
        let submit = client::submit_batch(&operator, &self.exchange, &pending, &header, &proof);
        let signature = self.send(submit)?;
        self.settlements.update(number, |record| {
            record.submitted = Some(signature);
        })?;
        tracing::info!(batch = number, "batch submitted for settlement");
        Ok(Progress::Submitted { batch: number })
    }

    /// Runs [`Self::step`] until nothing is left to send, then every `interval`, until `stop`
    /// is set. Errors are retried; each is logged when it first appears, not at every retry.
    pub fn run(&self, interval: Duration, stop: &AtomicBool) {
        let mut last_error = None;
        while !stop.load(Ordering::Relaxed) {
            match self.step() {
                Ok(progress) => {
                    last_error = None;
                    if progress == Progress::Idle {
                        std::thread::sleep(interval);
                    }
                }
                Err(error) => {
                    let message = error.to_string();
                    if last_error.as_ref() != Some(&message) {
                        tracing::warn!(error = message, "settling (retrying)");
                        last_error = Some(message);
                    }
                    std::thread::sleep(interval);
                }
            }
        }
    }

    fn apply_next_chunk(&self, number: u64) -> Result<Progress, SettleError> {
        let batch = self.sealed(number)?;
        let pending_address = client::pending_address(&self.exchange, number);
        let data = self
            .ledger
            .account_data(&pending_address)?
            .ok_or_else(|| ChainError::MissingAccount(pending_address.to_string()))?;
        let pending = PendingBatch::try_deserialize(&mut &data[..]).map_err(|error| {
            ChainError::BadAccount {
                address: pending_address.to_string(),
                kind: "pending batch",
                reason: error.to_string(),
            }
        })?;
        let (balances, withdrawals) = lists_of(&batch);
        let cursors = (
            pending.balances_applied as usize,
            pending.withdrawals_applied as usize,
        );
        let (balance_chunk, withdrawal_chunk) =
            client::next_chunk(&balances, &withdrawals, cursors, APPLY_CHUNK_ENTRIES);
        let settled = cursors.0 + balance_chunk.entries.len() == balances.len()
            && cursors.1 + withdrawal_chunk.entries.len() == withdrawals.len();
        let apply = client::apply_balances(
            &self.operator.pubkey(),
            &self.exchange,
            number,
            &balance_chunk,
            &withdrawal_chunk,
        );
        let signature = self.send(apply)?;
        self.settlements.update(number, |record| {
            record.applied.push(signature);
            record.settled = settled;
        })?;
        if settled {
            tracing::info!(batch = number, "batch settled");
        }
        Ok(Progress::Applied {
            batch: number,
            settled,
        })
    }

    fn send(&self, instruction: Instruction) -> Result<String, ChainError> {
        let budget = ComputeBudgetInstruction::set_compute_unit_limit(COMPUTE_UNITS);
        let signature = self.ledger.send(&[budget, instruction], &self.operator)?;
        Ok(signature.to_string())
    }

    fn sealed(&self, number: u64) -> Result<SealedBatch, SettleError> {
        self.queue
            .sealed(number)
            .ok_or(SettleError::MissingBatch(number))
    }

    /// The wrapped proof of batch `number`, once the Groth16 job has written it.
    fn groth16_proof(&self, number: u64) -> Result<Option<Vec<u8>>, SettleError> {
        match std::fs::read(self.proofs.groth16_path(number)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

/// The settlement header the guest committed for `batch`.
fn header_of(batch: &SealedBatch) -> BatchHeader {
    BatchHeader::try_from_slice(&batch.output.header())
        .expect("the header's layout is the program's (a test checks it)")
}

/// The batch's balance and withdrawal lists as the program takes them.
fn lists_of(batch: &SealedBatch) -> (Vec<SettledBalance>, Vec<Withdrawal>) {
    let balances = batch.output.balances.iter().map(|entry| SettledBalance {
        account: entry.account,
        owner: Pubkey::new_from_array(entry.owner),
        collateral: entry.collateral,
    });
    let withdrawals = batch.output.withdrawals.iter().map(|entry| Withdrawal {
        account: entry.account,
        owner: Pubkey::new_from_array(entry.owner),
        amount: entry.amount,
    });
    (balances.collect(), withdrawals.collect())
}

/// A guest program commitment and the verifying key of its wrap setup, as an exchange records
/// them.
type Program = ([u8; 32], verify::VerifyingKey);

/// The Groth16 proof in `wrapped` (proof and public inputs, as the wrap writes them), checked
/// as the program will check it: for `batch`'s header, by one of `programs` (the exchange's
/// program and its key), under that program's key.
fn checked_proof(
    batch: &SealedBatch,
    wrapped: &[u8],
    programs: &[Program],
) -> Result<Proof, SettleError> {
    let number = batch.input.batch_number;
    let bad = |reason: String| SettleError::BadProof {
        batch: number,
        reason,
    };
    let (proof, inputs) = gnomon_wrap::keys::split_wrapped(wrapped)
        .ok_or_else(|| bad(format!("{} bytes, not a wrapped proof", wrapped.len())))?;
    if inputs[1] != batch.output.digest() {
        return Err(bad("it proves another output than the batch's".into()));
    }
    let header = gnomon_settlement_verifier::batch::BatchHeader::from(&header_of(batch));
    // A rotation may keep the commitment and change only the key: the proof stands if it
    // verifies under any recorded program of the commitment it proves.
    let candidates: Vec<_> = programs
        .iter()
        .filter(|(program, _)| commitment_input(program) == Some(inputs[0]))
        .collect();
    if candidates.is_empty() {
        return Err(bad("it proves another program than the exchange's".into()));
    }
    let mut refusal = None;
    for (program, key) in candidates {
        match verify_batch(key, &proof, program, &header) {
            Ok(()) => {
                refusal = None;
                break;
            }
            Err(error) => refusal = Some(error),
        }
    }
    if let Some(error) = refusal {
        return Err(match error {
            verify::VerifyError::ProofRejected => bad(
                "it does not verify against the exchange's verifying key (wrapped with another \
                 setup's keys?)"
                    .into(),
            ),
            other => bad(format!("{other:?}")),
        });
    }
    Ok(Proof {
        a: proof.a,
        b: proof.b,
        c: proof.c,
    })
}

/// Reads an operator keypair file: the Solana CLI's JSON array of the 64 secret and public
/// key bytes.
pub fn read_keypair(path: &Path) -> anyhow::Result<Keypair> {
    let text = std::fs::read_to_string(path)?;
    let bytes: Vec<u8> = serde_json::from_str(&text)
        .map_err(|_| anyhow::anyhow!("{} is not a JSON array of bytes", path.display()))?;
    Keypair::try_from(bytes.as_slice())
        .map_err(|error| anyhow::anyhow!("{} is not a keypair: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gnomon_settlement_verifier::batch::BatchHeader as CoreHeader;
    use gnomon_settlement_verifier::inputs::public_inputs;
    use gnomon_settlement_verifier::{keys, test_circuit};

    fn sealed(traders: u32) -> SealedBatch {
        let mut sim = gnomon_sim::Sim::new(vec![gnomon_sim::unit_market()]);
        for seed in 1..=traders {
            sim.trader(seed, 1_000);
        }
        sim.seal()
    }

    /// The wrapped proof (proof, then public inputs) of `header` by `program`.
    fn wrapped(program: &[u8; 32], header: &CoreHeader) -> Vec<u8> {
        let (pk, _) = test_circuit::setup();
        let proof = test_circuit::prove(&pk, program, header, 7);
        let inputs = public_inputs(program, header).unwrap();
        [proof.to_bytes().as_slice(), &inputs[0], &inputs[1]].concat()
    }

    fn reason(result: Result<Proof, SettleError>) -> String {
        match result {
            Err(SettleError::BadProof { reason, .. }) => reason,
            other => panic!("expected a refused proof, got {other:?}"),
        }
    }

    #[test]
    fn only_a_proof_of_the_batch_by_the_exchange_program_under_its_key_is_sent() {
        let key = test_circuit::verifying_key();
        let program = [5u8; 32];
        let batch = sealed(2);
        let header = CoreHeader::from_bytes(&batch.output.header());
        let good = wrapped(&program, &header);
        assert!(checked_proof(&batch, &good, &[(program, key)]).is_ok());
        // During a proposed rotation, a proof of either program is sent.
        assert!(checked_proof(&batch, &good, &[([6u8; 32], key), (program, key)]).is_ok());
        // Under the program's own key only.
        let other_key = keys::verifying_key(&test_circuit::setup_seeded(2).1).unwrap();
        let refused = reason(checked_proof(
            &batch,
            &good,
            &[(program, other_key), ([6u8; 32], key)],
        ));
        assert!(refused.contains("verifying key"), "{refused}");
        // A rotation that changes only the key: a proof under either key is sent.
        assert!(checked_proof(&batch, &good, &[(program, other_key), (program, key)]).is_ok());

        let other_batch = CoreHeader::from_bytes(&sealed(3).output.header());
        let refusals = [
            (wrapped(&program, &other_batch), program, "another output"),
            (good.clone(), [6u8; 32], "another program"),
            (
                good[..good.len() - 1].to_vec(),
                program,
                "not a wrapped proof",
            ),
        ];
        for (bytes, exchange_program, expected) in refusals {
            let refused = reason(checked_proof(&batch, &bytes, &[(exchange_program, key)]));
            assert!(refused.contains(expected), "{refused}");
        }
        let mut tampered = good.clone();
        tampered[10] ^= 1;
        let refused = reason(checked_proof(&batch, &tampered, &[(program, key)]));
        assert!(refused.contains("verifying key"), "{refused}");
    }
}
