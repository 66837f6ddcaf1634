import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getAddressDecoder } from '@solana/kit';
import { type Running, appRoot, startAll } from './harness';
import { devKeypair } from '../../src/lib/sign';
import { parseJson } from '../../src/lib/json';
import { toHex } from '../../src/lib/hex';

const shots = join(appRoot, 'test-results');
/** The browser's key: engine/sim's development key 21 (`?seed=21`). */
const SEED = 21;
const key = devKeypair(SEED);
let running: Running;

async function getJson(path: string): Promise<any> {
  return parseJson(await (await fetch(running.engineUrl + path)).text());
}

describe('deposits and claims through Solana', () => {
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    running = await startAll({ chain: [{ address: getAddressDecoder().decode(key.publicKey), tokens: 20_000 }] });
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('a trader deposits from the wallet into the vault, the engine credits it, and the chain shows what is claimable', async () => {
    const status = await getJson('/v1/status');
    expect(status.settlement.program).toBe('2QPABszJopxnvZmJQg6V2Z7g9y2nFCQmRWqUC5ryUtWW');

    const context = await running.browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error('page error:', error));
    await page.goto(`${running.appUrl}/?theme=dark&seed=${SEED}`);
    await page.getByTestId('feed').and(page.locator('[data-state=live]')).waitFor();

    // No account yet: the first deposit comes from the wallet, not a faucet.
    await page.getByTestId('quick-deposit').click();
    await expect.poll(() => page.getByTestId('wallet-tokens').textContent()).toBe('20,000.00');
    await page.getByTestId('chain-deposit-amount').fill('2500');
    await page.getByTestId('chain-deposit').click();
    await expect.poll(() => page.getByTestId('notice').textContent(), { timeout: 30_000 }).toContain('confirmed');
    await expect.poll(() => page.getByTestId('wallet-tokens').textContent()).toBe('17,500.00');

    // The engine credits the queued deposit to a new account of this key; the page finds it.
    await page.getByTestId('account-id').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId('collateral').textContent(), { timeout: 30_000 }).toBe('2,500.00');
    const account = Number(await page.getByTestId('account-id').textContent());
    expect(await getJson(`/v1/accounts?owner=${toHex(key.publicKey)}`)).toEqual({ accounts: [account] });

    // A second deposit goes to the same account.
    await page.getByTestId('chain-deposit-amount').fill('500');
    await page.getByTestId('chain-deposit').click();
    await expect.poll(() => page.getByTestId('collateral').textContent(), { timeout: 30_000 }).toBe('3,000.00');

    // A withdrawal request is an engine action; nothing is claimable until a batch carrying it
    // is applied on chain (this engine proves nothing, so none is).
    await page.getByTestId('withdraw-amount').fill('1000');
    await page.getByTestId('withdraw').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('accepted');
    await expect.poll(() => page.getByTestId('collateral').textContent()).toBe('2,000.00');
    expect(await page.getByTestId('claimable').textContent()).toBe('0.00');
    expect(await page.getByTestId('claim').isDisabled()).toBe(true);
    expect(await page.getByTestId('chain-applied').textContent()).toBe('batch 0 applied');

    // An amount beyond the wallet's tokens is refused by the token program, and nothing moves.
    await page.getByTestId('chain-deposit-amount').fill('1000000');
    await page.getByTestId('chain-deposit').click();
    await expect.poll(() => page.getByTestId('notice').textContent(), { timeout: 30_000 }).toMatch(/failed: .*insufficient funds/);
    await expect.poll(() => page.getByTestId('wallet-tokens').textContent()).toBe('17,000.00');
    await page.screenshot({ path: join(shots, 'chain-deposit-dark.png') });

    // The explorer reads the exchange account on chain.
    await page.goto(`${running.appUrl}/?theme=light&seed=${SEED}#explorer`);
    await expect.poll(() => page.getByTestId('chain-applied-batch').textContent(), { timeout: 30_000 }).toBe('batch 0');
    await page.screenshot({ path: join(shots, 'chain-explorer-light.png') });
    await context.close();
  });
});
