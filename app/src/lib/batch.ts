// Checking an account's settled balance against what a batch's proof commits to, in the
// browser, without trusting the engine's word for it: the header the guest commits holds the
// list hash of the batch's balances, and the list hash is recomputed here from the list.
// Layouts (engine/core/src/batch.rs): a balance entry is borsh `account u32, owner [u8; 32],
// collateral i64` (44 bytes); list_hash([]) = 32 zero bytes, list_hash([e, rest..]) =
// sha256(entry || list_hash(rest)); in the 304-byte header, the balance count (u32 LE) sits at
// bytes 232..236 and the balances' list hash at 236..268. The output digest, the Groth16
// public input, is the header's SHA-256 with its first byte cleared; the batch's Groth16
// proof, once made, must name that digest as its second public input.

import { big } from './fixed';
import { fromHex, toHex } from './hex';

export interface SettledBalance {
  account: number;
  owner: string;
  collateral: bigint;
}

/** The engine's settlement transactions for a batch (base58 signatures). */
export interface Settlement {
  submitted: string | null;
  applied: string[];
  settled: boolean;
}

export function toSettlement(body: any): Settlement | null {
  return body ? { submitted: body.submitted ?? null, applied: body.applied ?? [], settled: Boolean(body.settled) } : null;
}

export interface BatchDetail {
  batch: number;
  header: string;
  outputDigest: string;
  balances: SettledBalance[];
  withdrawals: { account: number; owner: string; amount: bigint }[];
  settlement: Settlement | null;
  /** The batch's Groth16 proof (hex) and its public inputs: program commitment, output digest. */
  groth16: { proof: string; publicInputs: [string, string] } | null;
}

export function toBatchDetail(body: any): BatchDetail {
  return {
    batch: Number(body.batch),
    header: body.header,
    outputDigest: body.output_digest,
    balances: body.balances.map((b: any) => ({ account: Number(b.account), owner: b.owner, collateral: big(b.collateral) })),
    withdrawals: body.withdrawals.map((w: any) => ({ account: Number(w.account), owner: w.owner, amount: big(w.amount) })),
    settlement: toSettlement(body.settlement),
    groth16: body.groth16 ? { proof: body.groth16.proof, publicInputs: [body.groth16.public_inputs[0], body.groth16.public_inputs[1]] } : null,
  };
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

export function balanceEntry(entry: SettledBalance): Uint8Array {
  const bytes = new Uint8Array(44);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, entry.account, true);
  bytes.set(fromHex(entry.owner), 4);
  view.setBigInt64(36, entry.collateral, true);
  return bytes;
}

export async function listHash(entries: Uint8Array[]): Promise<Uint8Array> {
  let hash: Uint8Array<ArrayBuffer> = new Uint8Array(32);
  for (const entry of [...entries].reverse()) {
    const preimage = new Uint8Array(entry.length + 32);
    preimage.set(entry);
    preimage.set(hash, entry.length);
    hash = await sha256(preimage);
  }
  return hash;
}

/** Whether the list hashes to the committed header, whether the header's digest is the
 * engine's output digest, and whether the batch's Groth16 proof takes that digest as its
 * public input (null: no proof yet). */
interface Integrity {
  committed: boolean;
  digestMatches: boolean;
  proofTakesDigest: boolean | null;
}

export type BalanceCheck =
  /** The account's entry in the batch. */
  | ({ kind: 'found'; entry: SettledBalance } & Integrity)
  /** The batch did not change the account's collateral (so it settles nothing for it). */
  | ({ kind: 'absent' } & Integrity);

/** Finds `account` in the batch and checks the balance list and header against each other. */
export async function checkBalance(detail: BatchDetail, account: number): Promise<BalanceCheck> {
  const header = fromHex(detail.header);
  const count = new DataView(header.buffer).getUint32(232, true);
  const hash = await listHash(detail.balances.map(balanceEntry));
  const committed = header.length === 304 && count === detail.balances.length && toHex(hash) === toHex(header.slice(236, 268));
  const digest = await sha256(header);
  digest[0] = 0;
  const digestMatches = toHex(digest) === detail.outputDigest;
  const proofTakesDigest = detail.groth16 ? detail.groth16.publicInputs[1] === toHex(digest) : null;
  const integrity = { committed, digestMatches, proofTakesDigest };
  const entry = detail.balances.find((b) => b.account === account);
  return entry ? { kind: 'found', entry, ...integrity } : { kind: 'absent', ...integrity };
}
