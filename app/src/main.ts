import './style.css';
import { Api, ApiError, type Account, type AccountFill, type ActionResult, type Batch, type FundingPayment, type FundingRecord, type Market, type Status, type Trade, toFill, toTrade } from './lib/api';
import type { Action, Execution, OrderRequest, Side, TimeInForce } from './lib/borsh';
import { PriceChart } from './chart';
import { type BatchDetail, checkBalance } from './lib/batch';
import { CANCEL_MESSAGES, describeError } from './lib/errors';
import { Feed, type FeedState } from './lib/feed';
import { QUOTE_DECIMALS, QUOTE_ONE, RATE_ONE, abs, big, formatQuote, formatUnits, parseUnits, priceDecimals, roundToTick } from './lib/fixed';
import { fromHex, toHex } from './lib/hex';
import { orderImpact } from './lib/margin';
import { type Signer, signAction } from './lib/sign';
import { localKeySigner, standardWallets } from './lib/wallet';
import { Chain, type ExchangeAccount, type TraderAccount, claimableNow, commitmentInput, engineRootHex, ownerAddress, settledCollateral } from './lib/chain';

// ---------------------------------------------------------------------------------------------
// State

type OrderType = 'limit' | 'market' | 'stop' | 'tp';
type BottomTab = 'positions' | 'orders' | 'fills' | 'funding' | 'transfers';

const params = new URLSearchParams(location.search);
const api = new Api('');
const storage = window.localStorage;

const state = {
  view: (location.hash === '#explorer' ? 'explorer' : 'trade') as 'trade' | 'explorer',
  theme: params.get('theme') ?? storage.getItem('gnomon.theme') ?? 'dark',
  markets: [] as Market[],
  marketId: Number(params.get('market') ?? 0),
  status: null as Status | null,
  account: null as Account | null,
  accountId: null as number | null,
  signer: null as Signer | null,
  signerName: 'Local key',
  nonce: 0n,
  trades: new Map<number, Trade[]>(),
  funding: [] as FundingRecord[],
  /** The account's fills, newest first: its history, then what the live feed added since. */
  fills: [] as AccountFill[],
  /** The log position of the newest step the loaded fill history covers. */
  fillsThrough: -1,
  payments: [] as FundingPayment[],
  batches: null as { lastSealed: number; openBatchSteps: number; batches: Batch[] } | null,
  /** The settlement exchange on Solana, when the engine publishes an RPC endpoint. */
  chain: null as Chain | null,
  /** What the chain says: the exchange, this key's wallet tokens, this account's record. */
  onChain: null as { exchange: ExchangeAccount; walletTokens: bigint; trader: TraderAccount | null } | null,
  chainError: '',
  /** The outcome of the explorer's check of this account's balance in a batch. */
  balanceCheck: null as { ok: boolean; text: string } | null,
  feedState: 'connecting' as FeedState,
  feedDetail: '',
  bottomTab: 'positions' as BottomTab,
  notice: null as { kind: 'ok' | 'err'; text: string } | null,
  busy: false,
  form: {
    side: 'Buy' as Side,
    type: 'limit' as OrderType,
    price: '',
    trigger: '',
    /** Limit price of a stop or take-profit order (empty: it executes as a market order). */
    stopLimit: '',
    size: '',
    unit: 'lots' as 'lots' | 'usdc',
    tif: 'GoodTillCancel' as TimeInForce,
    reduceOnly: false,
    leverage: 0,
  },
};

const market = (): Market | undefined => state.markets.find((m) => m.id === state.marketId);
const decimals = (m = market()) => (m ? priceDecimals(m.tickSize) : 2);
const px = (atoms: bigint | null | undefined, m = market()) => (atoms === null || atoms === undefined || atoms === 0n ? '—' : formatUnits(atoms, QUOTE_DECIMALS, decimals(m)));
const usd = (atoms: bigint, shown = 2) => formatQuote(atoms, shown);
const signed = (atoms: bigint) => `<span class="${atoms > 0n ? 'up' : atoms < 0n ? 'down' : ''}">${atoms > 0n ? '+' : ''}${usd(atoms)}</span>`;
const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const time = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const short = (hex: string, n = 10) => (hex.length > 2 * n ? `${hex.slice(0, n)}…${hex.slice(-n)}` : hex);

// ---------------------------------------------------------------------------------------------
// Rendering: static shells built once per view, panels refreshed on demand (one frame at most).

const app = document.getElementById('app')!;
let chart: PriceChart | null = null;
let chartMarket = -1;
const dirty = new Set<string>();
let frame = 0;

function invalidate(...panels: string[]): void {
  for (const panel of panels) dirty.add(panel);
  if (!frame) frame = requestAnimationFrame(flush);
}

function flush(): void {
  frame = 0;
  const panels = [...dirty];
  dirty.clear();
  for (const panel of panels) renderers[panel]?.();
}

function set(id: string, html: string): void {
  const element = document.getElementById(id);
  if (element && element.innerHTML !== html) element.innerHTML = html;
}

function applyTheme(): void {
  document.documentElement.dataset.theme = state.theme;
  chart?.theme();
}

function shell(): void {
  chart?.dispose();
  chart = null;
  chartMarket = -1;
  app.innerHTML = `
    <header class="top">
      <div class="brand">GNO<span>MON</span></div>
      <nav class="views">
        <button data-view="trade" class="${state.view === 'trade' ? 'on' : ''}">Trade</button>
        <button data-view="explorer" class="${state.view === 'explorer' ? 'on' : ''}" data-testid="nav-explorer">Settlement explorer</button>
      </nav>
      <div class="spacer"></div>
      <div id="conn"></div>
      <div id="wallet"></div>
      <button class="btn small" id="theme" title="Toggle theme">${state.theme === 'dark' ? '☀ Light' : '☾ Dark'}</button>
    </header>
    ${state.view === 'trade' ? tradeShell() : `<main class="explorer" id="explorer"></main>`}`;
  app.querySelectorAll<HTMLButtonElement>('nav.views button').forEach((b) =>
    b.addEventListener('click', () => {
      state.view = b.dataset.view as 'trade' | 'explorer';
      location.hash = state.view === 'explorer' ? '#explorer' : '';
      shell();
      if (state.view === 'explorer') void refreshBatches();
    }),
  );
  document.getElementById('theme')!.addEventListener('click', () => {
    state.theme = state.theme === 'dark' ? 'light' : 'dark';
    storage.setItem('gnomon.theme', state.theme);
    applyTheme();
    document.getElementById('theme')!.textContent = state.theme === 'dark' ? '☀ Light' : '☾ Dark';
  });
  if (state.view === 'trade') bindTrade();
  invalidate(...Object.keys(renderers));
}

function tradeShell(): string {
  return `
    <div class="marketbar" id="marketbar"></div>
    <main class="trade">
      <section class="panel chartpanel">
        <h3>Price <span class="legend"><span><i style="background:var(--accent)"></i>Mark</span><span><i style="background:var(--muted)"></i>Index</span><span><i style="background:var(--warn)"></i>Last</span></span><span class="right muted">minute closes, then live</span></h3>
        <div class="chart" id="chart"></div>
      </section>
      <div class="bookcol">
        <section class="panel"><h3>Order book <span class="right muted" id="bookseq"></span></h3><div class="ladder" id="book"></div></section>
        <section class="panel"><h3>Trades</h3><div class="ladder tape" id="tape"></div></section>
      </div>
      <section class="panel entry">
        <h3>Order entry <span class="right muted">cross margin</span></h3>
        <div class="body" id="entry"></div>
        <h3>Account <span class="right muted" id="acctid"></span></h3>
        <div class="summary" id="summary"></div>
      </section>
      <section class="panel bottom">
        <div class="tabs" id="tabs"></div>
        <div class="scroll" id="bottom"></div>
      </section>
    </main>`;
}

const renderers: Record<string, () => void> = {
  conn() {
    const label = state.feedState === 'live' ? 'Live' : state.feedState === 'connecting' ? 'Connecting' : 'Reconnecting';
    set('conn', `<span class="chip" data-testid="feed" data-state="${state.feedState}"><span class="dot ${state.feedState}"></span>${label}${state.feedDetail ? ` <span class="muted">${esc(state.feedDetail)}</span>` : ''}</span>`);
  },
  wallet() {
    const key = state.signer ? toHex(state.signer.publicKey) : '';
    const wallets = standardWallets();
    set(
      'wallet',
      `<span class="chip" title="${key}">${esc(state.signerName)} <span class="mono muted">${short(key, 4)}</span>${state.accountId !== null ? ` · acct <b class="mono" data-testid="account-id">${state.accountId}</b>` : ''}</span>
       ${wallets.map((w, i) => `<button class="btn small" data-wallet="${i}">Connect ${esc(w.name)}</button>`).join('')}`,
    );
    document.querySelectorAll<HTMLButtonElement>('[data-wallet]').forEach((b) =>
      b.addEventListener('click', async () => {
        const wallet = standardWallets()[Number(b.dataset.wallet)];
        try {
          useSigner(await wallet.connect(), wallet.name);
        } catch (error) {
          notify('err', `${wallet.name}: ${(error as Error).message}`);
        }
      }),
    );
  },
  marketbar() {
    const m = market();
    if (!m) return set('marketbar', '<div class="stat"><label>Markets</label><b>loading…</b></div>');
    const left = Math.max(0, m.nextFundingMs - Date.now());
    const countdown = [Math.floor(left / 3_600_000), Math.floor(left / 60_000) % 60, Math.floor(left / 1000) % 60].map((n) => String(n).padStart(2, '0')).join(':');
    const rate = m.lastFundingRate;
    const basis = m.indexPrice > 0n ? ((m.markPrice - m.indexPrice) * 1_000_000n) / m.indexPrice : 0n;
    set(
      'marketbar',
      `<div class="sel">${state.markets.map((x) => `<button data-market="${x.id}" class="${x.id === m.id ? 'on' : ''}">${esc(x.symbol)}</button>`).join('')}</div>
      <div class="stat big"><label>Mark</label><b data-testid="mark">${px(m.markPrice)}</b></div>
      <div class="stat"><label>Index</label><b>${px(m.indexPrice)}</b></div>
      <div class="stat"><label>Last</label><b>${px(m.lastTradePrice)}</b></div>
      <div class="stat"><label>Basis</label><b class="${basis >= 0n ? 'up' : 'down'}">${formatUnits(basis, 4, 3)}%</b></div>
      <div class="stat"><label>Funding / 1h</label><b class="${rate > 0n ? 'up' : rate < 0n ? 'down' : ''}">${formatUnits(rate, 7, 4)}%</b></div>
      <div class="stat"><label>Next funding</label><b data-testid="funding-countdown">${countdown}</b></div>
      <div class="stat"><label>Open interest</label><b>${m.openInterest.toString()}</b></div>
      <div class="stat"><label>Tick / Lot</label><b>${px(m.tickSize)} / ${m.lotSize}</b></div>
      <div class="stat"><label>Min size</label><b>${m.minOrderLots}</b></div>
      <div class="stat"><label>Max leverage</label><b>${m.maxLeverage}×</b></div>
      <div class="stat"><label>Fees mk / tk</label><b>${formatUnits(m.makerFeeRate, 4, 3)}% / ${formatUnits(m.takerFeeRate, 4, 3)}%</b></div>
      <div class="stat"><label>Status</label><b>${esc(m.status)}</b></div>`,
    );
    document.querySelectorAll<HTMLButtonElement>('[data-market]').forEach((b) =>
      b.addEventListener('click', () => {
        state.marketId = Number(b.dataset.market);
        feed.subscribeMarket(state.marketId);
        state.form.price = '';
        void refreshMarketData();
        shell();
      }),
    );
  },
  chart() {
    const element = document.getElementById('chart');
    const m = market();
    if (!element || !m) return;
    if (!chart || chartMarket !== m.id) {
      chart?.dispose();
      chart = new PriceChart(element, 10 ** QUOTE_DECIMALS);
      chartMarket = m.id;
      const trades = [...(state.trades.get(m.id) ?? [])].reverse();
      const closes = (closeHistory.get(m.id) ?? []).filter(([ms]) => ms < (trades[0]?.timestampMs ?? Infinity));
      chart.seed('last', [...closes, ...trades.map((t): [number, bigint] => [t.timestampMs, t.price])]);
      const samples = priceSamples.get(m.id) ?? [];
      chart.seed('mark', samples.map(([ms, mark]) => [ms, mark]));
      chart.seed('index', samples.map(([ms, , index]) => [ms, index]));
    }
  },
  book() {
    const m = market();
    const book = feed.books.get(state.marketId);
    if (!m || !book) return set('book', '<div class="empty">Waiting for the book…</div>');
    const depth = 14;
    const asks = book.levels('Sell', depth);
    const bids = book.levels('Buy', depth);
    const cumulative = (levels: [bigint, bigint][]) => {
      let total = 0n;
      return levels.map(([price, lots]) => [price, lots, (total += lots)] as const);
    };
    const a = cumulative(asks);
    const b = cumulative(bids);
    const max = [...a, ...b].reduce((acc, [, , total]) => (total > acc ? total : acc), 1n);
    const row = (side: 'ask' | 'bid', [price, lots, total]: readonly [bigint, bigint, bigint]) =>
      `<div class="row" data-price="${price}" data-testid="${side}-level"><div class="bar" style="width:${Number((total * 1000n) / max) / 10}%"></div><span class="${side === 'ask' ? 'down' : 'up'} num">${px(price)}</span><span class="num">${lots}</span><span class="num muted">${total}</span></div>`;
    const bestBid = bids[0]?.[0];
    const bestAsk = asks[0]?.[0];
    const spread = bestBid !== undefined && bestAsk !== undefined ? bestAsk - bestBid : null;
    set('bookseq', book.sequence === null ? 'resyncing…' : `seq ${book.sequence}`);
    set(
      'book',
      `<div class="hdr"><span>Price (USDC)</span><span>Size</span><span>Total</span></div>
       <div class="asks">${a.map((l) => row('ask', l)).reverse().join('')}</div>
       <div class="spread"><b class="${m.lastTradePrice >= m.markPrice ? 'up' : 'down'}">${px(m.lastTradePrice || m.markPrice)}</b><span class="muted">mark ${px(m.markPrice)}</span><span class="muted">spread ${spread === null ? '—' : px(spread)}</span></div>
       <div class="bids">${b.map((l) => row('bid', l)).join('')}</div>`,
    );
    document.querySelectorAll<HTMLElement>('#book .row').forEach((r) =>
      r.addEventListener('click', () => {
        state.form.price = formatUnits(BigInt(r.dataset.price!), QUOTE_DECIMALS, decimals(), false);
        const input = document.getElementById('price') as HTMLInputElement | null;
        if (input) input.value = state.form.price;
        invalidate('estimate');
      }),
    );
  },
  tape() {
    const trades = (state.trades.get(state.marketId) ?? []).slice(0, 40);
    set(
      'tape',
      `<div class="hdr"><span>Price</span><span>Size</span><span>Time</span></div>` +
        (trades.length
          ? trades.map((t) => `<div class="row" data-testid="trade"><span class="num ${t.takerSide === 'Buy' ? 'up' : 'down'}">${px(t.price)}</span><span class="num">${t.lots}</span><span class="num muted">${time(t.timestampMs)}</span></div>`).join('')
          : '<div class="empty">No trades yet</div>'),
    );
  },
  entry() {
    renderEntry();
  },
  estimate() {
    renderEstimate();
  },
  summary() {
    const a = state.account;
    set('acctid', a ? `#${a.account}` : '');
    if (!a) return set('summary', '<span>No account yet</span><span>—</span>');
    const { value, initial, maintenance, freeCollateral, notional } = a.margin;
    const ratio = value > 0n ? Number((maintenance * 10_000n) / value) / 100 : 100;
    const leverage = value > 0n ? formatUnits((notional * 100n) / value, 2, 2) + '×' : '—';
    set(
      'summary',
      `<span>Collateral</span><span data-testid="collateral">${usd(a.collateral)}</span>
       <span>Account value</span><span>${usd(value)}</span>
       <span>Unrealized PnL</span><span data-testid="upnl-total">${signed(a.positions.reduce((s, p) => s + p.unrealizedPnl, 0n))}</span>
       <span>Initial / maint. req.</span><span>${usd(initial)} / ${usd(maintenance)}</span>
       <span>Free collateral</span><span>${usd(freeCollateral)}</span>
       <span>Leverage</span><span>${leverage}</span>
       <span>Margin ratio ${ratio.toFixed(1)}%</span><span>${ratioBar(ratio)}</span>`,
    );
  },
  tabs() {
    const n = state.account?.openOrders.length ?? 0;
    const tabs: [BottomTab, string][] = [
      ['positions', `Positions (${state.account?.positions.length ?? 0})`],
      ['orders', `Open orders (${n})`],
      ['fills', `Fills (${state.fills.length})`],
      ['funding', 'Funding'],
      ['transfers', 'Deposit & withdraw'],
    ];
    set(
      'tabs',
      tabs.map(([id, label]) => `<button data-tab="${id}" class="${state.bottomTab === id ? 'on' : ''}">${label}</button>`).join('') +
        `<div class="right">${n ? '<button class="btn small" data-testid="cancel-all" id="cancel-all">Cancel all</button>' : ''}</div>`,
    );
    document.querySelectorAll<HTMLButtonElement>('[data-tab]').forEach((b) =>
      b.addEventListener('click', () => {
        state.bottomTab = b.dataset.tab as BottomTab;
        invalidate('tabs', 'bottom');
      }),
    );
    document.getElementById('cancel-all')?.addEventListener('click', () => void submit({ kind: 'CancelAll', market: null }, 'Cancel all'));
  },
  bottom() {
    set('bottom', bottomHtml());
    document.querySelectorAll<HTMLButtonElement>('[data-cancel]').forEach((b) =>
      b.addEventListener('click', () => void submit({ kind: 'Cancel', market: Number(b.dataset.market), orderId: BigInt(b.dataset.cancel!) }, 'Cancel')),
    );
    document.querySelectorAll<HTMLButtonElement>('[data-close]').forEach((b) => b.addEventListener('click', () => void closePosition(Number(b.dataset.close))));
    document.getElementById('deposit')?.addEventListener('click', () => void deposit());
    document.getElementById('withdraw')?.addEventListener('click', () => void withdraw());
    document.getElementById('chain-deposit')?.addEventListener('click', () => void depositOnChain());
    document.getElementById('claim')?.addEventListener('click', () => void claim());
  },
  explorer() {
    if (state.view !== 'explorer') return;
    set('explorer', explorerHtml());
    document.getElementById('check-balance')?.addEventListener('click', () => void checkMyBalance());
  },
};

function ratioBar(percent: number): string {
  const level = percent >= 80 ? 'high' : percent >= 50 ? 'mid' : '';
  return `<div class="ratio ${level}" title="maintenance / value"><i style="width:${Math.min(100, Math.max(0, percent))}%"></i></div>`;
}

function bottomHtml(): string {
  const a = state.account;
  const marketOf = (id: number) => state.markets.find((m) => m.id === id);
  const symbol = (id: number) => esc(marketOf(id)?.symbol ?? `#${id}`);
  switch (state.bottomTab) {
    case 'positions': {
      if (!a?.positions.length) return '<div class="empty">No open positions</div>';
      const value = a.margin.value;
      return `<table class="grid"><tr><th>Market</th><th>Size</th><th>Entry</th><th>Mark</th><th>Notional</th><th>uPnL</th><th>ROE</th><th>Liq. price</th><th>Margin ratio</th><th></th></tr>
        ${a.positions
          .map((p) => {
            const m = marketOf(p.market);
            const notional = abs(p.size) * p.markPrice;
            const margin = m ? (notional * (m.marginTiers[0]?.initialFraction ?? RATE_ONE)) / RATE_ONE : notional;
            const roe = margin > 0n ? formatUnits((p.unrealizedPnl * 10_000n) / margin, 2, 2) + '%' : '—';
            const ratio = value > 0n ? Number((a.margin.maintenance * 10_000n) / value) / 100 : 100;
            return `<tr data-testid="position" data-market="${p.market}" data-size="${p.size}">
              <td class="text">${symbol(p.market)}</td>
              <td class="${p.size > 0n ? 'up' : 'down'}">${p.size > 0n ? 'LONG' : 'SHORT'} ${abs(p.size)}</td>
              <td>${px(p.entryPrice < 0n ? -p.entryPrice : p.entryPrice, m)}</td><td>${px(p.markPrice, m)}</td><td>${usd(notional)}</td>
              <td data-testid="upnl">${signed(p.unrealizedPnl)}</td><td>${roe}</td>
              <td class="warn" data-testid="liq">${px(p.liquidationPrice, m)}</td>
              <td>${ratioBar(ratio)}</td>
              <td><button class="btn small" data-close="${p.market}">Close</button></td></tr>`;
          })
          .join('')}</table>`;
    }
    case 'orders':
      if (!a?.openOrders.length) return '<div class="empty">No open orders</div>';
      return `<table class="grid"><tr><th>Market</th><th>Order id</th><th>Type</th><th>Side</th><th>Size</th><th>Price</th><th>Trigger</th><th>Reduce only</th><th>Client id</th><th></th></tr>
        ${a.openOrders
          .map(
            (o) => `<tr data-testid="open-order"><td class="text">${symbol(o.market)}</td><td>${o.orderId}</td><td class="text">${o.kind}</td>
            <td class="${o.side === 'Buy' ? 'up' : 'down'}">${o.side}</td><td>${o.lots}</td><td>${px(o.price, marketOf(o.market))}</td><td>${px(o.triggerPrice, marketOf(o.market))}</td>
            <td class="text">${o.reduceOnly ? 'yes' : ''}</td><td>${o.clientOrderId || ''}</td>
            <td><button class="btn small" data-cancel="${o.orderId}" data-market="${o.market}">Cancel</button></td></tr>`,
          )
          .join('')}</table>`;
    case 'fills':
      return state.fills.length
        ? `<table class="grid"><tr><th>Time</th><th>Market</th><th>Side</th><th>Price</th><th>Size</th><th>Liquidity</th><th>Fee</th><th>Liquidation fee</th></tr>
          ${state.fills.map((f) => `<tr data-testid="fill"><td>${time(f.timestampMs)}</td><td class="text">${symbol(f.market)}</td><td class="${f.side === 'Buy' ? 'up' : 'down'}">${f.side}</td><td>${px(f.price, marketOf(f.market))}</td><td>${f.lots}</td><td class="text">${f.liquidity}${f.liquidation ? ' (liquidation)' : ''}</td><td>${usd(f.fee, 4)}</td><td>${f.liquidation ? usd(f.liquidationFee, 4) : ''}</td></tr>`).join('')}</table>`
        : '<div class="empty">No fills yet</div>';
    case 'funding':
      return `<div class="note">Funding this account paid (positive) or received (negative), newest first.</div>` +
        (state.payments.length
          ? `<table class="grid"><tr><th>Time</th><th>Market</th><th>Amount (USDC)</th></tr>${state.payments.map((p) => `<tr data-testid="funding-payment"><td>${time(p.timestampMs)}</td><td class="text">${symbol(p.market)}</td><td>${usd(p.amount, 6)}</td></tr>`).join('')}</table>`
          : '<div class="empty">No funding payments yet</div>') +
        `<div class="note">Hourly funding settlements of ${symbol(state.marketId)} (rate per lot-hour; positive: longs pay shorts).</div>` +
        (state.funding.length
          ? `<table class="grid"><tr><th>Time</th><th>Rate</th><th>Hours</th><th>Cumulative index</th></tr>${state.funding.map((f) => `<tr><td>${new Date(f.timestampMs).toISOString().slice(0, 19).replace('T', ' ')}</td><td>${formatUnits(f.rate, 7, 4)}%</td><td>${f.hours}</td><td>${f.index}</td></tr>`).join('')}</table>`
          : '<div class="empty">No funding settlements yet (funding settles on the hour)</div>');
    case 'transfers':
      return transfersHtml();
  }
}

function transfersHtml(): string {
  const a = state.account;
  const withdraw = `<tr><td class="text">Withdrawal request</td><td><div class="inp" style="width:140px"><input id="withdraw-amount" value="" placeholder="0.00" data-testid="withdraw-amount"/></div></td><td><button class="btn small" id="withdraw" data-testid="withdraw" ${a ? '' : 'disabled'}>Withdraw</button></td><td class="explain muted">Signed Withdraw action: the engine debits free collateral and lists the withdrawal in the next batch's output; once Solana applied that batch, claim it below.</td></tr>`;
  const head = '<table class="grid"><tr><th>Flow</th><th>Amount (USDC)</th><th></th><th>What happens</th></tr>';
  const settlement = state.status?.settlement;
  if (!settlement) {
    return `${head}
      <tr><td class="text">Dev faucet deposit</td><td><div class="inp" style="width:140px"><input id="deposit-amount" value="10000" data-testid="deposit-amount"/></div></td><td><button class="btn primary small" id="deposit" data-testid="deposit">Deposit</button></td><td class="explain muted">Credits collateral at once (engine option api.dev_faucet; demo only). Opens an account for this key if it has none.</td></tr>
      ${withdraw}
      <tr><td class="text">On Solana</td><td colspan="2"><span class="pill na">no chain</span></td><td class="explain muted">This engine runs without a settlement exchange (no [chain] rpc_url): deposits come from the faucet and nothing settles on chain.</td></tr></table>`;
  }
  const chain = state.onChain;
  if (!state.chain || !chain) {
    const why = settlement.rpcUrl ? (state.chainError ? `Solana: ${esc(state.chainError)}` : 'reading the exchange account…') : 'The engine publishes no RPC endpoint for browsers (chain.public_rpc_url).';
    return `${head}${withdraw}<tr><td class="text">On Solana</td><td colspan="2"><span class="pill na">unavailable</span></td><td class="explain muted" data-testid="chain-status">${why}</td></tr></table>`;
  }
  const claimable = chain.trader ? claimableNow(chain.trader, chain.exchange.appliedBatch) : 0n;
  const pending = chain.trader && chain.trader.lastBatch > chain.exchange.appliedBatch ? chain.trader.stagedWithdrawal : 0n;
  const exchange = chain.exchange;
  return `${head}
    <tr><td class="text">Wallet</td><td data-testid="wallet-tokens">${usd(chain.walletTokens)}</td><td></td><td class="explain muted">Collateral tokens in this key's associated token account on Solana.</td></tr>
    <tr><td class="text">Deposit into the vault</td><td><div class="inp" style="width:140px"><input id="chain-deposit-amount" value="" placeholder="0.00" data-testid="chain-deposit-amount"/></div></td><td><button class="btn primary small" id="chain-deposit" data-testid="chain-deposit" ${state.busy || exchange.paused || exchange.escaped ? 'disabled' : ''}>Deposit</button></td><td class="explain muted">A Solana transaction signed by this key moves the tokens into the exchange's vault and queues the deposit (${exchange.depositCount - exchange.consumedDeposits} queued); the engine credits it within seconds, to this key's first account or a new one.</td></tr>
    ${withdraw}
    <tr><td class="text">Claim after settlement</td><td data-testid="claimable">${usd(claimable)}</td><td><button class="btn small" id="claim" data-testid="claim" ${claimable > 0n && a && !state.busy ? '' : 'disabled'}>Claim</button></td><td class="explain muted">What batches applied on Solana released to this account${pending ? `; ${usd(pending)} more once batch ${chain.trader!.lastBatch} is applied` : ''}. Paid to this key's token account.</td></tr>
    <tr><td class="text">Exchange on Solana</td><td colspan="2" class="hash" data-testid="chain-applied">batch ${exchange.appliedBatch} applied</td><td class="explain muted">${exchange.paused ? '<span class="pill failed">paused</span> ' : ''}${exchange.escaped ? '<span class="pill failed">escape hatch open</span> ' : ''}Account ${esc(settlement.exchange)}; settled collateral of this account on chain: ${chain.trader ? usd(settledCollateral(chain.trader, exchange.appliedBatch)) : 'none yet'}.</td></tr></table>`;
}

function explorerHtml(): string {
  const s = state.status;
  const b = state.batches;
  const na = '<span class="pill na">not yet available</span>';
  const rows = (b?.batches ?? [])
    .slice()
    .reverse()
    .map((x) => {
      const p = x.proof;
      const ran = ['executed', 'proving', 'aggregating', 'wrapping', 'proven'].includes(p.status);
      const detail = ran ? `${Number(p.cycles).toLocaleString('en-US')}` : p.status === 'running' ? `worker ${esc(p.worker ?? '')}, attempt ${p.attempt}` : p.status === 'failed' ? esc(p.reason ?? '') : '';
      const label =
        p.status === 'executed' ? 'executed in guest'
        : p.status === 'proving' ? `proving ${p.proven}/${p.segments}`
        : p.status === 'aggregating' ? `aggregating: level ${p.level}, ${p.done} done`
        : p.status === 'wrapping' ? 'wrapping in Groth16'
        : p.status === 'proven' ? 'STARK proven'
        : p.status;
      const bytes = Number(p.proof_bytes);
      const size = bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : bytes >= 2 ** 10 ? `${(bytes / 2 ** 10).toFixed(0)} KiB` : `${bytes} bytes`;
      const wrap = p.groth16_ms === undefined ? '' : ` · ${(p.groth16_ms / 1000).toFixed(1)} s Groth16`;
      const proving = p.proving_ms === undefined ? na : `${(p.proving_ms / 1000).toFixed(1)} s STARK${wrap}${p.status === 'proven' ? ` · ${size}` : ''}`;
      const sum = x.summary;
      const st = x.settlement;
      const groth16 = p.status === 'proven' && st ? `${size}` : na;
      const settlement = !st
        ? na
        : `<span class="pill ${st.settled ? 'proven' : 'proving'}">${st.settled ? 'settled' : 'applying'}</span> ` +
          (st.submitted ? `<span class="hash" title="${esc(st.submitted)}">${short(st.submitted, 8)}</span>` : '') +
          (st.applied.length ? ` <span class="muted">+${st.applied.length} apply tx</span>` : '');
      return `<tr data-testid="batch" data-batch="${x.batch}" data-status="${p.status}">
        <td>${x.batch}</td><td><span class="pill ${p.status}">${label}</span></td>
        <td>${sum ? `${sum.traderActions} / ${sum.steps}` : '—'}</td>
        <td>${ran ? detail : `<span class="muted">${detail || '—'}</span>`}</td><td>${ran ? p.segments : '—'}</td>
        <td>${sum ? `${time(sum.firstMs)}–${time(sum.lastMs)}` : '—'}</td>
        <td class="hash" title="${sum?.priorRoot ?? ''}">${sum ? short(sum.priorRoot, 8) : '—'}</td>
        <td class="hash" title="${sum?.newRoot ?? ''}">${sum ? short(sum.newRoot, 8) : '—'}</td>
        <td>${proving}</td><td>${groth16}</td><td data-testid="settlement">${settlement}</td></tr>`;
    })
    .join('');
  return `
    <div class="cards">
      <div class="stat"><label>Last sealed batch</label><b data-testid="last-sealed">${b?.lastSealed ?? '—'}</b></div>
      <div class="stat"><label>Steps in the open batch</label><b>${b?.openBatchSteps ?? '—'}</b></div>
      <div class="stat"><label>Log position</label><b>${s?.logPosition ?? '—'}</b></div>
      <div class="stat"><label>Accounts</label><b>${s?.accounts ?? '—'}</b></div>
      <div class="stat"><label>Exchange id</label><b class="hash" title="${s?.exchangeId ?? ''}">${s ? short(s.exchangeId, 8) : '—'}</b></div>
      ${chainCard()}
    </div>
    <section class="panel">
      <h3>Sealed batches <span class="right muted">state root as of batch ${s?.lastSealedBatch ?? '—'}: <span class="hash">${s ? short(s.stateRoot, 12) : '—'}</span></span></h3>
      <div class="note">Each sealed batch is run through the perps guest in the executor, which must commit exactly the engine's output; an engine configured to prove, wrap and settle reports its STARK and Groth16 proofs and its settlement transactions here (submission, then the chunks that apply the balances).</div>
      <div class="scroll">
      ${rows ? `<table class="grid"><tr><th>Batch</th><th>Proving status</th><th>Trader actions / steps</th><th>Cycles</th><th>Segments</th><th>Steps time (UTC)</th><th>Prior state root</th><th>New state root</th><th>Proving / wrap time</th><th>Groth16 proof</th><th>Settlement tx</th></tr>${rows}</table>` : '<div class="empty">No batch sealed yet</div>'}
      </div>
      <div class="check">
        <label>Check my balance in batch <input id="check-batch" data-testid="check-batch" type="number" min="1" placeholder="${b?.lastSealed ?? ''}" /></label>
        <button class="btn small primary" id="check-balance" data-testid="check-balance">Check</button>
        ${state.balanceCheck ? `<span data-testid="balance-check" class="${state.balanceCheck.ok ? 'ok' : 'err'}">${esc(state.balanceCheck.text)}</span>` : '<span class="muted">Your account\'s settled collateral, with its list hash recomputed here against the header the batch\'s proof commits to.</span>'}
      </div>
    </section>`;
}

/** The exchange as Solana has it: the last batch applied, and whether its state root is the
 * one the engine sealed for that batch. */
function chainCard(): string {
  const exchange = state.onChain?.exchange;
  if (!exchange) return `<div class="stat"><label>Applied on Solana</label><b class="muted">${state.status?.settlement ? '—' : 'no chain'}</b></div>`;
  const applied = Number(exchange.appliedBatch);
  const sealed = state.batches?.batches.find((b) => b.batch === applied)?.summary?.newRoot;
  const root = engineRootHex(exchange.stateRoot);
  const agrees = applied === 0 ? '' : sealed === undefined ? '' : sealed === root ? ' <span class="pill proven">root matches</span>' : ' <span class="pill failed">root differs</span>';
  return `<div class="stat"><label>Applied on Solana</label><b data-testid="chain-applied-batch" title="state root ${root}">batch ${applied}${agrees}</b></div>`;
}

/** Checks this account's entry in a batch against the header its proof commits to. */
async function checkMyBalance(): Promise<void> {
  const field = document.getElementById('check-batch') as HTMLInputElement | null;
  const number = Number(field?.value || state.batches?.lastSealed || 0);
  const account = state.accountId;
  if (account === null) {
    state.balanceCheck = { ok: false, text: 'No account for this key yet.' };
  } else {
    try {
      const detail = await api.batch(number);
      const check = await checkBalance(detail, account);
      const proof = await groth16Binding(detail, check.proofTakesDigest);
      const intact = check.committed && check.digestMatches && proof.ok;
      const integrity = (check.committed && check.digestMatches
        ? 'the balance list hashes to the header the proof commits to'
        : 'MISMATCH: the balance list or the header is not what the proof commits to') + `; ${proof.text}`;
      const st = detail.settlement;
      const chain = (await settledOnChain(number, account, check.kind === 'found' ? check.entry.collateral : null)) ?? {
        ok: true,
        text: st?.settled ? `settled on Solana${st.submitted ? ` (submitted in ${short(st.submitted, 6)})` : ''} (as the engine reports)` : 'not settled on chain yet',
      };
      const what = check.kind === 'found' ? `account ${account} settles at ${usd(check.entry.collateral)} USDC` : `no change to account ${account}'s collateral`;
      state.balanceCheck = { ok: intact && chain.ok, text: `Batch ${number}: ${what}; ${integrity}; ${chain.text}.` };
    } catch (error) {
      state.balanceCheck = { ok: false, text: error instanceof ApiError ? describeError(error.code, error.message) : (error as Error).message };
    }
  }
  invalidate('explorer');
}

/** Whether the batch's Groth16 proof takes this header's digest and the exchange's program
 * commitment (read on Solana) as its public inputs. */
async function groth16Binding(detail: BatchDetail, takesDigest: boolean | null): Promise<{ ok: boolean; text: string }> {
  if (!detail.groth16 || takesDigest === null) return { ok: true, text: 'no Groth16 proof yet' };
  if (!takesDigest) return { ok: false, text: "MISMATCH: the Groth16 proof's output input is not this header's digest" };
  const label = `Groth16 proof ${short(detail.groth16.proof, 8)} (256 bytes)`;
  if (!state.chain) return { ok: true, text: `${label} takes this header's digest` };
  const commitment = commitmentInput((await state.chain.exchange()).programCommitment);
  return commitment && toHex(commitment) === detail.groth16.publicInputs[0]
    ? { ok: true, text: `${label} takes this header's digest and the exchange's program commitment on Solana` }
    : { ok: false, text: `MISMATCH: ${label} is not of the program the exchange on Solana names` };
}

/** What Solana says of batch `number` for `account` (read from the exchange and trader
 * accounts, not from the engine); null without a chain. */
async function settledOnChain(number: number, account: number, collateral: bigint | null): Promise<{ ok: boolean; text: string } | null> {
  if (!state.chain) return null;
  const [exchange, trader] = await Promise.all([state.chain.exchange(), state.chain.trader(account)]);
  if (exchange.appliedBatch < BigInt(number)) return { ok: true, text: `Solana has applied batches up to ${exchange.appliedBatch} only` };
  if (collateral === null || !trader || trader.lastBatch !== BigInt(number)) return { ok: true, text: `applied on Solana (batch ${exchange.appliedBatch} is the last applied)` };
  const onChain = settledCollateral(trader, exchange.appliedBatch);
  return onChain === collateral
    ? { ok: true, text: `applied on Solana: the account's record there holds ${usd(onChain)} USDC` }
    : { ok: false, text: `MISMATCH: Solana's record holds ${usd(onChain)} USDC` };
}

// ---------------------------------------------------------------------------------------------
// Order entry

function bindTrade(): void {
  invalidate('entry');
}

function renderEntry(): void {
  const element = document.getElementById('entry');
  const m = market();
  if (!element || !m) return;
  const f = state.form;
  const seg = (name: string, options: [string, string][], current: string, extra = '') =>
    `<div class="seg ${extra}">${options.map(([v, l]) => `<button data-${name}="${v}" class="${v === current ? 'on' : ''} ${v === 'Buy' ? 'buy' : v === 'Sell' ? 'sell' : ''}">${l}</button>`).join('')}</div>`;
  const triggered = f.type === 'stop' || f.type === 'tp';
  const hasPrice = f.type === 'limit' || (triggered && f.stopLimit !== '');
  element.innerHTML = `
    ${seg('side', [['Buy', 'Buy / Long'], ['Sell', 'Sell / Short']], f.side, 'sides')}
    ${seg('type', [['limit', 'Limit'], ['market', 'Market'], ['stop', 'Stop'], ['tp', 'Take prof.']], f.type)}
    ${f.type === 'stop' || f.type === 'tp' ? `<div class="field"><label><span>Trigger price (mark)</span></label><div class="inp"><input id="trigger" data-testid="trigger" value="${f.trigger}" placeholder="0.00"/><span class="unit">USDC</span></div></div>` : ''}
    ${f.type === 'limit' ? `<div class="field"><label><span>Limit price</span><span>tick ${px(m.tickSize)}</span></label><div class="inp"><input id="price" data-testid="price" value="${f.price}" placeholder="0.00"/><span class="unit">USDC</span></div></div>` : ''}
    ${triggered ? `<div class="field"><label><span>Limit price when triggered (empty: market)</span><span>tick ${px(m.tickSize)}</span></label><div class="inp"><input id="stop-limit" data-testid="stop-limit" value="${f.stopLimit}" placeholder="market"/><span class="unit">USDC</span></div></div>` : ''}
    <div class="field"><label><span>Size</span><span id="size-hint"></span></label><div class="inp"><input id="size" data-testid="size" value="${f.size}" placeholder="0"/><select id="unit"><option value="lots" ${f.unit === 'lots' ? 'selected' : ''}>Contracts</option><option value="usdc" ${f.unit === 'usdc' ? 'selected' : ''}>USDC</option></select></div></div>
    <div class="field"><label><span>Leverage (sizes from free collateral)</span><b id="lev-label">${f.leverage ? f.leverage + '×' : '—'}</b></label><input type="range" id="leverage" min="0" max="${m.maxLeverage}" step="1" value="${f.leverage}"/></div>
    ${hasPrice ? `<div class="field"><label><span>Time in force</span></label>${seg('tif', [['GoodTillCancel', 'GTC'], ['ImmediateOrCancel', 'IOC'], ['FillOrKill', 'FOK'], ['PostOnly', 'Post only']], f.tif)}</div>` : ''}
    <div class="checks"><label><input type="checkbox" id="reduce" ${f.reduceOnly ? 'checked' : ''}/> Reduce only</label>${f.type === 'market' ? '<span class="muted">slippage limit 5%</span>' : ''}</div>
    <div class="est" id="estimate"></div>
    <button class="submit ${f.side === 'Buy' ? 'buy' : 'sell'}" id="submit" data-testid="submit" ${state.busy ? 'disabled' : ''}>${state.account ? `${f.side === 'Buy' ? 'Buy / Long' : 'Sell / Short'} ${esc(m.symbol)}` : 'Deposit to trade'}</button>
    ${state.notice ? `<div class="notice ${state.notice.kind}" data-testid="notice">${esc(state.notice.text)}</div>` : ''}
    ${state.account ? '' : `<div class="notice">No account for this key yet. <button class="btn small primary" id="quick-deposit" data-testid="quick-deposit">${state.status?.settlement ? 'Deposit from your wallet' : 'Deposit 10,000 USDC (faucet)'}</button></div>`}`;
  const bindSeg = (name: string, apply: (v: string) => void) =>
    element.querySelectorAll<HTMLButtonElement>(`[data-${name}]`).forEach((b) =>
      b.addEventListener('click', () => {
        apply(b.getAttribute(`data-${name}`)!);
        renderEntry();
      }),
    );
  bindSeg('side', (v) => (f.side = v as Side));
  bindSeg('type', (v) => (f.type = v as OrderType));
  bindSeg('tif', (v) => (f.tif = v as TimeInForce));
  const input = (id: string, apply: (v: string) => void) =>
    document.getElementById(id)?.addEventListener('input', (e) => {
      apply((e.target as HTMLInputElement).value);
      renderEstimate();
    });
  input('price', (v) => (f.price = v));
  input('trigger', (v) => (f.trigger = v));
  input('stop-limit', (v) => {
    const had = f.stopLimit !== '';
    f.stopLimit = v;
    if (had !== (v !== '')) {
      // The time-in-force choice appears or goes: rebuild, keeping the caret in this field.
      renderEntry();
      const field = document.getElementById('stop-limit') as HTMLInputElement;
      field.focus();
      field.setSelectionRange(v.length, v.length);
    }
  });
  input('size', (v) => {
    f.size = v;
    f.leverage = 0;
    set('lev-label', '—');
  });
  document.getElementById('unit')!.addEventListener('change', (e) => {
    f.unit = (e.target as HTMLSelectElement).value as 'lots' | 'usdc';
    renderEstimate();
  });
  document.getElementById('reduce')!.addEventListener('change', (e) => {
    f.reduceOnly = (e.target as HTMLInputElement).checked;
  });
  document.getElementById('leverage')!.addEventListener('input', (e) => {
    f.leverage = Number((e.target as HTMLInputElement).value);
    sizeFromLeverage();
    renderEstimate();
  });
  document.getElementById('submit')!.addEventListener('click', () => void (state.account ? placeOrder() : firstDeposit()));
  document.getElementById('quick-deposit')?.addEventListener('click', () => void firstDeposit());
  renderEstimate();
}

/** The price an order is expected to fill at, for sizing and estimates. */
function referencePrice(m: Market, side: Side): bigint {
  const f = state.form;
  const typed = parseUnits(f.type === 'limit' ? f.price : f.stopLimit, QUOTE_DECIMALS);
  if ((f.type === 'limit' || ((f.type === 'stop' || f.type === 'tp') && f.stopLimit)) && typed) return typed;
  if ((f.type === 'stop' || f.type === 'tp') && f.trigger) return parseUnits(f.trigger, QUOTE_DECIMALS) ?? m.markPrice;
  const book = feed.books.get(m.id);
  return (side === 'Buy' ? book?.best('Sell') : book?.best('Buy')) ?? m.markPrice;
}

function sizeFromLeverage(): void {
  const m = market();
  const a = state.account;
  const f = state.form;
  if (!m || !a || !f.leverage) return;
  const price = referencePrice(m, f.side);
  if (price <= 0n) return;
  const budget = a.margin.freeCollateral * BigInt(f.leverage);
  if (f.unit === 'usdc') f.size = formatUnits(budget > 0n ? budget : 0n, QUOTE_DECIMALS, 2, false);
  else f.size = (budget > 0n ? budget / price : 0n).toString();
  const input = document.getElementById('size') as HTMLInputElement | null;
  if (input) input.value = f.size;
  set('lev-label', `${f.leverage}×`);
}

/** The order the form describes, or why it cannot be built. */
function buildOrder(): { order: OrderRequest; price: bigint } | { error: string } {
  const m = market();
  if (!m) return { error: 'No market' };
  const f = state.form;
  const price = referencePrice(m, f.side);
  let lots: bigint | null;
  if (f.unit === 'lots') lots = parseUnits(f.size, 0);
  else {
    const notional = parseUnits(f.size, QUOTE_DECIMALS);
    lots = notional === null || price <= 0n ? null : notional / price;
  }
  if (lots === null || lots <= 0n) return { error: 'Enter a size' };
  if (lots < m.minOrderLots) return { error: `Minimum size is ${m.minOrderLots}` };
  const slip = (reference: bigint, side: Side) =>
    side === 'Buy' ? roundToTick((reference * 105n) / 100n, m.tickSize, true) : roundToTick((reference * 95n) / 100n, m.tickSize, false) || m.tickSize;
  let execution: Execution;
  if (f.type === 'limit' || ((f.type === 'stop' || f.type === 'tp') && f.stopLimit)) {
    const limit = parseUnits(f.type === 'limit' ? f.price : f.stopLimit, QUOTE_DECIMALS);
    if (!limit) return { error: 'Enter a limit price' };
    if (limit % m.tickSize !== 0n) return { error: `Price must be a multiple of the tick (${px(m.tickSize)})` };
    execution = { kind: 'Limit', price: limit, timeInForce: f.tif };
  } else {
    execution = { kind: 'Market', worstPrice: slip(price, f.side) };
  }
  let trigger: OrderRequest['trigger'] = null;
  if (f.type === 'stop' || f.type === 'tp') {
    const at = parseUnits(f.trigger, QUOTE_DECIMALS);
    if (!at) return { error: 'Enter a trigger price' };
    trigger = { kind: f.type === 'stop' ? 'StopLoss' : 'TakeProfit', price: roundToTick(at, m.tickSize, false) };
  }
  return {
    order: { market: m.id, side: f.side, lots, execution, trigger, reduceOnly: f.reduceOnly, clientOrderId: 0n, selfTrade: 'ExpireMaker' },
    price: execution.kind === 'Limit' ? execution.price : price,
  };
}

function renderEstimate(): void {
  const m = market();
  const a = state.account;
  if (!m) return;
  const built = buildOrder();
  const hint = 'order' in built ? `≈ ${built.order.lots} contracts · ${usd(built.order.lots * built.price)} USDC` : '';
  set('size-hint', hint);
  if (!('order' in built)) return set('estimate', `<span>Estimate</span><span class="muted">${esc(built.error)}</span>`);
  if (!a) return set('estimate', `<span>Notional</span><span>${usd(built.order.lots * built.price)}</span><span>Account</span><span class="muted">deposit first</span>`);
  const position = a.positions.find((p) => p.market === m.id);
  const risk = {
    value: a.margin.value,
    maintenance: a.margin.maintenance,
    initial: a.margin.initial,
    size: position?.size ?? 0n,
    mark: m.markPrice,
    tiers: m.marginTiers,
  };
  const lots = built.order.side === 'Buy' ? built.order.lots : -built.order.lots;
  const postOnly = built.order.execution.kind === 'Limit' && built.order.execution.timeInForce === 'PostOnly';
  const impact = orderImpact(risk, lots, built.price, postOnly ? m.makerFeeRate : m.takerFeeRate, a.margin.notional);
  set(
    'estimate',
    `<span>Notional</span><span>${usd(impact.notional)}</span>
     <span>Fee (${postOnly ? 'maker' : 'taker'}, est.)</span><span>${usd(impact.fee, 4)}</span>
     <span>Margin impact</span><span data-testid="margin-impact">${impact.initialAfter >= impact.initialBefore ? '+' : ''}${usd(impact.initialAfter - impact.initialBefore)}</span>
     <span>Free collateral after</span><span class="${impact.freeAfter < 0n ? 'down' : ''}">${usd(impact.freeAfter)}</span>
     <span>Position after</span><span>${impact.size}</span>
     <span>Est. liquidation price</span><span class="warn" data-testid="est-liq">${px(impact.liquidationPrice)}</span>
     <span>Account leverage after</span><span>${impact.leverage === null ? '—' : formatUnits(impact.leverage, 6, 2) + '×'}</span>
     ${impact.allowed ? '' : '<span class="down">Insufficient margin</span><span class="down">would be rejected</span>'}`,
  );
}

async function placeOrder(): Promise<void> {
  const built = buildOrder();
  if (!('order' in built)) return notify('err', built.error);
  await submit({ kind: 'PlaceOrder', order: built.order }, `${built.order.side} ${built.order.lots}`);
}

async function closePosition(marketId: number): Promise<void> {
  const position = state.account?.positions.find((p) => p.market === marketId);
  const m = state.markets.find((x) => x.id === marketId);
  if (!position || !m) return;
  const side: Side = position.size > 0n ? 'Sell' : 'Buy';
  const book = feed.books.get(marketId);
  const reference = (side === 'Buy' ? book?.best('Sell') : book?.best('Buy')) ?? m.markPrice;
  const worstPrice = side === 'Buy' ? roundToTick((reference * 105n) / 100n, m.tickSize, true) : roundToTick((reference * 95n) / 100n, m.tickSize, false);
  await submit(
    { kind: 'PlaceOrder', order: { market: marketId, side, lots: abs(position.size), execution: { kind: 'Market', worstPrice }, trigger: null, reduceOnly: true, clientOrderId: 0n, selfTrade: 'ExpireMaker' } },
    'Close',
  );
}

/** Signs `action` with the next nonce, submits it and reports what became of it. */
async function submit(action: Action, label: string): Promise<ActionResult | null> {
  if (!state.signer || state.accountId === null || !state.status) {
    notify('err', 'Deposit first: this key has no account.');
    return null;
  }
  state.busy = true;
  try {
    const nonce = (state.nonce > (state.account?.lastNonce ?? 0n) ? state.nonce : state.account?.lastNonce ?? 0n) + 1n;
    state.nonce = nonce;
    const hex = await signAction(state.signer, fromHex(state.status.exchangeId), state.accountId, nonce, action);
    const [result] = await api.submit([hex]);
    report(label, result);
    await refreshAccount();
    return result;
  } catch (error) {
    notify('err', error instanceof ApiError ? describeError(error.code, error.message) : (error as Error).message);
    return null;
  } finally {
    state.busy = false;
    invalidate('entry');
  }
}

function report(label: string, result: ActionResult): void {
  if (result.status === 'accepted') {
    let filled = 0n;
    let resting: string | null = null;
    const cancels: string[] = [];
    for (const event of result.events) {
      if (event.Filled) filled += big(event.Filled.lots);
      if (event.OrderAccepted) resting = String(event.OrderAccepted.order_id);
      if (event.Cancelled) cancels.push(`${event.Cancelled.lots} ${CANCEL_MESSAGES[event.Cancelled.reason] ?? event.Cancelled.reason}`);
    }
    const parts = [`${label}: accepted`];
    if (filled) parts.push(`filled ${filled}`);
    if (resting && !filled) parts.push(`order #${resting}`);
    if (cancels.length) parts.push(cancels.join(', '));
    notify('ok', parts.join(' · '));
  } else {
    notify('err', `${label}: ${result.error.code} — ${describeError(result.error.code, result.error.message)}`);
  }
}

function notify(kind: 'ok' | 'err', text: string): void {
  state.notice = { kind, text };
  invalidate('entry');
}

async function deposit(amount?: bigint): Promise<void> {
  if (!state.signer) return;
  const typed = (document.getElementById('deposit-amount') as HTMLInputElement | null)?.value;
  const atoms = amount ?? parseUnits(typed ?? '', QUOTE_DECIMALS);
  if (!atoms) return notify('err', 'Enter an amount');
  try {
    const id = await api.deposit(toHex(state.signer.publicKey), atoms, state.accountId ?? undefined);
    setAccountId(id);
    notify('ok', `Deposited ${usd(atoms)} USDC from the faucet into account #${id}`);
    await refreshAccount();
  } catch (error) {
    notify('err', error instanceof ApiError ? describeError(error.code, error.message) : (error as Error).message);
  }
}

/** A key without an account: the faucet's 10,000 USDC, or, where deposits come from Solana,
 * the vault deposit form. */
async function firstDeposit(): Promise<void> {
  if (!state.status?.settlement) return deposit(10_000n * QUOTE_ONE);
  state.bottomTab = 'transfers';
  invalidate('tabs', 'bottom');
}

async function depositOnChain(): Promise<void> {
  const amount = parseUnits((document.getElementById('chain-deposit-amount') as HTMLInputElement).value, QUOTE_DECIMALS);
  if (!amount) return notify('err', 'Enter an amount');
  await onChain(`Deposit of ${usd(amount)} USDC into the vault`, (chain, signer) => chain.deposit(signer, amount));
}

async function claim(): Promise<void> {
  const account = state.accountId;
  if (account === null) return;
  await onChain('Claim', (chain, signer) => chain.claim(signer, account));
}

/** Sends one of this key's Solana transactions and reports its signature or its error. */
async function onChain(label: string, send: (chain: Chain, signer: Signer) => Promise<string>): Promise<void> {
  if (!state.chain || !state.signer || state.busy) return;
  state.busy = true;
  invalidate('bottom');
  try {
    const signature = await send(state.chain, state.signer);
    notify('ok', `${label}: confirmed in ${short(signature, 8)}`);
  } catch (error) {
    notify('err', `${label} failed: ${(error as Error).message}`);
  } finally {
    state.busy = false;
    await refreshChain();
  }
}

/** Reads the exchange, this key's wallet and this account's record from Solana; finds the
 * account a deposit opened for this key. */
async function refreshChain(): Promise<void> {
  const settlement = state.status?.settlement;
  if (!settlement?.rpcUrl || !state.signer) return;
  try {
    if (!state.chain) state.chain = await Chain.open(settlement.rpcUrl, settlement.program, settlement.exchange);
    const owner = state.signer;
    const [exchange, walletTokens, trader] = await Promise.all([
      state.chain.exchange(),
      state.chain.walletTokens(ownerAddress(owner)),
      state.accountId === null ? Promise.resolve(null) : state.chain.trader(state.accountId),
    ]);
    if (owner !== state.signer) return;
    state.onChain = { exchange, walletTokens, trader };
    state.chainError = '';
    if (state.accountId === null) {
      const [first] = await api.accountsOf(toHex(owner.publicKey));
      if (first !== undefined && owner === state.signer) {
        setAccountId(first);
        void refreshAccount();
      }
    }
  } catch (error) {
    state.chainError = (error as Error).message;
  }
  invalidate('bottom', 'explorer');
}

async function withdraw(): Promise<void> {
  const amount = parseUnits((document.getElementById('withdraw-amount') as HTMLInputElement).value, QUOTE_DECIMALS);
  if (!amount) return notify('err', 'Enter an amount');
  await submit({ kind: 'Withdraw', amount }, `Withdraw ${usd(amount)}`);
}

// ---------------------------------------------------------------------------------------------
// Data

const priceSamples = new Map<number, [number, bigint, bigint][]>();
/** Per market, the minute candles' last trade prices, oldest first. */
const closeHistory = new Map<number, [number, bigint][]>();

/** Seeds the chart with the engine's minute candles, once per market: marks and indices
 * before the first sampled here, and last prices before the trades loaded. */
async function loadPriceHistory(id: number): Promise<void> {
  if (closeHistory.has(id)) return;
  const candles = (await api.candles(id, '1m', 1000)).reverse();
  // A candle's values are those at its close: plot them at its last second.
  const at = (c: { startMs: number }) => c.startMs + 59_000;
  const samples = priceSamples.get(id) ?? [];
  const firstSample = samples[0]?.[0] ?? Infinity;
  const older = candles
    .filter((c) => c.mark !== null && c.index !== null && at(c) < firstSample)
    .map((c): [number, bigint, bigint] => [at(c), c.mark!, c.index!]);
  priceSamples.set(id, [...older, ...samples]);
  closeHistory.set(id, candles.filter((c) => c.close !== null).map((c) => [at(c), c.close!]));
  if (chartMarket === id) chartMarket = -1;
  invalidate('chart');
}

function setAccountId(id: number): void {
  state.accountId = id;
  storage.setItem(`gnomon.account.${toHex(state.signer!.publicKey)}`, String(id));
  feed.subscribeAccount(id);
  invalidate('wallet');
  void refreshAccountHistory().catch(() => undefined);
}

function useSigner(signer: Signer, name: string): void {
  state.signer = signer;
  state.signerName = name;
  state.account = null;
  state.accountId = null;
  state.nonce = 0n;
  state.fills = [];
  state.fillsThrough = -1;
  state.payments = [];
  state.onChain = null;
  const stored = storage.getItem(`gnomon.account.${toHex(signer.publicKey)}`);
  if (stored !== null) setAccountId(Number(stored));
  void refreshAccount();
  void refreshChain();
  invalidate('wallet', 'entry', 'summary', 'tabs', 'bottom');
}

async function refreshMarkets(): Promise<void> {
  const markets = await api.markets();
  const now = Date.now();
  for (const m of markets) {
    const samples = priceSamples.get(m.id) ?? [];
    samples.push([now, m.markPrice, m.indexPrice]);
    if (samples.length > 5000) samples.shift();
    priceSamples.set(m.id, samples);
    if (m.id === state.marketId && chart && chartMarket === m.id) {
      chart.add('mark', now, m.markPrice);
      chart.add('index', now, m.indexPrice);
    }
  }
  const first = state.markets.length === 0;
  state.markets = markets;
  if (!markets.some((m) => m.id === state.marketId)) state.marketId = markets[0]?.id ?? 0;
  invalidate('marketbar', 'chart', 'estimate', 'book', ...(first ? ['entry'] : []));
}

async function refreshMarketData(): Promise<void> {
  const id = state.marketId;
  void loadPriceHistory(id).catch(() => undefined);
  const [trades, funding] = await Promise.all([api.trades(id, 100), api.funding(id, 50)]);
  state.trades.set(id, trades);
  state.funding = funding;
  invalidate('tape', 'bottom');
}

async function refreshAccount(): Promise<void> {
  if (state.accountId === null) return;
  try {
    const account = await api.account(state.accountId);
    if (state.signer && account.owner !== toHex(state.signer.publicKey)) {
      // Stored id of another engine's data: forget it.
      storage.removeItem(`gnomon.account.${toHex(state.signer.publicKey)}`);
      state.accountId = null;
      state.account = null;
    } else state.account = account;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'unknown_account') {
      storage.removeItem(`gnomon.account.${toHex(state.signer!.publicKey)}`);
      state.accountId = null;
      state.account = null;
    }
  }
  invalidate('summary', 'tabs', 'bottom', 'estimate', 'wallet');
  if (!document.getElementById('submit')?.textContent?.includes(state.account ? 'Long' : 'Deposit')) invalidate('entry');
}

/** Loads the account's fill and funding history; fills the live feed brought since stay. */
async function refreshAccountHistory(): Promise<void> {
  const id = state.accountId;
  if (id === null) return;
  const [fills, payments] = await Promise.all([api.fills(id, 200), api.fundingPayments(id, 200)]);
  if (id !== state.accountId) return;
  const through = fills[0]?.position ?? -1;
  state.fills = [...state.fills.filter((f) => f.position > through), ...fills];
  state.fillsThrough = Math.max(state.fillsThrough, through);
  state.payments = payments;
  invalidate('tabs', 'bottom');
}

async function refreshBatches(): Promise<void> {
  const [batches, status] = await Promise.all([api.batches(), api.status()]);
  state.batches = batches;
  state.status = status;
  invalidate('explorer');
}

const feed = new Feed(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`, {
  onBook(market) {
    if (market === state.marketId) invalidate('book');
  },
  onTrade(market, stamped) {
    const e = stamped.event.Filled;
    const trade = toTrade({ position: stamped.position, timestamp_ms: stamped.timestamp_ms, price: e.price, lots: e.lots, taker_side: e.taker_side });
    const list = state.trades.get(market) ?? [];
    list.unshift(trade);
    if (list.length > 200) list.pop();
    state.trades.set(market, list);
    if (market === state.marketId) {
      chart?.add('last', trade.timestampMs, trade.price);
      invalidate('tape');
    }
  },
  onAccountEvent(account, stamped) {
    const e = stamped.event.Filled;
    // Fills at or before the newest loaded from history are in it already.
    if (e && account === state.accountId && Number(stamped.position) > state.fillsThrough) {
      const taker = e.taker_account === account;
      state.fills.unshift(
        toFill({
          position: stamped.position,
          timestamp_ms: stamped.timestamp_ms,
          market: e.market,
          side: taker ? e.taker_side : e.taker_side === 'Buy' ? 'Sell' : 'Buy',
          price: e.price,
          lots: e.lots,
          liquidity: taker ? 'taker' : 'maker',
          order_id: taker ? e.taker_order : e.maker_order,
          fee: taker ? e.taker_fee : e.maker_fee,
          liquidation: false,
          liquidation_fee: 0,
        }),
      );
    }
    if (stamped.event.FundingPaid || stamped.event.Liquidated) void refreshAccountHistory().catch(() => undefined);
    void refreshAccount();
  },
  onState(feedState, detail) {
    state.feedState = feedState;
    state.feedDetail = detail ?? '';
    invalidate('conn');
  },
  fetchSnapshot: (market) => api.book(market, 1000),
});

async function start(): Promise<void> {
  applyTheme();
  shell();
  const seed = params.get('seed');
  useSigner(localKeySigner(storage, seed), seed !== null ? `Dev key ${seed}` : 'Local key');
  state.status = await api.status();
  void refreshChain();
  await refreshMarkets();
  feed.start();
  feed.subscribeMarket(state.marketId);
  if (state.accountId !== null) feed.subscribeAccount(state.accountId);
  await refreshMarketData();
  setInterval(() => void refreshMarkets().catch(() => undefined), 1000);
  setInterval(() => void refreshAccount(), 2000);
  setInterval(() => void refreshChain(), 2000);
  setInterval(() => void refreshMarketData().catch(() => undefined), 10_000);
  setInterval(() => void refreshAccountHistory().catch(() => undefined), 10_000);
  setInterval(() => {
    if (state.view === 'explorer') void refreshBatches().catch(() => undefined);
  }, 1500);
  if (state.view === 'explorer') await refreshBatches();
  // Wallets that register after load (browser extensions) appear in the header.
  setTimeout(() => invalidate('wallet'), 1000);
}

void start();
(window as any).gnomon = { state, feed };
