// migrations/deploy.ts, as `anchor migrate` runs it: from its environment (the key file
// `gnomon setup` writes, the engine's hex words), an exchange initialized on chain with
// exactly those values; and refused before any transaction when a value is malformed.

import * as anchor from "@anchor-lang/core";
import { Program } from "@anchor-lang/core";
import { createMint } from "@solana/spl-token";
import { Keypair, PublicKey } from "@solana/web3.js";
import { assert } from "chai";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import fixtures from "./fixtures/settlement.json";

const deploy = require("../migrations/deploy.ts") as (provider: anchor.AnchorProvider) => Promise<void>;

const provider = anchor.AnchorProvider.env();
anchor.setProvider(provider);
const program = anchor.workspace.Settlement as Program;

/// The verifying key in the file format `gnomon setup` writes (`VerifyingKey::to_bytes`).
function keyFile(): string {
  const key = fixtures.verifyingKey;
  const count = Buffer.alloc(4);
  count.writeUInt32LE(key.ic.length);
  const bytes = Buffer.concat([
    Buffer.from(key.alphaG1),
    Buffer.from(key.betaG2),
    Buffer.from(key.gammaG2),
    Buffer.from(key.deltaG2),
    count,
    ...key.ic.map((point) => Buffer.from(point)),
  ]);
  const path = join(mkdtempSync(join(tmpdir(), "gnomon-deploy-")), "verifying.key");
  writeFileSync(path, bytes);
  return path;
}

/// A state root as the engine's API writes it: eight 32-bit words (little-endian in the
/// program's layout), each as 8 hex digits.
function rootWords(root: number[]): string {
  const bytes = Buffer.from(root);
  return [...Array(8).keys()]
    .map((index) => bytes.readUInt32LE(4 * index).toString(16).padStart(8, "0"))
    .join("");
}

describe("migrations/deploy.ts", () => {
  const admin = (provider.wallet as anchor.Wallet).payer;
  const operator = Keypair.generate();
  let mint: PublicKey;

  before(async () => {
    mint = await createMint(provider.connection, admin, admin.publicKey, null, 6);
    Object.assign(process.env, {
      GNOMON_EXCHANGE_ID: Buffer.from(fixtures.exchangeId).toString("hex"),
      GNOMON_COLLATERAL_MINT: mint.toBase58(),
      GNOMON_OPERATOR: operator.publicKey.toBase58(),
      GNOMON_PROGRAM_COMMITMENT: Buffer.from(fixtures.programCommitment).toString("hex"),
      GNOMON_GENESIS_ROOT: rootWords(fixtures.genesisRoot),
      GNOMON_VERIFYING_KEY: keyFile(),
      GNOMON_ESCAPE_DELAY_SLOTS: "1000",
    });
  });

  it("refuses a malformed value before sending anything", async () => {
    const root = process.env.GNOMON_GENESIS_ROOT;
    process.env.GNOMON_GENESIS_ROOT = "not hex";
    try {
      await deploy(provider);
      assert.fail("deployed with a malformed genesis root");
    } catch (error) {
      assert.match(String(error), /GNOMON_GENESIS_ROOT must be 64 hex digits/);
    } finally {
      process.env.GNOMON_GENESIS_ROOT = root;
    }
  });

  it("initializes the exchange with the environment's values", async () => {
    await deploy(provider);
    const [exchange] = PublicKey.findProgramAddressSync(
      [Buffer.from("exchange"), mint.toBuffer()],
      program.programId,
    );
    const info = await provider.connection.getAccountInfo(exchange);
    assert.isNotNull(info);
    const state = program.coder.accounts.decode("exchange", info!.data);
    assert.ok(state.admin.equals(admin.publicKey));
    assert.ok(state.operator.equals(operator.publicKey));
    assert.deepEqual([...state.exchangeId], fixtures.exchangeId);
    assert.deepEqual([...state.programCommitment], fixtures.programCommitment);
    assert.deepEqual([...state.stateRoot], fixtures.genesisRoot);
    assert.deepEqual([...state.verifyingKey.deltaG2], fixtures.verifyingKey.deltaG2);
    assert.equal(state.escapeDelaySlots.toNumber(), 1000);
    assert.equal(state.rotationDelaySlots.toNumber(), 216000);
  });
});
