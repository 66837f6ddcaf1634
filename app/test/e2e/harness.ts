// Starts what the end-to-end tests drive: an engine on a loopback port with a temporary data
// directory, the built app under `vite preview` proxying /v1 to it, and Debian's Chromium.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { type PreviewServer, build, preview } from 'vite';

export const appRoot = resolve(__dirname, '../..');
const repoRoot = resolve(appRoot, '..');

export function engineBinary(): string {
  if (process.env.GNOMON_ENGINE_BIN) return resolve(process.env.GNOMON_ENGINE_BIN);
  const target = process.env.CARGO_TARGET_DIR ? resolve(repoRoot, process.env.CARGO_TARGET_DIR) : join(repoRoot, 'target');
  return join(target, 'debug', 'gnomon-engine');
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

export async function startAll(): Promise<Running> {
  const binary = engineBinary();
  if (!existsSync(binary)) throw new Error(`no engine at ${binary}: build it (cargo build -p gnomon-engine) or set GNOMON_ENGINE_BIN`);
  const work = mkdtempSync(join(tmpdir(), 'gnomon-e2e-'));
  writeFileSync(join(work, 'engine.toml'), '[batching]\nmax_age_ms = 1500\n');
  const port = await freePort();
  const engineUrl = `http://127.0.0.1:${port}`;
  const engine: ChildProcess = spawn(binary, ['--config', join(work, 'engine.toml'), '--listen', `127.0.0.1:${port}`, '--data-dir', join(work, 'data')], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
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
      engine.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      rmSync(work, { recursive: true, force: true });
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
