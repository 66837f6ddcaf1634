import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { actionFromJson, actionMessage, encodeAction, encodeSignedAction } from '../src/lib/borsh';
import { fromHex, toHex } from '../src/lib/hex';
import { devKeypair, signAction, localSigner, verify } from '../src/lib/sign';

// Rendered by engine/service/tests/app_vectors.rs from the Rust types and the dev keys.
const vectors = JSON.parse(readFileSync(new URL('./fixtures/actions.json', import.meta.url), 'utf8'));
const exchangeId = fromHex(vectors.exchangeId);

describe('actions match the Rust encoding byte for byte', () => {
  const kinds = new Set(vectors.cases.map((c: any) => c.action.kind));
  it('covers every action kind', () => {
    expect([...kinds].sort()).toEqual(
      ['Cancel', 'CancelAll', 'CancelByClientId', 'Modify', 'PlaceOrder', 'SetSessionKey', 'Withdraw'].sort(),
    );
  });

  for (const [index, c] of vectors.cases.entries()) {
    it(`case ${index}: ${c.action.kind} (seed ${c.seed}, nonce ${c.nonce})`, async () => {
      const action = actionFromJson(c.action);
      expect(toHex(encodeAction(action))).toBe(c.actionHex);
      const message = actionMessage(exchangeId, c.account, BigInt(c.nonce), action);
      expect(toHex(message)).toBe(c.messageHex);
      const key = devKeypair(c.seed);
      expect(toHex(key.publicKey)).toBe(c.publicKey);
      // Ed25519 is deterministic: the same key and message give the engine's exact signature.
      const signed = await signAction(localSigner(key), exchangeId, c.account, BigInt(c.nonce), action);
      expect(signed).toBe(c.signedHex);
      const signature = fromHex(c.signedHex).slice(-64);
      expect(verify(key.publicKey, message, signature)).toBe(true);
    });
  }

  it('refuses values out of range rather than wrapping them', () => {
    const base = actionFromJson(vectors.cases[0].action);
    if (base.kind !== 'PlaceOrder') throw new Error('first case is an order');
    expect(() => encodeAction({ ...base, order: { ...base.order, lots: 1n << 64n } })).toThrow(RangeError);
    expect(() => encodeAction({ ...base, order: { ...base.order, lots: -1n } })).toThrow(RangeError);
    expect(() => encodeAction({ kind: 'Cancel', market: 70_000, orderId: 1n })).toThrow(RangeError);
  });

  it('a tampered signature does not verify', () => {
    const c = vectors.cases[0];
    const bytes = fromHex(c.signedHex);
    bytes[bytes.length - 1] ^= 1;
    expect(verify(fromHex(c.publicKey), fromHex(c.messageHex), bytes.slice(-64))).toBe(false);
    const signed = { account: 1, trader: fromHex(c.publicKey), nonce: 1n, action: actionFromJson(c.action), signature: bytes.slice(-64) };
    expect(toHex(encodeSignedAction(signed)).slice(0, -128)).toBe(c.signedHex.slice(0, -128));
  });
});
