import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium; CI installs it with `apt-get install -y chromium`. Never a downloaded browser. */
export const CHROMIUM = process.env.WAGATE_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Where the screenshots go: the README's docs/screenshots/ with WAGATE_SCREENSHOTS=update
 * (`npm run screenshots`), otherwise a temp folder, so a test run leaves the checkout clean.
 */
export const SCREENSHOTS =
  process.env.WAGATE_SCREENSHOTS === 'update'
    ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
    : join(tmpdir(), 'wagate-screenshots/');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Launches headless Chromium, or fails (never skips) with what to install. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The dashboard tests drive a real Chromium and found none at ${CHROMIUM}. Install it with "apt-get install -y chromium" (or set WAGATE_TEST_CHROMIUM to its path).`);
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/** A page that gives up a wait after 15 s; each uncaught error in it is pushed to `errors` (a test expects none). */
export async function openPage(browser: Browser, errors?: string[], viewport = DESKTOP): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(15_000);
  if (errors) page.on('pageerror', (err) => errors.push(err.message));
  return page;
}

/** Signs in to the dashboard at `url` with `token` and waits until its live feed is up. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.locator('#live[data-state=live]').waitFor();
}
