// browser.mjs -- helpers for the browser tests: a static server on a free port and headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no downloaded browser).
// Not named *.test.mjs / *_test.mjs, so `node --test tests/` does not run it as a test.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../scripts/serve.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// playwright-core (npm) and Chromium (Debian) come from scripts/setup.sh; `make test` runs it
// first, and a fresh checkout that ran only `make` gets it here, once.
function runSetup(why) {
  process.stderr.write(`browser tests: ${why}; running scripts/setup.sh\n`);
  execFileSync(join(ROOT, 'scripts', 'setup.sh'), { cwd: ROOT, stdio: ['ignore', 2, 2] });
}

async function playwright() {
  try {
    return await import('playwright-core');
  } catch (e) {
    if (e.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    runSetup('playwright-core is not installed');
    return import('playwright-core');
  }
}

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function chromiumPath() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  return candidates.find((p) => existsSync(p)) ?? null;
}

// Start the page's own server (scripts/serve.mjs) on a free port.
export async function startServer(root) {
  const server = await serve({ root, port: 0 });
  const { port } = server.address();
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

// Launch Chromium with a fresh profile; close() removes it again.
export async function launchBrowser() {
  const { chromium } = await playwright();
  if (!chromiumPath()) runSetup('Chromium is not installed');
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('Chromium not found: run scripts/setup.sh (or set CHROMIUM=/path/to/chrome)');
  const userDataDir = mkdtempSync(join(tmpdir(), 'ddpm-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// Watch a page: console errors, page errors, failed requests, and any request that leaves
// the page's own origin.
export function watchPage(page, origin) {
  const log = { consoleErrors: [], pageErrors: [], foreign: [], failed: [] };
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') log.consoleErrors.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => log.pageErrors.push(String(err)));
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith('data:') || url.startsWith('blob:')) return;
    if (new URL(url).origin !== origin) log.foreign.push(url);
  });
  page.on('requestfailed', (req) => log.failed.push(`${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => { if (res.status() >= 400) log.failed.push(`${res.status()} ${res.url()}`); });
  return log;
}

// A phone: Chromium with a touch screen and no hovering pointer (isMobile), 390 x 844 at 2x, in a
// browser of its own (the persistent profile above cannot hold a second, mobile context).
export async function launchPhone() {
  const { chromium } = await playwright();
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('Chromium not found: run scripts/setup.sh (or set CHROMIUM=/path/to/chrome)');
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  return { context, close: () => browser.close().catch(() => {}) };
}
