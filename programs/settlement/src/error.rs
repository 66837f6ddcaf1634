//! Every way an instruction can be refused. Each refusal has its own code (Anchor numbers
//! them from 6000 in this order: append, never reorder) and changes nothing: a transaction
//! that fails is rolled back whole.

use anchor_lang::prelude::*;

#[error_code]
#[derive(PartialEq, Eq)]
pub enum SettlementError {
    #[msg("signer is not the exchange admin")]
    NotAdmin,
    #[msg("signer is not the exchange operator")]
    NotOperator,
    #[msg("signer is not the owner of this trader account")]
    NotTraderOwner,
    #[msg("token account or mint is not the exchange's collateral mint")]
    WrongMint,
    #[msg("account is not the exchange's vault")]
    WrongVault,
    #[msg("trader account is not the PDA of the entry's engine account")]
    WrongTraderAccount,
    #[msg("trader account belongs to another wallet than the entry's owner")]
    TraderOwnerMismatch,
    #[msg("one trader account must follow for each entry of the chunk, in order")]
    TraderAccountCount,
    #[msg("program commitment element is not a canonical BabyBear value")]
    NonCanonicalCommitment,
    #[msg("delay must be at least one slot")]
    InvalidDelay,
    #[msg("amount must be positive")]
    ZeroAmount,
    #[msg("amount exceeds what the engine can credit (i64::MAX)")]
    AmountTooLarge,
    #[msg("the deposit queue is full until the next batch consumes it")]
    DepositQueueFull,
    #[msg("the exchange is paused")]
    Paused,
    #[msg("the escape hatch is open: the exchange accepts no more batches or deposits")]
    ExchangeEscaped,
    #[msg("the verifying key has a point off its curve or group, or an identity point")]
    InvalidVerifyingKey,
    #[msg("Groth16 proof does not verify for this program commitment and batch")]
    InvalidProof,
    #[msg("batch number is not the last accepted batch plus one")]
    BatchOutOfOrder,
    #[msg("batch's prior state root is not the exchange's state root")]
    PriorRootMismatch,
    #[msg("the previous batch is still being applied")]
    PreviousBatchPending,
    #[msg("batch's deposits do not start where the consumed deposits end")]
    DepositRangeMismatch,
    #[msg("batch consumes deposits that were never made")]
    DepositsNotQueued,
    #[msg("batch's deposit chain does not match the on-chain deposit chain")]
    DepositChainMismatch,
    #[msg("chunk starts after the next entry to apply")]
    ChunkOutOfOrder,
    #[msg("chunk starts before the next entry to apply: already applied")]
    ChunkAlreadyApplied,
    #[msg("chunk goes past the end of the batch's list")]
    ChunkTooLong,
    #[msg("chunk does not match the batch's committed list")]
    ChunkMismatch,
    #[msg("chunk is empty but entries remain")]
    EmptyChunk,
    #[msg("arithmetic overflow")]
    Overflow,
    #[msg("nothing to claim")]
    NothingToClaim,
    #[msg("the escape hatch is not open: a batch settled within the delay")]
    EscapeHatchClosed,
    #[msg("no settled collateral to take out")]
    NothingToEscape,
    #[msg("deposit was consumed by a batch; its collateral is in the trader's balance")]
    DepositConsumed,
    #[msg("deposit was already reclaimed")]
    DepositAlreadyReclaimed,
    #[msg("no such deposit in the queue")]
    UnknownDeposit,
    #[msg("signer is not the wallet that made this deposit")]
    NotDepositOwner,
    #[msg("batch belongs to another exchange (exchange id)")]
    WrongExchangeId,
}
