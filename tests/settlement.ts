// The settlement program over JSON-RPC: `anchor test` (surfpool by default, or
// `--validator legacy`) against the SBF build, or scripts/test-anchor against gnomon-localnet
// (the program natively, in solana-program-test's bank): the cases of programs/settlement/tests.
// Batches carry real Groth16 proofs of the test circuit, rendered by the Rust test
// `the_typescript_fixtures_are_current` into tests/fixtures/settlement.json.

import * as anchor from "@anchor-lang/core";
import { BN, Program } from "@anchor-lang/core";
import {
  TOKEN_PROGRAM_ID,
  createAccount,
  createMint,
  getAccount,
  mintTo,
} from "@solana/spl-token";
import {
  ComputeBudgetProgram,
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SystemProgram,
} from "@solana/web3.js";
import { assert } from "chai";
import { createHash } from "crypto";
import fixtures from "./fixtures/settlement.json";

type Bytes = number[];
type Entry = { account: number; owner: string; collateral?: number; amount?: number };
type FixtureBatch = (typeof fixtures.batches)[number];

const provider = anchor.AnchorProvider.env();
anchor.setProvider(provider);
const program = anchor.workspace.Settlement as Program;
const connection = provider.connection;

const seed = (label: string, ...parts: Buffer[]) =>
  PublicKey.findProgramAddressSync([Buffer.from(label), ...parts], program.programId)[0];
const u32 = (value: number) => {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value);
  return out;
};
const u64 = (value: number) => new BN(value).toArrayLike(Buffer, "le", 8);

/// The refusal's name, as the program's error enum spells it: from Anchor's error log where the
/// program runs on SBF, from the custom error code where it runs natively (gnomon-localnet),
/// whose program logs go to the host rather than to the transaction.
function refusal(error: unknown): string | undefined {
  const logs = (error as { logs?: string[] }).logs ?? [];
  const anchorError = anchor.AnchorError.parse(logs);
  if (anchorError) {
    return anchorError.error.errorCode.code;
  }
  const custom = /custom program error: (0x[0-9a-f]+)/.exec([String(error), ...logs].join("\n"));
  if (custom === null) {
    return undefined;
  }
  const code = parseInt(custom[1], 16);
  return program.rawIdl.errors?.find((e) => e.code === code)?.name ?? `error ${code}`;
}

async function refused(action: Promise<unknown>, code: string) {
  try {
    await action;
  } catch (error) {
    assert.equal(refusal(error), code, String(error));
    return;
  }
  assert.fail(`expected ${code}`);
}

function header(batch: FixtureBatch) {
  const h = batch.header;
  return {
    exchangeId: h.exchangeId,
    batchNumber: new BN(h.batchNumber),
    priorRoot: h.priorRoot,
    newRoot: h.newRoot,
    time: { startMs: new BN(h.time.startMs), endMs: new BN(h.time.endMs) },
    deposits: {
      firstSequence: new BN(h.deposits.firstSequence),
      endSequence: new BN(h.deposits.endSequence),
      chainBefore: h.deposits.chainBefore,
      chainAfter: h.deposits.chainAfter,
    },
    oracleDigest: h.oracleDigest,
    balanceCount: h.balanceCount,
    balancesHash: h.balancesHash,
    withdrawalCount: h.withdrawalCount,
    withdrawalsHash: h.withdrawalsHash,
  };
}

describe("settlement", () => {
  const admin = (provider.wallet as anchor.Wallet).payer;
  const operator = Keypair.generate();
  const intruder = Keypair.generate();
  const traders = fixtures.traders.map((t) => Keypair.fromSeed(Uint8Array.from(t.seed)));
  const tokens: PublicKey[] = [];
  let mint: PublicKey;
  let exchange: PublicKey;
  let vault: PublicKey;

  async function exchangeState(): Promise<{ operator: PublicKey; appliedBatch: BN }> {
    const info = await connection.getAccountInfo(exchange);
    if (info === null) {
      throw new Error("the exchange does not exist");
    }
    return program.coder.accounts.decode("exchange", info.data);
  }

  const trader = (account: number) => seed("trader", exchange.toBuffer(), u32(account));
  const pending = (batch: number) => seed("pending", exchange.toBuffer(), u64(batch));

  function submit(batch: FixtureBatch, signer: Keypair, proof = batch.proof) {
    return program.methods
      .submitBatch(header(batch), proof)
      .accountsStrict({
        operator: signer.publicKey,
        exchange,
        pendingBatch: pending(batch.header.batchNumber),
        systemProgram: SystemProgram.programId,
      })
      .preInstructions([ComputeBudgetProgram.setComputeUnitLimit({ units: 400_000 })])
      .signers([signer])
      .rpc();
  }

  function apply(batch: FixtureBatch, balances: [number, number], withdrawals: [number, number]) {
    const chunk = (entries: Entry[], [start, end]: [number, number], value: "collateral" | "amount") => ({
      first: start,
      entries: entries.slice(start, end).map((e) => ({
        account: e.account,
        owner: new PublicKey(e.owner),
        [value]: new BN(e[value] as number),
      })),
      tailHash: tail(entries, end, value),
    });
    const named = [
      ...batch.balances.slice(...balances),
      ...batch.withdrawals.slice(...withdrawals),
    ].map((e) => ({ pubkey: trader(e.account), isSigner: false, isWritable: true }));
    return program.methods
      .applyBalances(chunk(batch.balances, balances, "collateral"), chunk(batch.withdrawals, withdrawals, "amount"))
      .accountsStrict({
        operator: operator.publicKey,
        exchange,
        pendingBatch: pending(batch.header.batchNumber),
        systemProgram: SystemProgram.programId,
      })
      .remainingAccounts(named)
      .signers([operator])
      .rpc();
  }

  // The list hash of entries[end..]: sha256(entry || hash of the rest), from the back.
  function tail(entries: Entry[], end: number, value: "collateral" | "amount"): Bytes {
    let hash = Buffer.alloc(32);
    for (let i = entries.length - 1; i >= end; i--) {
      const e = entries[i];
      const bytes = Buffer.concat([
        u32(e.account),
        new PublicKey(e.owner).toBuffer(),
        new BN(e[value] as number).toTwos(64).toArrayLike(Buffer, "le", 8),
        hash,
      ]);
      hash = createHash("sha256").update(bytes).digest();
    }
    return [...hash];
  }

  before(async () => {
    for (const key of [operator, intruder, ...traders]) {
      const signature = await connection.requestAirdrop(key.publicKey, 10 * LAMPORTS_PER_SOL);
      await connection.confirmTransaction(signature);
    }
    mint = await createMint(connection, admin, admin.publicKey, null, 6);
    exchange = seed("exchange", mint.toBuffer());
    vault = seed("vault", exchange.toBuffer());
    for (const [index, key] of traders.entries()) {
      tokens.push(await createAccount(connection, admin, mint, key.publicKey, Keypair.generate()));
      await mintTo(connection, admin, mint, tokens[index], admin, 1_000_000);
    }
  });

  it("initializes the exchange", async () => {
    await program.methods
      .initializeExchange({
        exchangeId: fixtures.exchangeId,
        operator: operator.publicKey,
        programCommitment: fixtures.programCommitment,
        genesisRoot: fixtures.genesisRoot,
        verifyingKey: fixtures.verifyingKey,
        escapeDelaySlots: new BN(fixtures.escapeDelaySlots),
        rotationDelaySlots: new BN(fixtures.rotationDelaySlots),
      })
      .accountsStrict({
        admin: admin.publicKey,
        collateralMint: mint,
        exchange,
        vault,
        tokenProgram: TOKEN_PROGRAM_ID,
        systemProgram: SystemProgram.programId,
      })
      .rpc();
    assert.ok((await exchangeState()).operator.equals(operator.publicKey));
  });

  it("refuses the operator change from anyone but the admin", async () => {
    await refused(
      program.methods
        .setOperator(intruder.publicKey)
        .accountsStrict({ admin: intruder.publicKey, exchange })
        .signers([intruder])
        .rpc(),
      "NotAdmin",
    );
  });

  /// Trader `index` deposits `amount` from its token account.
  const deposit = (index: number, amount: number) =>
    program.methods
      .deposit(new BN(amount))
      .accountsStrict({
        owner: traders[index].publicKey,
        exchange,
        collateralMint: mint,
        ownerToken: tokens[index],
        vault,
        tokenProgram: TOKEN_PROGRAM_ID,
      })
      .signers([traders[index]])
      .rpc();

  it("takes deposits into the vault and the queue", async () => {
    for (const [index, { deposit: amount }] of fixtures.traders.entries()) {
      await deposit(index, amount);
    }
    assert.equal((await getAccount(connection, vault)).amount, 1_000_000n);
    await refused(deposit(0, 0), "ZeroAmount");
  });

  it("pauses and resumes deposits, on the admin's word only", async () => {
    const setPaused = (paused: boolean, signer: Keypair) =>
      program.methods
        .setPaused(paused)
        .accountsStrict({ admin: signer.publicKey, exchange })
        .signers([signer])
        .rpc();
    await refused(setPaused(true, intruder), "NotAdmin");
    await setPaused(true, admin);
    await refused(deposit(0, 1), "Paused");
    await setPaused(false, admin);
    assert.equal((await getAccount(connection, vault)).amount, 1_000_000n);
  });

  it("refuses batches from others, tampered proofs, proofs under another key and tampered headers", async () => {
    const batch = fixtures.batches[0];
    await refused(submit(batch, intruder), "NotOperator");
    const tampered = { ...batch.proof, c: [...batch.proof.c] };
    tampered.c[40] ^= 1;
    await refused(submit(batch, operator, tampered), "InvalidProof");
    // A real proof of the same batch, under another setup's verifying key.
    await refused(submit(batch, operator, batch.otherKeyProof), "InvalidProof");
    const forged = { ...batch, header: { ...batch.header, newRoot: batch.header.newRoot.map((b) => b ^ 1) } };
    await refused(submit(forged, operator), "InvalidProof");
  });

  it("accepts a proven batch and applies it chunk by chunk, each chunk once", async () => {
    const batch = fixtures.batches[0];
    await submit(batch, operator);
    await refused(apply(batch, [1, 2], [0, 0]), "ChunkOutOfOrder");
    await apply(batch, [0, 1], [0, 0]);
    await refused(apply(batch, [0, 1], [0, 0]), "ChunkAlreadyApplied");
    await apply(batch, [1, 2], [0, 0]);
    assert.equal((await exchangeState()).appliedBatch.toNumber(), 1);
  });

  it("refuses a replayed batch, settles the next and pays the withdrawal", async () => {
    const [first, second] = fixtures.batches;
    await refused(
      program.methods
        .submitBatch(header(first), first.proof)
        .accountsStrict({
          operator: operator.publicKey,
          exchange,
          pendingBatch: pending(2),
          systemProgram: SystemProgram.programId,
        })
        .preInstructions([ComputeBudgetProgram.setComputeUnitLimit({ units: 400_000 })])
        .signers([operator])
        .rpc(),
      "BatchOutOfOrder",
    );
    await submit(second, operator);
    await apply(second, [0, 2], [0, 1]);
    const before = (await getAccount(connection, tokens[0])).amount;
    await program.methods
      .claimWithdrawal()
      .accountsStrict({
        owner: traders[0].publicKey,
        exchange,
        trader: trader(1),
        collateralMint: mint,
        ownerToken: tokens[0],
        vault,
        tokenProgram: TOKEN_PROGRAM_ID,
      })
      .signers([traders[0]])
      .rpc();
    assert.equal((await getAccount(connection, tokens[0])).amount, before + 100_000n);
  });

  it("keeps the escape hatch closed while batches settle", async () => {
    await refused(
      program.methods
        .escape()
        .accountsStrict({
          owner: traders[1].publicKey,
          exchange,
          trader: trader(2),
          collateralMint: mint,
          ownerToken: tokens[1],
          vault,
          tokenProgram: TOKEN_PROGRAM_ID,
        })
        .signers([traders[1]])
        .rpc(),
      "EscapeHatchClosed",
    );
  });
  it("proposes a program rotation on the admin's word only, with a key whose points are valid", async () => {
    const rotate = (commitment: Bytes, key: typeof fixtures.verifyingKey, signer: Keypair) =>
      program.methods
        .rotateProgram(commitment, key)
        .accountsStrict({ admin: signer.publicKey, exchange })
        .signers([signer])
        .rpc();
    // Another program's commitment: eight canonical BabyBear words (1 to 8).
    const next = [...Array(32).keys()].map((index) => (index % 4 === 0 ? index / 4 + 1 : 0));
    await refused(rotate(next, fixtures.verifyingKey, intruder), "NotAdmin");
    const offCurve = { ...fixtures.verifyingKey, alphaG1: [...fixtures.verifyingKey.alphaG1] };
    offCurve.alphaG1[63] ^= 1;
    await refused(rotate(next, offCurve, admin), "InvalidVerifyingKey");
    const slot = await connection.getSlot();
    await rotate(next, fixtures.verifyingKey, admin);
    const state = program.coder.accounts.decode("exchange", (await connection.getAccountInfo(exchange))!.data);
    assert.deepEqual([...state.pendingCommitment], next);
    assert.deepEqual([...state.programCommitment], fixtures.programCommitment, "in force only after the delay");
    assert.isAtLeast(state.rotationSlot.toNumber(), slot + fixtures.rotationDelaySlots);
  });
});
