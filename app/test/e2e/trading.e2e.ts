import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { type Running, appRoot, startAll } from './harness';
import { liquidationPrice } from '../../src/lib/margin';
import { toAccount, toMarket } from '../../src/lib/api';
import { parseJson } from '../../src/lib/json';
import { devKeypair, localSigner, signAction } from '../../src/lib/sign';
import { fromHex, toHex } from '../../src/lib/hex';
import type { Action } from '../../src/lib/borsh';

const shots = join(appRoot, 'test-results');
let running: Running;

async function getJson(path: string): Promise<any> {
  return parseJson(await (await fetch(running.engineUrl + path)).text());
}

async function open(theme: 'dark' | 'light'): Promise<Page> {
  const context = await running.browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(`${running.appUrl}/?theme=${theme}`);
  await page.getByTestId('feed').and(page.locator('[data-state=live]')).waitFor();
  return page;
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

type Submit = (...actions: Action[]) => Promise<string[]>;

/** A trader on engine/sim's development key `seed`, signing in Node with the app's code. */
async function nodeTrader(seed: number): Promise<Submit> {
  const key = devKeypair(seed);
  const response = await fetch(`${running.engineUrl}/v1/dev/deposit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: `{"owner":"${toHex(key.publicKey)}","amount":1000000000000}`,
  });
  const { account } = await response.json();
  const exchangeId = fromHex((await getJson('/v1/status')).exchange_id);
  let nonce = 0n;
  return async (...actions: Action[]) => {
    const signed = [];
    for (const action of actions) signed.push(await signAction(localSigner(key), exchangeId, account, (nonce += 1n), action));
    const reply = await fetch(`${running.engineUrl}/v1/actions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ actions: signed }) });
    return (await reply.json()).results.map((r: any) => r.status);
  };
}

function limitOrder(side: 'Buy' | 'Sell', lots: bigint, price: bigint, timeInForce: 'GoodTillCancel' | 'ImmediateOrCancel' = 'GoodTillCancel'): Action {
  return {
    kind: 'PlaceOrder',
    order: { market: 0, side, lots, execution: { kind: 'Limit', price, timeInForce }, trigger: null, reduceOnly: false, clientOrderId: 0n, selfTrade: 'ExpireMaker' },
  };
}

/** Depth around `mid` from a maker (dev key 1000). */
async function quote(mid: bigint, tick: bigint): Promise<Submit> {
  const maker = await nodeTrader(1000);
  const actions: Action[] = [];
  for (let level = 1; level <= 12; level += 1) {
    for (const side of ['Buy', 'Sell'] as const) {
      const price = side === 'Buy' ? mid - BigInt(level * 3) * tick : mid + BigInt(level * 3) * tick;
      actions.push(limitOrder(side, BigInt(20 + ((level * 37) % 90) * (side === 'Buy' ? 3 : 2)), price));
    }
  }
  expect(await maker(...actions)).toEqual(actions.map(() => 'accepted'));
  return maker;
}

async function accountOf(page: Page): Promise<number> {
  return Number(await page.getByTestId('account-id').textContent());
}

describe('trading end to end', () => {
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    running = await startAll();
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('a resting order is crossed by a second trader; both see the position and PnL; the batch is proven', async () => {
    const a = await open('dark');
    const b = await open('light');

    // Each trader's browser generated its own key; the faucet opens an account for it.
    await a.getByTestId('quick-deposit').click();
    await a.getByTestId('account-id').waitFor();
    await b.getByTestId('quick-deposit').click();
    await b.getByTestId('account-id').waitFor();
    const [accountA, accountB] = [await accountOf(a), await accountOf(b)];
    expect(accountA).not.toBe(accountB);
    await expect.poll(() => a.getByTestId('collateral').textContent()).toBe('10,000.00');

    // A bids 500 at the mark, rounded down to the tick.
    const market = toMarket((await getJson('/v1/markets')).markets[0]);
    const price = market.markPrice - (market.markPrice % market.tickSize);
    const priceText = (Number(price) / 1e6).toFixed(2);
    // Depth around the mark from a maker whose actions the app's encoder signed in Node.
    const maker = await quote(price, market.tickSize);
    await a.getByTestId('price').fill(priceText);
    await a.getByTestId('size').fill('500');
    await expect.poll(() => a.getByTestId('est-liq').textContent()).not.toBe('—');
    await a.getByTestId('submit').click();
    await expect.poll(() => a.getByTestId('notice').textContent()).toContain('accepted');
    // It rests: in A's book, in B's book (over the WebSocket), in A's open orders.
    await a.locator(`[data-testid=bid-level][data-price="${price}"]`).waitFor();
    await b.locator(`[data-testid=bid-level][data-price="${price}"]`).waitFor();
    await a.locator('.tabs button[data-tab=orders]').click();
    await a.getByTestId('open-order').first().waitFor();
    await shoot(a, 'a-order-resting-dark');

    // A lost delta (a gap in sequence numbers) makes the page refetch the book; a dropped
    // socket reconnects and resubscribes. The book is whole again either way.
    const bookRows = async (page: Page) => page.locator('#book .row').count();
    await a.evaluate(() => {
      const { feed } = (window as any).gnomon;
      const receive = feed.receive.bind(feed);
      let dropped = 0;
      feed.receive = (text: string) => {
        if (dropped === 0 && text.includes('"delta"')) {
          dropped += 1;
          return;
        }
        receive(text);
      };
    });
    const askAt = (k: bigint) => limitOrder('Sell', 7n, price + k * market.tickSize);
    expect(await maker(askAt(1n))).toEqual(['accepted']); // its delta is lost
    expect(await maker(askAt(2n))).toEqual(['accepted']); // its delta reveals the gap
    await expect.poll(() => a.evaluate(() => (window as any).gnomon.feed.resyncs)).toBe(1);
    await a.locator(`[data-testid=ask-level][data-price="${price + market.tickSize}"]`).waitFor();
    await a.locator(`[data-testid=ask-level][data-price="${price + 2n * market.tickSize}"]`).waitFor();
    expect(await a.evaluate(() => (window as any).gnomon.feed.books.get(0).sequence)).not.toBeNull();
    const rows = await bookRows(a);
    await a.evaluate(() => (window as any).gnomon.feed.socket.close());
    await a.locator('[data-testid=feed][data-state=reconnecting]').waitFor();
    await a.locator('[data-testid=feed][data-state=live]').waitFor();
    await expect.poll(() => bookRows(a)).toBe(rows);

    // B's post-only sell at that price would cross: rejected with a clear message.
    await b.locator('[data-side=Sell]').click();
    await b.getByTestId('price').fill(priceText);
    await b.getByTestId('size').fill('500');
    await b.locator('[data-tif=PostOnly]').click();
    await b.getByTestId('submit').click();
    await expect.poll(() => b.getByTestId('notice').textContent()).toContain('PostOnlyWouldCross');
    expect(await b.getByTestId('notice').textContent()).toContain('Post-only order would have taken liquidity');

    // B crosses with an immediate-or-cancel sell; its estimate matches the engine's figure.
    await b.locator('[data-tif=ImmediateOrCancel]').click();
    const batchesBefore = await getJson('/v1/batches');
    await b.getByTestId('submit').click();
    await expect.poll(() => b.getByTestId('notice').textContent()).toContain('filled 500');

    // Both see the position; the book level is gone.
    await a.locator('.tabs button[data-tab=positions]').click();
    await b.locator('.tabs button[data-tab=positions]').click();
    await a.locator('[data-testid=position][data-size="500"]').waitFor();
    await b.locator('[data-testid=position][data-size="-500"]').waitFor();
    await a.locator(`[data-testid=bid-level][data-price="${price}"]`).waitFor({ state: 'detached' });
    await b.getByTestId('trade').first().waitFor();

    // The liquidation price the engine reports is the one the app's formulas give.
    const engineAccount = toAccount(await getJson(`/v1/accounts/${accountB}`));
    const engineMarket = toMarket((await getJson('/v1/markets')).markets[0]);
    const position = engineAccount.positions[0];
    // One account view: its margin figures and each position's mark come from the same state.
    expect(position.liquidationPrice).not.toBeNull();
    expect(
      liquidationPrice({
        value: engineAccount.margin.value,
        maintenance: engineAccount.margin.maintenance,
        initial: engineAccount.margin.initial,
        size: position.size,
        mark: position.markPrice,
        tiers: engineMarket.marginTiers,
      }),
    ).toBe(position.liquidationPrice);

    // A third trader lifts the offers: the last trade and the book mid move, and with them
    // the mark (the median of oracle leg, mid and last). A's uPnL follows; B's is its opposite.
    const first = await a.getByTestId('upnl').textContent();
    const taker = await nodeTrader(1001);
    // 200 lots take the offers up to 6 ticks above A's entry: both mid and last end above it.
    expect(await taker(limitOrder('Buy', 200n, price + 15n * market.tickSize, 'ImmediateOrCancel'))).toEqual(['accepted']);
    await expect.poll(() => a.getByTestId('upnl').textContent(), { timeout: 30_000 }).not.toBe(first);
    const [pnlA, pnlB] = await Promise.all([
      getJson(`/v1/accounts/${accountA}`).then((x) => toAccount(x).positions[0].unrealizedPnl),
      getJson(`/v1/accounts/${accountB}`).then((x) => toAccount(x).positions[0].unrealizedPnl),
    ]);
    expect(pnlA + pnlB).toBe(0n);
    await a.locator('.tabs button[data-tab=fills]').click();
    await a.getByTestId('fill').first().waitFor();
    // The fills tab is the account's history: a reload shows the same fills.
    const history = (await getJson(`/v1/accounts/${accountA}/fills`)).fills.length;
    expect(history).toBeGreaterThan(0);
    const candles = a.waitForResponse((response) => response.url().includes('/v1/markets/0/candles'));
    await a.reload();
    // The chart starts from the engine's minute candles: the trades above made at least one.
    const minutes = (await (await candles).json()).candles;
    expect(minutes.some((c: { close: number | null }) => c.close !== null)).toBe(true);
    await a.locator('.tabs button[data-tab=fills]').click();
    await expect.poll(() => a.getByTestId('fill').count(), { timeout: 15_000 }).toBe(history);
    await a.locator('.tabs button[data-tab=positions]').click();
    await shoot(a, 'a-position-dark');
    await shoot(b, 'b-position-light');

    // A resting bid and a reduce-only stop-loss (a trigger order), then cancel-all clears both.
    await a.getByTestId('price').fill((Number(price - 50n * market.tickSize) / 1e6).toFixed(2));
    await a.getByTestId('size').fill('2');
    await a.getByTestId('submit').click();
    await expect.poll(() => a.getByTestId('notice').textContent()).toContain('accepted');
    await a.locator('[data-side=Sell]').click();
    await a.locator('[data-type=stop]').click();
    await a.getByTestId('trigger').fill((Number(price - 200n * market.tickSize) / 1e6).toFixed(2));
    await a.getByTestId('size').fill('100');
    await a.locator('#reduce').check();
    await a.getByTestId('submit').click();
    await expect.poll(() => a.getByTestId('notice').textContent()).toMatch(/Sell 100: accepted/);
    await a.locator('.tabs button[data-tab=orders]').click();
    await expect.poll(() => a.getByTestId('open-order').count()).toBe(2);
    expect(await a.locator('[data-testid=open-order]', { hasText: 'trigger' }).count()).toBe(1);
    await shoot(a, 'a-open-orders-dark');
    await a.getByTestId('cancel-all').click();
    await expect.poll(async () => toAccount(await getJson(`/v1/accounts/${accountA}`)).openOrders.length).toBe(0);

    // The batch with the trade is executed by the guest, and shows in the explorer.
    await a.getByTestId('nav-explorer').click();
    const after = batchesBefore.last_sealed;
    await a.locator('[data-testid=batch][data-status=executed]').first().waitFor({ timeout: 120_000 });
    await expect
      .poll(async () => Number(await a.locator('[data-testid=batch][data-status=executed]').first().getAttribute('data-batch')), { timeout: 120_000 })
      .toBeGreaterThan(after);
    // A checks its balance in that batch against the header the proof commits to.
    const executed = await a.locator('[data-testid=batch][data-status=executed]').first().getAttribute('data-batch');
    await a.getByTestId('check-batch').fill(executed!);
    await a.getByTestId('check-balance').click();
    await expect
      .poll(() => a.getByTestId('balance-check').textContent())
      .toMatch(new RegExp(`^Batch ${executed}: .*the balance list hashes to the header the proof commits to`));
    await shoot(a, 'explorer-dark');
    await b.getByTestId('nav-explorer').click();
    await b.locator('[data-testid=batch][data-status=executed]').first().waitFor({ timeout: 60_000 });
    await shoot(b, 'explorer-light');
    expect(await a.locator('text=not yet available').count()).toBeGreaterThan(0);
  });
});
