import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Where `screenshot(name)` writes: `test-artifacts/screenshots/` at the repository root (git-ignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

// Debian's Chromium, not a Playwright download: nothing can be downloaded on CI machines. QUIC,
// background networking, component updates and sync are off so the browser only talks to the
// servers a test starts.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchOptions {
  /** What `prefers-color-scheme` answers; default `light`. */
  colorScheme?: 'light' | 'dark';
}

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  /** A page opened in a fresh context (no cookies or storage from other tests). */
  page: Page;
  /** Uncaught exceptions thrown in the page; a healthy page leaves this empty. */
  pageErrors: Error[];
  /** Saves a full-page PNG as `test-artifacts/screenshots/<name>.png` and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium (`CHROMIUM_PATH`, default `/usr/bin/chromium`) with one page. Playwright
 * gives every launch its own temporary profile (`--user-data-dir`), so runs share no state.
 */
export async function launchBrowser(options: LaunchOptions = {}): Promise<BrowserSession> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
  const context = await browser.newContext({
    colorScheme: options.colorScheme ?? 'light',
    viewport: { width: 1280, height: 800 },
  });
  const page = await context.newPage();
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));

  return {
    browser,
    context,
    page,
    pageErrors,
    async screenshot(name) {
      await mkdir(SCREENSHOT_DIR, { recursive: true });
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: () => browser.close(),
  };
}
