import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getAddressDecoder } from '@solana/kit';
import { type Running, appRoot, startAll } from './harness';
import { devKeypair, signMessage } from '../../src/lib/sign';
import { parseJson } from '../../src/lib/json';
import { toHex } from '../../src/lib/hex';

const shots = join(appRoot, 'test-results');
/** The browser's key: engine/sim's development key 21 (`?seed=21`). */
const SEED = 21;
const key = devKeypair(SEED);
/** The key of the Wallet Standard wallet the second test installs in the page. */
const walletKey = devKeypair(22);
const address = (publicKey: Uint8Array) => getAddressDecoder().decode(publicKey);
let running: Running;

/** A Wallet Standard wallet, as a browser extension injects one: it registers with the page,
 * connects its one account, and signs messages and whole transactions by asking Node, which
 * holds the key (`gnomonWalletSign`). It counts what it signed. */
function installWallet(wallet: { address: string; publicKey: number[] }): void {
  const w = window as any;
  w.walletSigned = { messages: 0, transactions: 0 };
  const sign = async (bytes: Uint8Array) => Uint8Array.from(await w.gnomonWalletSign(Array.from(bytes)));
  const chains = ['solana:localnet'];
  const account = { address: wallet.address, publicKey: Uint8Array.from(wallet.publicKey), chains, features: ['solana:signMessage', 'solana:signTransaction'] };
  const standard = {
    version: '1.0.0',
    name: 'Test Wallet',
    icon: 'data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=',
    chains,
    accounts: [account],
    features: {
      'standard:connect': { version: '1.0.0', connect: async () => ({ accounts: [account] }) },
      'standard:events': { version: '1.0.0', on: () => () => undefined },
      'solana:signMessage': {
        version: '1.0.0',
        signMessage: async ({ message }: { message: Uint8Array }) => {
          w.walletSigned.messages += 1;
          return [{ signedMessage: message, signature: await sign(message) }];
        },
      },
      'solana:signTransaction': {
        version: '1.0.0',
        supportedTransactionVersions: ['legacy', 0],
        signTransaction: async ({ transaction }: { transaction: Uint8Array }) => {
          // Wire format: a one-byte signature count (below 128), the signatures, the
          // message; the fee payer, this account, signs first.
          const signed = Uint8Array.from(transaction);
          signed.set(await sign(signed.slice(1 + 64 * signed[0])), 1);
          w.walletSigned.transactions += 1;
          return [{ signedTransaction: signed }];
        },
      },
    },
  };
  const register = ({ register }: { register: (wallet: unknown) => void }) => register(standard);
  window.addEventListener('wallet-standard:app-ready', (event: any) => register(event.detail));
  window.dispatchEvent(new CustomEvent('wallet-standard:register-wallet', { detail: register }));
}

async function getJson(path: string): Promise<any> {
  return parseJson(await (await fetch(running.engineUrl + path)).text());
}

describe('deposits and claims through Solana', () => {
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    running = await startAll({
      chain: [
        { address: address(key.publicKey), tokens: 20_000 },
        { address: address(walletKey.publicKey), tokens: 5_000 },
      ],
    });
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

  it('a Wallet Standard wallet signs the deposit transaction whole and the actions as messages', async () => {
    const context = await running.browser.newContext({ viewport: { width: 1440, height: 900 } });
    await context.exposeFunction('gnomonWalletSign', (bytes: number[]) => Array.from(signMessage(walletKey, Uint8Array.from(bytes))));
    await context.addInitScript(installWallet, { address: address(walletKey.publicKey), publicKey: Array.from(walletKey.publicKey) });
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error('page error:', error));
    await page.goto(`${running.appUrl}/?theme=light`);
    await page.getByTestId('feed').and(page.locator('[data-state=live]')).waitFor();

    await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
    await expect.poll(() => page.locator('#wallet .chip').first().textContent()).toContain('Test Wallet');
    await page.getByTestId('quick-deposit').click();
    await expect.poll(() => page.getByTestId('wallet-tokens').textContent()).toBe('5,000.00');
    await page.getByTestId('chain-deposit-amount').fill('1200');
    await page.getByTestId('chain-deposit').click();
    await expect.poll(() => page.getByTestId('notice').textContent(), { timeout: 30_000 }).toContain('confirmed');
    await expect.poll(() => page.getByTestId('collateral').textContent(), { timeout: 30_000 }).toBe('1,200.00');

    await page.getByTestId('withdraw-amount').fill('200');
    await page.getByTestId('withdraw').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('accepted');
    await expect.poll(() => page.getByTestId('collateral').textContent()).toBe('1,000.00');
    expect(await page.evaluate(() => (window as any).walletSigned)).toEqual({ messages: 1, transactions: 1 });
    await context.close();
  });
});
