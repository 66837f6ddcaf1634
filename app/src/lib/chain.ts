// The settlement program on Solana, as a trader's browser meets it: the exchange account (the
// batches applied on chain, the state root, the deposit queue), the trader's own account (what
// settled batches released to claim), the collateral in the trader's wallet, and the two
// transactions a trader signs: a deposit into the vault and the claim of a settled withdrawal.
// Transactions are built, compiled and sent with @solana/kit; the account layouts (the
// program's borsh, after Anchor's 8-byte discriminator), the derived addresses and the
// instruction encodings are checked against what the program's own Rust client renders
// (engine/service/tests/app_vectors.rs -> test/fixtures/settlement.json).

import {
  AccountRole,
  type Address,
  type Instruction,
  address,
  appendTransactionMessageInstructions,
  compileTransaction,
  createSolanaRpc,
  createTransactionMessage,
  getAddressDecoder,
  getAddressEncoder,
  getBase64EncodedWireTransaction,
  getBase64Encoder,
  getProgramDerivedAddress,
  getTransactionDecoder,
  getTransactionEncoder,
  getU32Encoder,
  getU64Encoder,
  pipe,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  type SignatureBytes,
  type Transaction,
} from '@solana/kit';
import { sha256 } from '@noble/hashes/sha256';
import type { Signer } from './sign';

export const TOKEN_PROGRAM = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
export const ASSOCIATED_TOKEN_PROGRAM = address('ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL');

/** Anchor's instruction discriminator: the first 8 bytes of SHA-256("global:<name>"). */
function discriminator(name: string): Uint8Array {
  return sha256(new TextEncoder().encode(`global:${name}`)).slice(0, 8);
}

/** Why the chain could not be read or written. */
export class ChainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainError';
  }
}

/** Reads the program's borsh fields in order. */
class Reader {
  private at = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, what: string, size: number) {
    if (bytes.length < size) throw new ChainError(`${what}: ${bytes.length} bytes, expected ${size}`);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  skip(length: number): void {
    this.at += length;
  }
  u8(): number {
    return this.bytes[this.at++];
  }
  bool(): boolean {
    return this.u8() !== 0;
  }
  u32(): number {
    const value = this.view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }
  u64(): bigint {
    const value = this.view.getBigUint64(this.at, true);
    this.at += 8;
    return value;
  }
  i64(): bigint {
    const value = this.view.getBigInt64(this.at, true);
    this.at += 8;
    return value;
  }
  bytes32(): Uint8Array {
    const value = this.bytes.slice(this.at, this.at + 32);
    this.at += 32;
    return value;
  }
  address(): Address {
    return getAddressDecoder().decode(this.bytes32());
  }
}

/** A Groth16 verifying key in the program's layout: alpha, beta, gamma, delta, three input points. */
const VERIFYING_KEY_BYTES = 64 + 3 * 128 + 3 * 64;
const QUEUED_DEPOSIT_BYTES = 32 + 8 + 32 + 1;
const DEPOSIT_QUEUE_CAPACITY = 32;
const EXCHANGE_BYTES = 8 + 5 + 32 * 6 + 2 * VERIFYING_KEY_BYTES + 32 + 8 * 2 + 32 + 8 * 3 + 32 + 8 + 32 + 8 * 2 + QUEUED_DEPOSIT_BYTES * DEPOSIT_QUEUE_CAPACITY;
const TRADER_BYTES = 8 + 2 + 32 + 4 + 32 + 8 * 4 + 1 + 8;

/** What a trader reads of the exchange account. */
export interface ExchangeAccount {
  paused: boolean;
  escaped: boolean;
  exchangeId: Uint8Array;
  collateralMint: Address;
  vault: Address;
  /** The guest's program commitment proofs must be of (eight little-endian u32s). */
  programCommitment: Uint8Array;
  /** The state root of the last batch applied, in the program's layout (the words' borsh). */
  stateRoot: Uint8Array;
  /** The last batch whose proof was verified, and the last one whose balances are all applied. */
  lastBatch: bigint;
  appliedBatch: bigint;
  depositCount: bigint;
  consumedDeposits: bigint;
  lastSettlementSlot: bigint;
  escapeDelaySlots: bigint;
}

export function decodeExchange(bytes: Uint8Array): ExchangeAccount {
  const r = new Reader(bytes, 'the exchange account', EXCHANGE_BYTES);
  r.skip(8 + 3); // discriminator, version, bumps
  const paused = r.bool();
  const escaped = r.bool();
  const exchangeId = r.bytes32();
  r.skip(64); // admin, operator
  const collateralMint = r.address();
  const vault = r.address();
  const programCommitment = r.bytes32();
  r.skip(VERIFYING_KEY_BYTES + 32 + VERIFYING_KEY_BYTES + 16); // its key, the pending program, rotation slots
  const stateRoot = r.bytes32();
  const lastBatch = r.u64();
  const appliedBatch = r.u64();
  const depositCount = r.u64();
  r.skip(32); // deposit chain
  const consumedDeposits = r.u64();
  r.skip(32); // consumed chain
  const lastSettlementSlot = r.u64();
  const escapeDelaySlots = r.u64();
  return { paused, escaped, exchangeId, collateralMint, vault, programCommitment, stateRoot, lastBatch, appliedBatch, depositCount, consumedDeposits, lastSettlementSlot, escapeDelaySlots };
}

/** A trader's account on chain: its settled collateral and what is released to claim. */
export interface TraderAccount {
  account: number;
  owner: Address;
  collateral: bigint;
  claimable: bigint;
  lastBatch: bigint;
  /** The collateral batch `lastBatch` settles, once that batch is applied. */
  stagedCollateral: bigint;
  hasStagedCollateral: boolean;
  /** Withdrawn in batch `lastBatch`, claimable once that batch is applied. */
  stagedWithdrawal: bigint;
}

export function decodeTrader(bytes: Uint8Array): TraderAccount {
  const r = new Reader(bytes, 'the trader account', TRADER_BYTES);
  r.skip(8 + 2 + 32); // discriminator, version, bump, exchange
  const account = r.u32();
  const owner = r.address();
  const collateral = r.i64();
  const claimable = r.u64();
  const lastBatch = r.u64();
  const stagedCollateral = r.i64();
  const hasStagedCollateral = r.bool();
  const stagedWithdrawal = r.u64();
  return { account, owner, collateral, claimable, lastBatch, stagedCollateral, hasStagedCollateral, stagedWithdrawal };
}

// The program stages what a batch gives an account and moves it in lazily, at the account's
// next claim or escape, once the whole batch is applied (`Trader::settle`); these read the
// account as that would leave it.

/** The account's settled collateral as of the batches applied up to `appliedBatch`. */
export function settledCollateral(trader: TraderAccount, appliedBatch: bigint): bigint {
  return trader.lastBatch <= appliedBatch && trader.hasStagedCollateral ? trader.stagedCollateral : trader.collateral;
}

/** What `claim_withdrawal` would pay now. */
export function claimableNow(trader: TraderAccount, appliedBatch: bigint): bigint {
  return trader.lastBatch <= appliedBatch ? trader.claimable + trader.stagedWithdrawal : trader.claimable;
}

const BABY_BEAR_MODULUS = 2_013_265_921;

/** The Groth16 public input of a program commitment (gnomon-settlement-verifier's
 * `commitment_input`): its eight BabyBear elements packed as sum e_i * 2^(31 * (7 - i)),
 * 32 bytes big-endian; null if an element is not canonical. */
export function commitmentInput(commitment: Uint8Array): Uint8Array | null {
  const view = new DataView(commitment.buffer, commitment.byteOffset, commitment.byteLength);
  let packed = 0n;
  for (let index = 0; index < 8; index += 1) {
    const element = view.getUint32(4 * index, true);
    if (element >= BABY_BEAR_MODULUS) return null;
    packed = (packed << 31n) | BigInt(element);
  }
  const out = new Uint8Array(32);
  for (let index = 31; index >= 0; index -= 1, packed >>= 8n) out[index] = Number(packed & 0xffn);
  return out;
}

/** A state root in the program's layout (eight 32-bit words, little-endian) as the engine's
 * API writes roots: each word as 8 hex digits. */
export function engineRootHex(stateRoot: Uint8Array): string {
  const view = new DataView(stateRoot.buffer, stateRoot.byteOffset, stateRoot.byteLength);
  return Array.from({ length: 8 }, (_, word) => view.getUint32(4 * word, true).toString(16).padStart(8, '0')).join('');
}

const text = (value: string) => new TextEncoder().encode(value);

/** The addresses of one exchange a trader's transactions name. */
export interface Accounts {
  program: Address;
  exchange: Address;
  mint: Address;
  vault: Address;
}

export async function traderAddress(accounts: Accounts, account: number): Promise<Address> {
  const encoder = getAddressEncoder();
  const [found] = await getProgramDerivedAddress({ programAddress: accounts.program, seeds: [text('trader'), encoder.encode(accounts.exchange), getU32Encoder().encode(account)] });
  return found;
}

export async function exchangeAddress(program: Address, mint: Address): Promise<Address> {
  const [found] = await getProgramDerivedAddress({ programAddress: program, seeds: [text('exchange'), getAddressEncoder().encode(mint)] });
  return found;
}

export async function vaultAddress(program: Address, exchange: Address): Promise<Address> {
  const [found] = await getProgramDerivedAddress({ programAddress: program, seeds: [text('vault'), getAddressEncoder().encode(exchange)] });
  return found;
}

/** The owner's associated token account of `mint`: the one wallets hold tokens in. */
export async function associatedTokenAddress(owner: Address, mint: Address): Promise<Address> {
  const encoder = getAddressEncoder();
  const [found] = await getProgramDerivedAddress({
    programAddress: ASSOCIATED_TOKEN_PROGRAM,
    seeds: [encoder.encode(owner), encoder.encode(TOKEN_PROGRAM), encoder.encode(mint)],
  });
  return found;
}

/** `deposit`: `amount` token atoms from the owner's token account into the vault, queued for the engine. */
export function depositInstruction(accounts: Accounts, owner: Address, ownerToken: Address, amount: bigint): Instruction {
  const data = new Uint8Array(16);
  data.set(discriminator('deposit'));
  data.set(getU64Encoder().encode(amount), 8);
  return {
    programAddress: accounts.program,
    accounts: [
      { address: owner, role: AccountRole.READONLY_SIGNER },
      { address: accounts.exchange, role: AccountRole.WRITABLE },
      { address: accounts.mint, role: AccountRole.READONLY },
      { address: ownerToken, role: AccountRole.WRITABLE },
      { address: accounts.vault, role: AccountRole.WRITABLE },
      { address: TOKEN_PROGRAM, role: AccountRole.READONLY },
    ],
    data,
  };
}

/** `claim_withdrawal`: everything settled batches released to engine account `trader`, paid to the owner's token account. */
export function claimInstruction(accounts: Accounts, owner: Address, trader: Address, ownerToken: Address): Instruction {
  return {
    programAddress: accounts.program,
    accounts: [
      { address: owner, role: AccountRole.READONLY_SIGNER },
      { address: accounts.exchange, role: AccountRole.WRITABLE },
      { address: trader, role: AccountRole.WRITABLE },
      { address: accounts.mint, role: AccountRole.READONLY },
      { address: ownerToken, role: AccountRole.WRITABLE },
      { address: accounts.vault, role: AccountRole.WRITABLE },
      { address: TOKEN_PROGRAM, role: AccountRole.READONLY },
    ],
    data: discriminator('claim_withdrawal'),
  };
}

/** A token account's balance: the SPL layout's u64 after mint and owner. */
export function tokenAmount(bytes: Uint8Array): bigint {
  if (bytes.length < 72) throw new ChainError(`a token account: ${bytes.length} bytes`);
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(64, true);
}

/** How long a sent transaction may take to be confirmed. */
const CONFIRM_TIMEOUT_MS = 60_000;

/** One exchange over one JSON-RPC endpoint. */
export class Chain {
  private readonly rpc;

  private constructor(rpcUrl: string, readonly accounts: Accounts) {
    this.rpc = createSolanaRpc(rpcUrl);
  }

  /** The exchange at `exchange` (base58) of `program`, as the engine's status publishes them;
   * its mint and vault are read from its account. */
  static async open(rpcUrl: string, program: string, exchange: string): Promise<Chain> {
    const programAddress = address(program);
    const exchangeAddress = address(exchange);
    const probe = new Chain(rpcUrl, { program: programAddress, exchange: exchangeAddress, mint: exchangeAddress, vault: exchangeAddress });
    const state = await probe.exchange();
    return new Chain(rpcUrl, { program: programAddress, exchange: exchangeAddress, mint: state.collateralMint, vault: state.vault });
  }

  private async data(at: Address, owner: Address): Promise<Uint8Array | null> {
    const { value } = await this.rpc.getAccountInfo(at, { encoding: 'base64', commitment: 'confirmed' }).send();
    if (!value) return null;
    if (value.owner !== owner) throw new ChainError(`${at} is owned by ${value.owner}, not ${owner}`);
    return new Uint8Array(getBase64Encoder().encode(value.data[0]));
  }

  async exchange(): Promise<ExchangeAccount> {
    const data = await this.data(this.accounts.exchange, this.accounts.program);
    if (!data) throw new ChainError(`no exchange account at ${this.accounts.exchange}`);
    return decodeExchange(data);
  }

  /** Engine account `account`'s record on chain; null before a batch settled it. */
  async trader(account: number): Promise<TraderAccount | null> {
    const data = await this.data(await traderAddress(this.accounts, account), this.accounts.program);
    return data && decodeTrader(data);
  }

  /** The collateral tokens in `owner`'s wallet (its associated token account). */
  async walletTokens(owner: Address): Promise<bigint> {
    const data = await this.data(await associatedTokenAddress(owner, this.accounts.mint), TOKEN_PROGRAM);
    return data ? tokenAmount(data) : 0n;
  }

  async deposit(signer: Signer, amount: bigint): Promise<string> {
    const owner = ownerAddress(signer);
    return this.send(signer, depositInstruction(this.accounts, owner, await associatedTokenAddress(owner, this.accounts.mint), amount));
  }

  async claim(signer: Signer, account: number): Promise<string> {
    const owner = ownerAddress(signer);
    return this.send(signer, claimInstruction(this.accounts, owner, await traderAddress(this.accounts, account), await associatedTokenAddress(owner, this.accounts.mint)));
  }

  /** Sends `instruction` paid and signed by `signer`; resolves with the signature once the
   * transaction is confirmed, rejects with the program's error if it failed. */
  private async send(signer: Signer, instruction: Instruction): Promise<string> {
    const { value: blockhash } = await this.rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayer(ownerAddress(signer), m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
      (m) => appendTransactionMessageInstructions([instruction], m),
    );
    const signed = await signTransaction(signer, compileTransaction(message));
    const signature = await this.rpc
      .sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: 'base64', preflightCommitment: 'confirmed' })
      .send()
      .catch((error: unknown) => {
        throw new ChainError(refusal(error));
      });
    const deadline = Date.now() + CONFIRM_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const { value } = await this.rpc.getSignatureStatuses([signature]).send();
      const status = value[0];
      if (status?.err) throw new ChainError(`the transaction failed: ${JSON.stringify(status.err, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
      if (status && (status.confirmationStatus === 'confirmed' || status.confirmationStatus === 'finalized')) return signature;
      await new Promise((r) => setTimeout(r, 400));
    }
    throw new ChainError(`${signature} was not confirmed in ${CONFIRM_TIMEOUT_MS / 1000} s`);
  }
}

/** Why a node refused a transaction: the error a program logged in its simulation (its own
 * words), else the last log line that names an error, else the error's message. */
export function refusal(error: unknown): string {
  const logs = (error as { context?: { logs?: unknown } })?.context?.logs;
  const lines = Array.isArray(logs) ? logs.filter((line): line is string => typeof line === 'string') : [];
  const said = lines.find((line) => line.startsWith('Program log: Error')) ?? lines.filter((line) => /error/i.test(line)).pop();
  const message = error instanceof Error ? error.message : String(error);
  return said ? `${message}: ${said.replace(/^Program log: /, '')}` : message;
}

/** The Solana address of the signer's key. */
export function ownerAddress(signer: Signer): Address {
  return getAddressDecoder().decode(signer.publicKey);
}

/** A wallet signs the whole wire transaction (Wallet Standard's solana:signTransaction); the
 * local key signs the message bytes, as every Solana signature does. */
async function signTransaction(signer: Signer, transaction: Transaction): Promise<Transaction> {
  if (signer.signTransaction) {
    const wire = await signer.signTransaction(new Uint8Array(getTransactionEncoder().encode(transaction)));
    const signed = getTransactionDecoder().decode(wire);
    if (!signed.signatures[ownerAddress(signer)]) throw new ChainError('the wallet returned the transaction unsigned');
    return signed;
  }
  const signature = (await signer.sign(new Uint8Array(transaction.messageBytes))) as SignatureBytes;
  return { ...transaction, signatures: { ...transaction.signatures, [ownerAddress(signer)]: signature } };
}
