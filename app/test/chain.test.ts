import { readFileSync } from 'node:fs';
import { address } from '@solana/kit';
import { describe, expect, it } from 'vitest';
import {
  type Accounts,
  ChainError,
  associatedTokenAddress,
  claimInstruction,
  claimableNow,
  commitmentInput,
  decodeExchange,
  decodeTrader,
  depositInstruction,
  engineRootHex,
  refusal,
  settledCollateral,
  exchangeAddress,
  traderAddress,
  vaultAddress,
} from '../src/lib/chain';
import { fromHex, toHex } from '../src/lib/hex';

// The program's accounts and instructions as its own Rust client renders them
// (engine/service/tests/app_vectors.rs).
const vector = JSON.parse(readFileSync(new URL('./fixtures/settlement.json', import.meta.url), 'utf8'));

const accounts: Accounts = {
  program: address(vector.program),
  exchange: address(vector.exchange),
  mint: address(vector.mint),
  vault: address(vector.vault),
};

/** An instruction as the vector describes it. */
function described(instruction: ReturnType<typeof depositInstruction>) {
  return {
    programId: instruction.programAddress,
    accounts: instruction.accounts!.map((meta) => ({ address: meta.address, signer: meta.role >= 2, writable: meta.role % 2 === 1 })),
    dataHex: toHex(new Uint8Array(instruction.data!)),
  };
}

describe('the settlement program as the app reads and calls it', () => {
  it('derives the exchange, vault, trader and token account addresses the program uses', async () => {
    expect(await exchangeAddress(accounts.program, accounts.mint)).toBe(vector.exchange);
    expect(await vaultAddress(accounts.program, accounts.exchange)).toBe(vector.vault);
    expect(await traderAddress(accounts, vector.account)).toBe(vector.trader);
    expect(await associatedTokenAddress(address(vector.owner), accounts.mint)).toBe(vector.ownerToken);
  });

  it('builds the deposit and the claim exactly as the program client does', async () => {
    const owner = address(vector.owner);
    const ownerToken = address(vector.ownerToken);
    expect(described(depositInstruction(accounts, owner, ownerToken, BigInt(vector.deposit.amount)))).toEqual(vector.deposit.instruction);
    expect(described(claimInstruction(accounts, owner, await traderAddress(accounts, vector.account), ownerToken))).toEqual(vector.claim);
  });

  it('decodes the exchange account', () => {
    const decoded = decodeExchange(fromHex(vector.exchangeAccount.hex));
    const expected = vector.exchangeAccount;
    expect({
      paused: decoded.paused,
      escaped: decoded.escaped,
      exchangeId: toHex(decoded.exchangeId),
      collateralMint: decoded.collateralMint,
      vault: decoded.vault,
      programCommitment: toHex(decoded.programCommitment),
      programCommitmentInput: toHex(commitmentInput(decoded.programCommitment)!),
      stateRoot: toHex(decoded.stateRoot),
      lastBatch: decoded.lastBatch.toString(),
      appliedBatch: decoded.appliedBatch.toString(),
      depositCount: decoded.depositCount.toString(),
      consumedDeposits: decoded.consumedDeposits.toString(),
      lastSettlementSlot: decoded.lastSettlementSlot.toString(),
      escapeDelaySlots: decoded.escapeDelaySlots.toString(),
    }).toEqual({ ...expected, hex: undefined });
  });

  it('refuses to pack a commitment element that is not canonical BabyBear', () => {
    const commitment = new Uint8Array(32);
    new DataView(commitment.buffer).setUint32(12, 2_013_265_921, true);
    expect(commitmentInput(commitment)).toBeNull();
    new DataView(commitment.buffer).setUint32(12, 2_013_265_920, true);
    expect(commitmentInput(commitment)).not.toBeNull();
  });

  it('writes an on-chain state root as the engine writes roots', () => {
    const root = decodeExchange(fromHex(vector.exchangeAccount.hex)).stateRoot;
    expect(engineRootHex(root)).toBe('03020100070605040b0a09080f0e0d0c13121110171615141b1a19181f1e1d1c');
  });

  it('decodes a trader account and what a claim would pay', () => {
    const trader = decodeTrader(fromHex(vector.traderAccount.hex));
    const expected = vector.traderAccount;
    const text = (value: bigint) => value.toString();
    expect({
      ...trader,
      collateral: text(trader.collateral),
      claimable: text(trader.claimable),
      lastBatch: text(trader.lastBatch),
      stagedCollateral: text(trader.stagedCollateral),
      stagedWithdrawal: text(trader.stagedWithdrawal),
    }).toEqual({
      ...expected,
      hex: undefined,
    });
    // What batch 12 staged counts once batch 12 is applied, not before.
    expect(claimableNow(trader, 11n)).toBe(250_000_000n);
    expect(claimableNow(trader, 12n)).toBe(325_000_000n);
    expect(settledCollateral(trader, 11n)).toBe(-17n);
    expect(settledCollateral(trader, 12n)).toBe(1_000n);
    expect(settledCollateral({ ...trader, hasStagedCollateral: false }, 12n)).toBe(-17n);
  });

  it("says why a node refused a transaction in the program's own words", () => {
    const preflight = Object.assign(new Error('Transaction simulation failed'), {
      context: { logs: ['Program Tokenkeg invoke [2]', 'Program log: Error: insufficient funds', 'Program Tokenkeg failed: custom program error: 0x1'] },
    });
    expect(refusal(preflight)).toBe('Transaction simulation failed: Error: insufficient funds');
    expect(refusal(Object.assign(new Error('refused'), { context: { logs: ['Program X failed: custom program error: 0x1771'] } }))).toBe('refused: Program X failed: custom program error: 0x1771');
    expect(refusal(new Error('fetch failed'))).toBe('fetch failed');
  });

  it('refuses an account too short to be what it claims, with a typed error', () => {
    const exchange = fromHex(vector.exchangeAccount.hex);
    expect(() => decodeExchange(exchange.slice(0, exchange.length - 1))).toThrow(ChainError);
    expect(() => decodeTrader(new Uint8Array(40))).toThrow(ChainError);
  });
});
