// Ed25519 signing of actions (RFC 8032, as ed25519-dalek verifies them) with @noble/ed25519,
// and the development keys of engine/sim: secret = SHA-256("gnomon-sim/key" || seed u32 LE).

import * as ed from '@noble/ed25519';
import { sha256 } from '@noble/hashes/sha256';
import { sha512 } from '@noble/hashes/sha512';
import { type Action, actionMessage, encodeSignedAction } from './borsh';
import { toHex } from './hex';

ed.etc.sha512Sync = (...messages: Uint8Array[]) => sha512(ed.etc.concatBytes(...messages));

export interface Keypair {
  secret: Uint8Array;
  publicKey: Uint8Array;
}

export function keypairFromSecret(secret: Uint8Array): Keypair {
  return { secret, publicKey: ed.getPublicKey(secret) };
}

/** The development key of `seed` (engine/sim's `key(seed)`). */
export function devKeypair(seed: number): Keypair {
  const prefix = new TextEncoder().encode('gnomon-sim/key');
  const le = new Uint8Array(4);
  new DataView(le.buffer).setUint32(0, seed, true);
  return keypairFromSecret(sha256(ed.etc.concatBytes(prefix, le)));
}

export function randomKeypair(): Keypair {
  return keypairFromSecret(ed.utils.randomPrivateKey());
}

export function signMessage(key: Keypair, message: Uint8Array): Uint8Array {
  return ed.sign(message, key.secret);
}

export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return ed.verify(signature, message, publicKey);
}

/** Something that signs the action message: the local key, or a wallet's signMessage. A
 * wallet signs Solana transactions whole (`signTransaction`, wire bytes in and out), never
 * through signMessage; the local key signs a transaction's message bytes with `sign`. */
export type Signer = {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
  signTransaction?(wireTransaction: Uint8Array): Promise<Uint8Array>;
};

export function localSigner(key: Keypair): Signer {
  return { publicKey: key.publicKey, sign: async (message) => signMessage(key, message) };
}

/** The hex of the borsh SignedAction, as POST /v1/actions takes it. */
export async function signAction(
  signer: Signer,
  exchangeId: Uint8Array,
  account: number,
  nonce: bigint,
  action: Action,
): Promise<string> {
  const signature = await signer.sign(actionMessage(exchangeId, account, nonce, action));
  return toHex(encodeSignedAction({ account, trader: signer.publicKey, nonce, action, signature }));
}
