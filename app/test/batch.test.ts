import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkBalance, toBatchDetail } from '../src/lib/batch';
import { parseJson } from '../src/lib/json';

// A sealed batch as the engine serves it, rendered by engine/service/tests/app_vectors.rs.
const fixture = () => toBatchDetail(parseJson(readFileSync(new URL('./fixtures/batch.json', import.meta.url), 'utf8')));

describe('checking a balance against the committed header', () => {
  it('finds the account and recomputes the list hash and output digest the engine committed', async () => {
    const detail = fixture();
    const check = await checkBalance(detail, 3);
    expect(check).toEqual({ kind: 'found', entry: detail.balances[2], committed: true, digestMatches: true, proofTakesDigest: null });
    expect(check.kind === 'found' && check.entry.collateral).toBe(10_000_000_000n);
    expect(await checkBalance(detail, 9)).toEqual({ kind: 'absent', committed: true, digestMatches: true, proofTakesDigest: null });
    // A Groth16 proof binds the header only if its output input is the header's digest.
    const proven = { ...detail, groth16: { proof: '00'.repeat(256), publicInputs: ['00'.repeat(32), detail.outputDigest] as [string, string] } };
    expect((await checkBalance(proven, 3)).proofTakesDigest).toBe(true);
    proven.groth16.publicInputs[1] = '00'.repeat(32);
    expect((await checkBalance(proven, 3)).proofTakesDigest).toBe(false);
  });

  it('notices a balance, an account or a header that is not what was committed', async () => {
    const changedBalance = fixture();
    changedBalance.balances[0].collateral += 1n;
    expect((await checkBalance(changedBalance, 1)).committed).toBe(false);

    const dropped = fixture();
    dropped.balances.pop();
    expect((await checkBalance(dropped, 1)).committed).toBe(false);

    const changedHeader = fixture();
    changedHeader.header = changedHeader.header.slice(0, 100) + (changedHeader.header[100] === '0' ? '1' : '0') + changedHeader.header.slice(101);
    const check = await checkBalance(changedHeader, 1);
    expect(check.committed).toBe(true);
    expect(check.digestMatches).toBe(false);
  });
});
