// Who signs: a Solana wallet through the Wallet Standard (connect + solana:signMessage), or a
// local ed25519 keypair kept in this browser's localStorage (the demo fallback).
//
// A wallet's signMessage signs the exact bytes given, with the account's ed25519 key, which is
// what the engine verifies; whether a given wallet accepts the binary action message (some
// only sign UTF-8 text) is up to the wallet, and has not been tried with a real one here.

import { getWallets } from '@wallet-standard/app';
import { fromHex, toHex } from './hex';
import { type Keypair, type Signer, devKeypair, keypairFromSecret, localSigner, randomKeypair } from './sign';

const KEY = 'gnomon.localKey';

export interface WalletChoice {
  name: string;
  icon?: string;
  connect(): Promise<Signer>;
}

/** Wallets in the page that can sign messages. */
export function standardWallets(): WalletChoice[] {
  const { get } = getWallets();
  return get()
    .filter((wallet) => 'solana:signMessage' in wallet.features && 'standard:connect' in wallet.features)
    .map((wallet) => ({
      name: wallet.name,
      icon: wallet.icon,
      async connect(): Promise<Signer> {
        const connect = (wallet.features['standard:connect'] as any).connect;
        const { accounts } = await connect();
        const account = accounts[0];
        if (!account) throw new Error(`${wallet.name} returned no account`);
        const feature = wallet.features['solana:signMessage'] as any;
        const transactions = wallet.features['solana:signTransaction'] as any;
        return {
          publicKey: Uint8Array.from(account.publicKey),
          async sign(message: Uint8Array) {
            const [output] = await feature.signMessage({ account, message });
            return Uint8Array.from(output.signature);
          },
          async signTransaction(transaction: Uint8Array) {
            if (!transactions) throw new Error(`${wallet.name} cannot sign Solana transactions`);
            const [output] = await transactions.signTransaction({ account, transaction });
            return Uint8Array.from(output.signedTransaction);
          },
        };
      },
    }));
}

/** The local key: `?seed=N` picks engine/sim's development key N; otherwise one generated once. */
export function localKey(storage: Storage, seed: string | null): Keypair {
  if (seed !== null && /^\d+$/.test(seed)) return devKeypair(Number(seed));
  const stored = storage.getItem(KEY);
  if (stored && /^[0-9a-f]{64}$/.test(stored)) return keypairFromSecret(fromHex(stored));
  const key = randomKeypair();
  storage.setItem(KEY, toHex(key.secret));
  return key;
}

export function localKeySigner(storage: Storage, seed: string | null): Signer {
  return localSigner(localKey(storage, seed));
}
