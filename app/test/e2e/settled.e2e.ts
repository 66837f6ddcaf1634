import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Running, appRoot, startAll } from './harness';
import { devKeypair } from '../../src/lib/sign';
import { QUOTE_DECIMALS, formatQuote, parseUnits } from '../../src/lib/fixed';
import { parseJson } from '../../src/lib/json';
import { toHex } from '../../src/lib/hex';

const shots = join(appRoot, 'test-results');
/** The demo's maker (engine/sim's development key 7001), who withdrew in batch 1. */
const MAKER = 7001;
let running: Running;

async function getJson(path: string): Promise<any> {
  return parseJson(await (await fetch(running.engineUrl + path)).text());
}

describe('a batch proven, wrapped in Groth16 and settled on Solana, seen and claimed from the app', () => {
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    // `gnomon demo --insecure-test-parameters --serve`: minutes of proving before it serves.
    running = await startAll({ demo: true });
  }, 900_000);
  afterAll(async () => {
    await running?.stop();
  });

  it("the explorer shows Solana's applied batch and the proof binding the maker's balance; the maker claims the withdrawal", async () => {
    const batch = await getJson('/v1/batches/1');
    const owner = toHex(devKeypair(MAKER).publicKey);
    const withdrawal = batch.withdrawals.find((w: any) => w.owner === owner);
    expect(withdrawal, 'the maker withdrew in batch 1').toBeDefined();
    const amount = BigInt(withdrawal.amount);

    const context = await running.browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error('page error:', error));

    // The explorer: batch 1 applied on chain with the engine's root; the balance check binds
    // the Groth16 proof to the header and to the program the exchange names on chain.
    await page.goto(`${running.appUrl}/?theme=dark&seed=${MAKER}#explorer`);
    // (The demo's engine goes on sealing and proving batches of funding ticks: later ones may
    // be applied by now.)
    await expect.poll(() => page.getByTestId('chain-applied-batch').textContent(), { timeout: 30_000 }).toMatch(/^batch [1-9]\d* root matches$/);
    await page.locator('[data-testid=batch][data-batch="1"] [data-testid=settlement]').getByText('settled').waitFor();
    await page.getByTestId('account-id').waitFor({ timeout: 30_000 });
    await page.getByTestId('check-batch').fill('1');
    await page.getByTestId('check-balance').click();
    const check = page.getByTestId('balance-check');
    await expect.poll(() => check.textContent(), { timeout: 30_000 }).toContain("takes this header's digest and the exchange's program commitment on Solana");
    expect(await check.textContent()).toContain('applied on Solana');
    expect(await check.getAttribute('class')).toBe('ok');
    await page.screenshot({ path: join(shots, 'settled-explorer-dark.png') });

    // The maker's withdrawal is claimable on chain; the claim pays it into the wallet.
    await page.goto(`${running.appUrl}/?theme=light&seed=${MAKER}`);
    await page.getByTestId('account-id').waitFor({ timeout: 30_000 });
    await page.locator('.tabs button[data-tab=transfers]').click();
    await expect.poll(() => page.getByTestId('claimable').textContent(), { timeout: 30_000 }).toBe(formatQuote(amount, 2));
    const before = await page.getByTestId('wallet-tokens').textContent();
    await page.getByTestId('claim').click();
    await expect.poll(() => page.getByTestId('notice').textContent(), { timeout: 30_000 }).toContain('Claim: confirmed');
    await expect.poll(() => page.getByTestId('claimable').textContent()).toBe('0.00');
    await expect.poll(() => page.getByTestId('wallet-tokens').textContent()).not.toBe(before);
    expect(await page.getByTestId('wallet-tokens').textContent()).toBe(formatQuote(parseUnits(before!.replace(/,/g, ''), QUOTE_DECIMALS)! + amount, 2));
    expect(await page.getByTestId('claim').isDisabled()).toBe(true);
    await page.screenshot({ path: join(shots, 'settled-claimed-light.png') });
    await context.close();
  });
});
