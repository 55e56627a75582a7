import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/http.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { DESKTOP, PHONE, SCREENSHOTS, launchChromium, openPage } from './browser.js';

// The page's globals, for the functions that run inside Chromium (tsconfig has no DOM lib).
interface PageElement {
  textContent: string | null;
  replaceChildren(): void;
  dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  documentElement: { scrollWidth: number };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
};
declare const window: Record<string, unknown> & { scrollTo(x: number, y: number): void };
declare const MutationObserver: new (fn: () => void) => { observe(target: PageElement, options: { childList: boolean; subtree: boolean }): void };

/**
 * The dashboard in a real Chromium against a real gateway: one operator's session, in order.
 * Every step after sign-in happens without a page reload; the live feed carries the changes.
 */
describe('dashboard', () => {
  let gw: TestGateway;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;
  let channelId = '';
  const pageErrors: string[] = [];
  /** Every URL the page asked for: the admin token must never be in one. */
  const requested: string[] = [];
  /** The server's side of each event stream the page opened. */
  const streamSockets: Socket[] = [];

  /** A screenshot for docs/: from the top, without the toasts that come and go. */
  const shot = async (name: string, fullPage = false) => {
    await page.evaluate(() => {
      document.querySelector('#toasts')?.replaceChildren();
      window.scrollTo(0, 0);
    });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
  };
  const badgeIn = (scope: string, text: string) => page.locator(`${scope} .badge`, { hasText: new RegExp(`^${text}$`) });
  /** Set after sign-in: a reload would lose it. */
  const stillSamePage = () => page.evaluate(() => window.__sameDocument === true);

  beforeAll(async () => {
    browser = await launchChromium();
    gw = await startTestGateway();
    receiver = await startReceiver();
    page = await openPage(browser, pageErrors);
    page.on('request', (req) => requested.push(req.url()));
    gw.gateway.app.server.on('request', (req: IncomingMessage) => {
      if (req.url?.startsWith('/partner/events')) streamSockets.push(req.socket);
    });
  });

  afterAll(async () => {
    // The browser first: its event stream would hold the gateway's close open.
    await browser?.close();
    await receiver?.close();
    await gw?.close();
  });

  it('signs in with the admin token only', async () => {
    const billing = await gw.createChannel({ name: 'Billing' });
    await until(async () => (await billing.gate('GET', '/health?wakeup=false')).body.status.text === 'QR', 'Billing to show a QR');
    expect((await billing.gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Billing desk' } })).status).toBe(200);

    await page.goto(gw.url);
    await page.locator('input[name=token]').waitFor();
    await shot('login');

    await page.fill('input[name=token]', 'not-the-token');
    await page.click('button[type=submit]');
    await page.getByText('That token is not the admin token.').waitFor();

    await page.fill('input[name=token]', billing.token);
    await page.click('button[type=submit]');
    await page.getByText('That is a channel token').waitFor();

    await page.fill('input[name=token]', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await badgeIn('.channel-row:has-text("Billing")', 'AUTH').waitFor();
    await page.locator('#live[data-state=live]').waitFor();
    await page.evaluate(() => (window.__sameDocument = true));
  });

  it('creates a sandbox channel and follows its status live in the list', async () => {
    await page.fill('input[name=name]', 'Support');
    await page.selectOption('select[name=engine]', 'sandbox');
    await page.click('.sandbox-options summary');
    await page.fill('input[name=qr_first_ms]', '2000');
    await page.fill('input[name=qr_next_ms]', '2000');
    await page.click('button:has-text("Create channel")');

    const notice = page.locator('.token-notice');
    await notice.waitFor();
    expect(await notice.locator('.token').textContent()).toMatch(/^\S{20,}$/);
    channelId = (await notice.textContent())?.match(/\(([A-Z]+-[A-Z0-9]{5})\)/)?.[1] ?? '';
    expect(channelId).not.toBe('');

    await badgeIn(`.channel-row[data-channel="${channelId}"]`, 'QR').waitFor();
    await shot('channels');
  });

  it('shows the QR, replaces it on each new QR, and gives a pairing code', async () => {
    await page.click('a:has-text("Open the channel")');
    const qr = page.locator('img.qr');
    await qr.waitFor();
    const first = await qr.getAttribute('data-rowdata');
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    await shot('qr');

    // The sandbox issues a new QR every 2 s here: the page swaps it in on `channel.patch`.
    await page.waitForFunction((old) => document.querySelector('img.qr')?.getAttribute('data-rowdata') !== old, first);

    await page.fill('input[name=phone]', '61371989950');
    await page.click('button:has-text("Get pairing code")');
    const code = await page.locator('.pair-code-out .code').textContent();
    expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  });

  it('shows AUTH as soon as the sandbox phone scans, without a reload', async () => {
    await page.fill('input[name=user_name]', 'Support desk');
    await page.click('button[data-control=scan]');
    await badgeIn('.channel-head', 'AUTH').waitFor();
    await page.getByText('✓ Linked to Support desk').waitFor();
    expect(await page.locator('img.qr').count()).toBe(0);
    expect(await stillSamePage()).toBe(true);
  });

  it('draws a blip on the 24-hour timeline', async () => {
    const drops = page.locator('.stat[data-stat=drops] dd');
    expect(await drops.textContent()).toBe('0');

    // Every status the header shows, however briefly: INIT may last only a few hundred ms.
    await page.evaluate(() => {
      const seen: string[] = [];
      window.__seen = seen;
      const head = document.querySelector('.channel-head') as PageElement;
      new MutationObserver(() => seen.push(head.querySelector('.badge')?.textContent ?? '')).observe(head, { childList: true, subtree: true });
    });
    await page.fill('input[name=duration_ms]', '600');
    await page.click('button[data-control=blip]');

    // QR, then AUTH, the drop (INIT, LAUNCH), and AUTH again.
    await page.waitForFunction(() => {
      const statuses = [...document.querySelectorAll('.tl-bar .tl-seg')].map((s) => s.dataset.status);
      return statuses.slice(-4).join(' ') === 'AUTH INIT LAUNCH AUTH' && document.querySelector('.stat[data-stat=drops] dd')?.textContent === '1';
    });
    await badgeIn('.channel-head', 'AUTH').waitFor();
    const seen = await page.evaluate(() => window.__seen as string[]);
    expect(seen).toEqual(expect.arrayContaining(['INIT', 'LAUNCH', 'AUTH']));
    await page.locator('.change-list', { hasText: 'connection_lost' }).waitFor();
    expect(await page.locator('.stat[data-stat=uptime] dd').textContent()).toMatch(/^\d+(\.\d+)? %$/);
    expect(await stillSamePage()).toBe(true);
    await shot('channel', true);
  });

  it('edits the webhook settings', async () => {
    receiver.respond({ status: 410 });
    await page.click('.tabs a:has-text("Settings")');
    await page.click('button:has-text("Add webhook")');
    const hook = page.locator('fieldset.webhook').last();
    await hook.locator('input[name=url]').fill(`${receiver.url}/hook`);
    await hook.locator('input[value="channel.post"]').check();
    await hook.locator('input[name=webhook_max_age_seconds]').fill('15');
    await hook.locator('textarea[name=headers]').fill('X-Shop: north');
    await page.click('button:has-text("Save settings")');
    await page.locator('.alert.ok', { hasText: 'Saved' }).waitFor();
    await shot('settings', true);

    const saved = await gw.partner('GET', `/partner/channels/${channelId}/settings`);
    expect(saved.body.webhooks).toEqual([
      expect.objectContaining({ url: `${receiver.url}/hook`, webhook_max_age_seconds: 15, headers: { 'X-Shop': 'north' }, events: expect.arrayContaining([{ type: 'channel', method: 'post' }]) }),
    ]);
  });

  it('replays a failed delivery from the deliveries table', async () => {
    // The receiver answers 410 Gone: the delivery fails at once and the webhook is disabled.
    await gw.partner('POST', `/partner/channels/${channelId}/sandbox/blip`, { duration_ms: 300 });
    await until(async () => (await gw.partner('GET', `/partner/channels/${channelId}/deliveries?status=failed`)).body.total > 0, 'a failed delivery');
    receiver.respond({ status: 200 });

    await page.click('.tabs a:has-text("Deliveries")');
    await page.selectOption('select[name=status]', 'failed');
    const failed = page.locator('tr[data-status=failed]').first();
    await failed.waitFor();
    const failedId = await failed.getAttribute('data-delivery');
    await failed.locator('button:has-text("Replay")').click();

    const copy = page.locator('tr.fresh');
    await copy.waitFor();
    expect(await copy.textContent()).toContain(`replay of #${failedId}`);
    await page.locator('tr.fresh[data-status=delivered]').waitFor();
    expect(receiver.received.some((r) => r.path === '/hook' && r.headers['x-shop'] === 'north')).toBe(true);
    await shot('deliveries', true);
  });

  it('reads well on a phone screen', async () => {
    await page.setViewportSize(PHONE);
    await page.click('.tabs a:has-text("Overview")');
    await page.locator('.tl-bar .tl-seg').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await shot('phone-channel', true);

    await page.click('.tabs a:has-text("Deliveries")');
    await page.locator('tr[data-delivery]').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await shot('phone-deliveries', true);

    expect(await stillSamePage()).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('keeps its live feed across a dropped connection with a fresh ticket, and never puts the admin token in a URL', async () => {
    await page.setViewportSize(DESKTOP);
    await page.click('a.brand');
    await badgeIn(`.channel-row[data-channel="${channelId}"]`, 'AUTH').waitFor();
    const streams = () => requested.filter((url) => new URL(url).pathname === '/partner/events');
    const before = streams().length;
    // The gateway drops the stream: the page comes back with a new ticket, after the last event it saw.
    for (const socket of streamSockets) socket.destroy();
    await until(() => streams().length > before, 'the page to open the stream again');
    await page.locator('#live[data-state=live]').waitFor();
    expect((await gw.partner('POST', `/partner/channels/${channelId}/stop`)).status).toBe(200);
    await badgeIn(`.channel-row[data-channel="${channelId}"]`, 'STOP').waitFor();

    const tickets = streams().map((url) => new URL(url).searchParams.get('ticket'));
    expect(tickets.every((t) => typeof t === 'string' && t.length >= 20)).toBe(true);
    expect(new Set(tickets).size).toBe(tickets.length);
    expect(new URL(streams().at(-1) as string).searchParams.get('last_event_id')).toMatch(/^\d+$/);
    expect(requested.length).toBeGreaterThan(10);
    for (const url of requested) {
      expect(url).not.toContain(ADMIN_TOKEN);
      expect(url).not.toContain(encodeURIComponent(ADMIN_TOKEN));
    }
    expect(await stillSamePage()).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
