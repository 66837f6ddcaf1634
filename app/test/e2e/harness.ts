// Starts what the end-to-end tests drive: an engine on a loopback port with a temporary data
// directory, the built app under `vite preview` proxying /v1 to it, and Debian's Chromium;
// with `chain`, first a local Solana runtime (`gnomon localnet`) with the settlement program
// and an exchange opened for the engine, which then takes its deposits from that chain; with
// `demo`, the engine and chain of `gnomon demo --serve` once its batch is settled.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { type PreviewServer, build, preview } from 'vite';

export const appRoot = resolve(__dirname, '../..');
const repoRoot = resolve(appRoot, '..');

/** A debug binary of the workspace: `variable` names it, or the target directory has it. */
function binary(variable: string, name: string): string {
  const given = process.env[variable];
  if (given) return resolve(given);
  const target = process.env.CARGO_TARGET_DIR ? resolve(repoRoot, process.env.CARGO_TARGET_DIR) : join(repoRoot, 'target');
  const path = join(target, 'debug', name);
  if (!existsSync(path)) throw new Error(`no ${name} at ${path}: build it (cargo build) or set ${variable}`);
  return path;
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface Running {
  engineUrl: string;
  appUrl: string;
  browser: Browser;
  stop(): Promise<void>;
}

/** A wallet `gnomon localnet` funds: its base58 address and whole collateral tokens. */
export interface Grant {
  address: string;
  tokens: number;
}

/** Runs `gnomon args...` until it prints `until`; resolves with the lines it printed before,
 * by their first word (the last of each). */
async function gnomonUntil(args: string[], until: string, children: ChildProcess[]): Promise<Map<string, string>> {
  const child = spawn(binary('GNOMON_BIN', 'gnomon'), args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const printed = new Map<string, string>();
  return new Promise((done, fail) => {
    let buffered = '';
    child.on('exit', (code) => fail(new Error(`gnomon ${args[0]} exited (${code}) before printing ${until}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        const [key, value] = line.split(/\s+/);
        if (key === until) return done(printed);
        if (key && value) printed.set(key, value);
      }
    });
  });
}

/** What the tests run against: an engine alone (the faucet on), an engine on `gnomon
 * localnet` with these wallets funded, or `gnomon demo --serve` (test parameters): the
 * demo's engine and chain after its batch was proven, wrapped and settled. */
export type Setup = { chain?: Grant[]; demo?: boolean };

export async function startAll(options: Setup = {}): Promise<Running> {
  const work = mkdtempSync(join(tmpdir(), 'gnomon-e2e-'));
  const children: ChildProcess[] = [];
  const stopChildren = () => children.forEach((child) => child.kill('SIGTERM'));
  let engineUrl: string;
  try {
    engineUrl = options.demo
      ? (await gnomonUntil(['demo', '--insecure-test-parameters', '--serve', '--work', join(work, 'demo')], 'serving', children)).get('engine')!
      : await startEngine(work, options.chain, children);
  } catch (error) {
    stopChildren();
    throw error;
  }

  process.env.GNOMON_ENGINE_URL = engineUrl;
  await build({ root: appRoot, logLevel: 'warn' });
  const server: PreviewServer = await preview({ root: appRoot, logLevel: 'warn', preview: { port: await freePort(), strictPort: true, host: '127.0.0.1' } });
  const appUrl = server.resolvedUrls!.local[0].replace(/\/$/, '');

  const profile = mkdtempSync(join(tmpdir(), 'gnomon-chromium-'));
  const browser = await chromium.launch({
    executablePath: process.env.GNOMON_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--disk-cache-dir=${profile}`,
    ],
  });

  return {
    engineUrl,
    appUrl,
    browser,
    async stop() {
      await browser.close().catch(() => undefined);
      await server.close().catch(() => undefined);
      stopChildren();
      await new Promise((r) => setTimeout(r, 200));
      rmSync(work, { recursive: true, force: true });
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** An engine on a free port with a fresh data directory; on `gnomon localnet` with `grants`
 * funded, if given. Resolves with its URL once its oracle has priced a market. */
async function startEngine(work: string, grants: Grant[] | undefined, children: ChildProcess[]): Promise<string> {
  let config = '[batching]\nmax_age_ms = 1500\n';
  if (grants) {
    writeFileSync(join(work, 'genesis.toml'), config);
    const args = ['localnet', '--engine-config', join(work, 'genesis.toml'), '--rpc-port', '0', '--operator', join(work, 'operator.json')];
    for (const grant of grants) args.push('--trader', `${grant.address}=${grant.tokens}`);
    const chain = await gnomonUntil(args, 'ready', children);
    const rpc = chain.get('rpc')!;
    // The engine credits deposits from the chain (no faucet) and publishes the endpoint for
    // the browser; it proves nothing, so no batch settles here.
    config += `[api]\ndev_faucet = false\n[chain]\nrpc_url = "${rpc}"\npublic_rpc_url = "${rpc}"\nexchange_address = "${chain.get('exchange')}"\npoll_ms = 200\n`;
  }
  writeFileSync(join(work, 'engine.toml'), config);
  const port = await freePort();
  const engineUrl = `http://127.0.0.1:${port}`;
  const engine: ChildProcess = spawn(binary('GNOMON_ENGINE_BIN', 'gnomon-engine'), ['--config', join(work, 'engine.toml'), '--listen', `127.0.0.1:${port}`, '--data-dir', join(work, 'data')], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(engine);
  let exited = false;
  engine.on('exit', () => (exited = true));
  for (let i = 0; ; i += 1) {
    if (exited) throw new Error('the engine exited at start');
    try {
      const response = await fetch(`${engineUrl}/v1/markets`);
      const body = await response.json();
      if (body.markets?.[0]?.index_price > 0) break;
    } catch {
      // not up yet
    }
    if (i > 300) throw new Error('the engine did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return engineUrl;
}
