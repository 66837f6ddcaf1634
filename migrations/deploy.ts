// `anchor migrate`: initializes the exchange of a freshly deployed settlement program.
//
//   GNOMON_EXCHANGE_ID       the engine's exchange id, 64 hex digits (`exchange_id` of the
//                            engine's GET /v1/status)
//   GNOMON_COLLATERAL_MINT   the collateral mint (base58)
//   GNOMON_OPERATOR          the operator's key (base58)
//   GNOMON_PROGRAM_COMMITMENT the guest's program commitment, 64 hex digits (guest/elf/perps)
//   GNOMON_GENESIS_ROOT      the engine's genesis state root: `state_root` of GET /v1/status
//                            before the engine's first batch (eight 32-bit words in hex)
//   GNOMON_VERIFYING_KEY     the `verifying.key` file `gnomon setup --aggregate` wrote for the
//                            guest's wrap circuit
//   GNOMON_ESCAPE_DELAY_SLOTS, GNOMON_ROTATION_DELAY_SLOTS (defaults: about 2 days and 1 day)
//
// The provider's wallet becomes the admin.

import * as anchor from "@anchor-lang/core";
import { BN, Program } from "@anchor-lang/core";
import { TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { PublicKey, SystemProgram } from "@solana/web3.js";
import { readFileSync } from "fs";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function hex32(name: string): number[] {
  const bytes = Buffer.from(required(name), "hex");
  if (bytes.length !== 32) {
    throw new Error(`${name} must be 32 bytes of hex`);
  }
  return [...bytes];
}

/// The key file's points (alpha, beta, gamma, delta, then a u32 LE count and the input
/// points): `VerifyingKey::to_bytes` of gnomon-settlement-verifier.
function verifyingKey(path: string) {
  const bytes = readFileSync(path);
  const points = 3;
  if (bytes.length !== 64 + 3 * 128 + 4 + 64 * points || bytes.readUInt32LE(448) !== points) {
    throw new Error(`${path} is not a verifying key of batch proofs (two public inputs)`);
  }
  const at = (start: number, length: number) => [...bytes.subarray(start, start + length)];
  return {
    alphaG1: at(0, 64),
    betaG2: at(64, 128),
    gammaG2: at(192, 128),
    deltaG2: at(320, 128),
    ic: [0, 1, 2].map((index) => at(452 + 64 * index, 64)),
  };
}

/// A state root as the engine's API writes it (eight 32-bit words, each as 8 hex digits) in
/// the program's layout (the words' borsh encoding: little-endian).
function stateRoot(name: string): number[] {
  const text = required(name);
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new Error(`${name} must be 64 hex digits: eight 32-bit words`);
  }
  const bytes = Buffer.alloc(32);
  for (let index = 0; index < 8; index++) {
    bytes.writeUInt32LE(parseInt(text.slice(8 * index, 8 * index + 8), 16), 4 * index);
  }
  return [...bytes];
}

module.exports = async function (provider: anchor.AnchorProvider) {
  anchor.setProvider(provider);
  const program = anchor.workspace.Settlement as Program;
  const mint = new PublicKey(required("GNOMON_COLLATERAL_MINT"));
  const [exchange] = PublicKey.findProgramAddressSync([Buffer.from("exchange"), mint.toBuffer()], program.programId);
  const [vault] = PublicKey.findProgramAddressSync([Buffer.from("vault"), exchange.toBuffer()], program.programId);
  const signature = await program.methods
    .initializeExchange({
      exchangeId: hex32("GNOMON_EXCHANGE_ID"),
      operator: new PublicKey(required("GNOMON_OPERATOR")),
      programCommitment: hex32("GNOMON_PROGRAM_COMMITMENT"),
      genesisRoot: stateRoot("GNOMON_GENESIS_ROOT"),
      verifyingKey: verifyingKey(required("GNOMON_VERIFYING_KEY")),
      escapeDelaySlots: new BN(process.env.GNOMON_ESCAPE_DELAY_SLOTS ?? "432000"),
      rotationDelaySlots: new BN(process.env.GNOMON_ROTATION_DELAY_SLOTS ?? "216000"),
    })
    .accountsStrict({
      admin: provider.wallet.publicKey,
      collateralMint: mint,
      exchange,
      vault,
      tokenProgram: TOKEN_PROGRAM_ID,
      systemProgram: SystemProgram.programId,
    })
    .rpc();
  console.log(`exchange ${exchange.toBase58()} (vault ${vault.toBase58()}) initialized: ${signature}`);
};
