//! The engine's view of Solana: the settlement program's accounts, read, and the operator's
//! transactions, sent, through a [`Ledger`] (JSON-RPC in production, [`RpcLedger`]).
//!
//! A watcher thread reads the program's exchange account every poll interval and hands the
//! deposits no batch has consumed to the sequencer, which credits each one exactly once, in
//! sequence order, after checking that the deposit chain the program computed is the one the
//! state machine computes. The settlement driver ([`crate::settler`]) sends the proven
//! batches.

use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use anchor_lang::AccountDeserialize as _;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use settlement::state::Exchange;
use solana_commitment_config::CommitmentConfig;
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_rpc_client::rpc_client::RpcClient;
use solana_signature::Signature;
use solana_signer::Signer as _;
use solana_transaction::Transaction;

use crate::sequencer::Command;

/// A deposit in the program's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainDeposit {
    pub sequence: u64,
    pub owner: [u8; 32],
    pub amount: u64,
    /// The program's deposit chain after this deposit.
    pub chain_after: [u8; 32],
}

/// Why the chain could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("RPC: {0}")]
    Rpc(String),
    /// The transaction reached the chain and failed (or was refused before it ran).
    #[error("the transaction failed: {0}")]
    Transaction(String),
    #[error("the account is not a settlement exchange account: {0}")]
    NotAnExchange(String),
    #[error("the account {0} does not exist")]
    MissingAccount(String),
    #[error("the account {address} is not a settlement {kind}: {reason}")]
    BadAccount {
        address: String,
        kind: &'static str,
        reason: String,
    },
    #[error("the exchange account serves exchange id {found}, the engine is {expected}")]
    WrongExchange { expected: String, found: String },
    #[error("invalid address {0:?}")]
    BadAddress(String),
}

/// Solana, as the engine uses it.
pub trait Ledger: Send + Sync {
    /// The data of the account at `address` (confirmed), or `None` if there is none.
    fn account_data(&self, address: &Pubkey) -> Result<Option<Vec<u8>>, ChainError>;
    /// Sends `instructions` in one transaction paid and signed by `payer`, over a recent
    /// blockhash, and waits until it is confirmed.
    fn send(&self, instructions: &[Instruction], payer: &Keypair) -> Result<Signature, ChainError>;
}

/// A base58 address.
pub fn parse_address(address: &str) -> Result<Pubkey, ChainError> {
    Pubkey::from_str(address).map_err(|_| ChainError::BadAddress(address.to_string()))
}

/// Solana over JSON-RPC.
pub struct RpcLedger {
    client: RpcClient,
}

impl std::fmt::Debug for RpcLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcLedger")
            .field("url", &self.client.url())
            .finish()
    }
}

impl RpcLedger {
    pub fn new(url: &str) -> Self {
        Self {
            client: RpcClient::new_with_commitment(url.to_string(), CommitmentConfig::confirmed()),
        }
    }
}

impl Ledger for RpcLedger {
    fn account_data(&self, address: &Pubkey) -> Result<Option<Vec<u8>>, ChainError> {
        self.client
            .get_account_with_commitment(address, self.client.commitment())
            .map(|response| response.value.map(|account| account.data))
            .map_err(|error| ChainError::Rpc(error.to_string()))
    }

    fn send(&self, instructions: &[Instruction], payer: &Keypair) -> Result<Signature, ChainError> {
        let blockhash = self
            .client
            .get_latest_blockhash()
            .map_err(|error| ChainError::Rpc(error.to_string()))?;
        self.client
            .send_and_confirm_transaction(&signed(instructions, payer, blockhash))
            .map_err(|error| match error.get_transaction_error() {
                Some(failed) => ChainError::Transaction(failed.to_string()),
                None => ChainError::Rpc(error.to_string()),
            })
    }
}

/// `instructions` in a transaction that `payer` alone pays for and signs.
pub fn signed(instructions: &[Instruction], payer: &Keypair, blockhash: Hash) -> Transaction {
    Transaction::new_signed_with_payer(instructions, Some(&payer.pubkey()), &[payer], blockhash)
}

/// The exchange account at `address`, refusing an account of another exchange.
pub fn read_exchange(
    ledger: &dyn Ledger,
    address: &Pubkey,
    exchange_id: &[u8; 32],
) -> Result<Exchange, ChainError> {
    let data = ledger
        .account_data(address)?
        .ok_or_else(|| ChainError::MissingAccount(address.to_string()))?;
    decode_exchange(&data, exchange_id)
}

fn decode_exchange(data: &[u8], exchange_id: &[u8; 32]) -> Result<Exchange, ChainError> {
    let exchange = Exchange::try_deserialize(&mut &data[..])
        .map_err(|error| ChainError::NotAnExchange(error.to_string()))?;
    if exchange.exchange_id != *exchange_id {
        return Err(ChainError::WrongExchange {
            expected: hex::encode(exchange_id),
            found: hex::encode(exchange.exchange_id),
        });
    }
    Ok(exchange)
}

/// The deposits of the exchange account `data` from sequence `from` on, refusing an account
/// of another exchange.
pub fn waiting_deposits(
    data: &[u8],
    from: u64,
    exchange_id: &[u8; 32],
) -> Result<Vec<ChainDeposit>, ChainError> {
    let exchange = decode_exchange(data, exchange_id)?;
    Ok(exchange
        .waiting_deposits(from)
        .map(|(sequence, queued)| ChainDeposit {
            sequence,
            owner: queued.owner.to_bytes(),
            amount: queued.amount,
            chain_after: queued.chain_after,
        })
        .collect())
}

/// Reads the exchange account at `exchange` every `interval` and sends its waiting deposits to
/// the sequencer, until `stop` is set or the sequencer is gone. Read errors are logged and
/// retried.
pub fn watch(
    ledger: Arc<dyn Ledger>,
    exchange: Pubkey,
    exchange_id: [u8; 32],
    interval: Duration,
    commands: SyncSender<Command>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let waiting = ledger
            .account_data(&exchange)
            .and_then(|data| data.ok_or_else(|| ChainError::MissingAccount(exchange.to_string())))
            .and_then(|data| waiting_deposits(&data, 0, &exchange_id));
        match waiting {
            Ok(deposits) if deposits.is_empty() => {}
            Ok(deposits) => {
                if commands.send(Command::ChainDeposits(deposits)).is_err() {
                    return;
                }
            }
            Err(error) => tracing::warn!(%error, "reading the deposit queue"),
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::AccountSerialize as _;
    use gnomon_settlement_verifier::batch::deposit_chain_next;
    use settlement::state::{QueuedDeposit, queue_slot};

    /// An exchange account holding `deposits` (`consumed` of them already consumed).
    fn exchange_account(
        exchange_id: [u8; 32],
        deposits: &[(u64, [u8; 32])],
        consumed: u64,
    ) -> Vec<u8> {
        let mut exchange = Exchange {
            exchange_id,
            ..Exchange::default()
        };
        for (sequence, &(amount, owner)) in (0..).zip(deposits) {
            // The program's own chain function, which the engine's must agree with.
            let chain = deposit_chain_next(&exchange.deposit_chain, sequence, &owner, amount);
            exchange.deposit_queue[queue_slot(sequence)] = QueuedDeposit {
                owner: Pubkey::new_from_array(owner),
                amount,
                chain_after: chain,
                reclaimed: false,
            };
            exchange.deposit_chain = chain;
            exchange.deposit_count = sequence + 1;
            if sequence < consumed {
                exchange.consumed_deposits = sequence + 1;
                exchange.consumed_chain = chain;
            }
        }
        let mut data = Vec::new();
        exchange.try_serialize(&mut data).unwrap();
        data
    }

    /// The exchange account as a test sets it, on a chain that takes no transactions.
    struct SharedAccount(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Ledger for SharedAccount {
        fn account_data(&self, _: &Pubkey) -> Result<Option<Vec<u8>>, ChainError> {
            Ok(Some(self.0.lock().unwrap().clone()))
        }

        fn send(&self, _: &[Instruction], _: &Keypair) -> Result<Signature, ChainError> {
            Err(ChainError::Rpc(
                "this test's chain takes no transactions".into(),
            ))
        }
    }

    /// Collateral per owner, and the next deposit sequence, once the engine has credited
    /// deposits up to `sequence`.
    fn credited(engine: &crate::Engine, sequence: u64) -> (Vec<([u8; 32], i64)>, u64) {
        for _ in 0..500 {
            let (reply, answer) = tokio::sync::oneshot::channel();
            engine
                .commands
                .send(Command::Read(Box::new(move |view| {
                    let accounts = view
                        .exchange
                        .accounts()
                        .skip(1)
                        .map(|(_, account)| (account.owner, account.collateral))
                        .collect();
                    let _ = reply.send((accounts, view.exchange.global().deposits.next_sequence));
                })))
                .unwrap();
            let seen: (Vec<([u8; 32], i64)>, u64) = answer.blocking_recv().unwrap();
            if seen.1 >= sequence {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("deposits up to {sequence} were not credited");
    }

    #[test]
    fn queued_deposits_are_credited_once_in_order_to_their_owners_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::config::Config::default();
        config.storage.data_dir = dir.path().to_path_buf();
        config.api.dev_faucet = false;
        config.prover.workers = 0;
        config.oracle.feed = crate::config::FeedKind::None;
        config.chain.poll_ms = 5;
        let engine = crate::Engine::start(config).unwrap();
        let id = engine.exchange_id();
        let (alice, bob) = ([1; 32], [2; 32]);
        let account = Arc::new(std::sync::Mutex::new(exchange_account(
            id,
            &[(10, alice), (20, bob)],
            0,
        )));
        engine
            .watch_deposits(Arc::new(SharedAccount(account.clone())), Pubkey::default())
            .unwrap();
        assert_eq!(credited(&engine, 2), (vec![(alice, 10), (bob, 20)], 2));

        // A later deposit of alice's goes to her account; polls that see the same queue again
        // credit nothing twice.
        *account.lock().unwrap() = exchange_account(id, &[(10, alice), (20, bob), (30, alice)], 1);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(credited(&engine, 3), (vec![(alice, 40), (bob, 20)], 3));

        // A deposit whose chain is not the state machine's is never credited.
        let mut forged = exchange_account(id, &[(10, alice), (20, bob), (30, alice), (40, bob)], 3);
        let mut exchange = Exchange::try_deserialize(&mut &forged[..]).unwrap();
        exchange.deposit_queue[queue_slot(3)].amount = 4_000;
        forged.clear();
        exchange.try_serialize(&mut forged).unwrap();
        *account.lock().unwrap() = forged;
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(credited(&engine, 3), (vec![(alice, 40), (bob, 20)], 3));
        engine.shutdown().unwrap();
    }

    #[test]
    fn waiting_deposits_are_those_not_consumed_from_the_requested_sequence() {
        let data = exchange_account([7; 32], &[(10, [1; 32]), (20, [2; 32]), (30, [1; 32])], 1);
        let waiting = waiting_deposits(&data, 0, &[7; 32]).unwrap();
        assert_eq!(
            waiting
                .iter()
                .map(|d| (d.sequence, d.amount))
                .collect::<Vec<_>>(),
            vec![(1, 20), (2, 30)]
        );
        assert_eq!(waiting_deposits(&data, 2, &[7; 32]).unwrap().len(), 1);
        assert!(matches!(
            waiting_deposits(&data, 0, &[8; 32]),
            Err(ChainError::WrongExchange { .. })
        ));
        assert!(matches!(
            waiting_deposits(&data[..data.len() - 1], 0, &[7; 32]),
            Err(ChainError::NotAnExchange(_))
        ));
        assert!(matches!(
            waiting_deposits(&[0; 16], 0, &[7; 32]),
            Err(ChainError::NotAnExchange(_))
        ));
    }
}
