import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Call } from '../support/http.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { launchChromium, openPage, signIn } from './browser.js';

const FAST = { init_ms: 20, launch_ms: 20, receipt_delivered_ms: null, receipt_read_ms: null };

/**
 * The dashboard's operator actions in a real Chromium against a real gateway: logout, the
 * account in the list, the webhook Test button and field errors, replay all failed, the
 * delivery detail, the messages view, and the small fixes.
 */
describe('dashboard: operator actions', () => {
  let gw: TestGateway;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;
  let shop: { id: string; token: string; gate: Call };
  const pageErrors: string[] = [];
  const status = async (gate: Call) => (await gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text;

  beforeAll(async () => {
    browser = await launchChromium();
    gw = await startTestGateway();
    receiver = await startReceiver();
    page = await openPage(browser, pageErrors);
    shop = await gw.createChannel({ name: 'Shop', sandbox: FAST });
    await until(async () => (await status(shop.gate)) === 'QR', 'QR');
    await shop.gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Shop desk' } });
    await until(async () => (await status(shop.gate)) === 'AUTH', 'AUTH');
    await signIn(page, gw.url, ADMIN_TOKEN);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await gw?.close();
  });

  it("lists the linked account's name and number, and links to /docs", async () => {
    await page.locator(`.channel-row[data-channel="${shop.id}"] .user`, { hasText: 'Shop desk +61371989950' }).waitFor();
    expect(await page.locator('a.docs-link').getAttribute('href')).toBe('/docs');
    expect((await page.request.get(`${gw.url}/docs/json`)).status()).toBe(200);
  });

  it('offers every sandbox timing on creation, and the channel gets them', async () => {
    await page.click('.sandbox-options summary');
    for (const name of ['init_ms', 'launch_ms', 'qr_first_ms', 'qr_next_ms', 'qr_per_round']) await page.locator(`input[name=${name}]`).waitFor();
    await page.fill('input[name=name]', 'Timed');
    await page.fill('input[name=init_ms]', '30');
    await page.fill('input[name=launch_ms]', '40');
    await page.fill('input[name=qr_first_ms]', '1500');
    await page.click('button:has-text("Create channel")');
    const notice = page.locator('.token-notice');
    await notice.waitFor();
    const id = (await notice.textContent())?.match(/\(([A-Z]+-[A-Z0-9]{5})\)/)?.[1] as string;
    // A 1.5 s first QR: the rowdata changes within a few seconds of the QR.
    const first = await until(async () => (await gw.partner<{ status: string }>('GET', `/partner/channels/${id}/qr`)).body.status === 'OK', 'the first QR').then(() => gw.partner<{ rowdata: string }>('GET', `/partner/channels/${id}/qr`));
    await until(async () => (await gw.partner<{ rowdata: string }>('GET', `/partner/channels/${id}/qr`)).body.rowdata !== first.body.rowdata, 'a second QR after 1.5 s', 10_000);
    await gw.partner('DELETE', `/partner/channels/${id}`);
  });

  it('a stopped channel shows no QR countdown', async () => {
    const other = await gw.createChannel({ name: 'Counting', sandbox: FAST });
    await page.goto(`${gw.url}/#/channels/${other.id}`);
    await page.locator('img.qr').waitFor();
    await page.locator('.countdown', { hasText: 'expires in' }).waitFor();
    await page.click('.channel-head button:has-text("Stop")');
    await page.getByText('The channel is stopped. Start it to pair.').waitFor();
    // Two ticks of the countdown's timer: it stays empty.
    await page.waitForTimeout(2100);
    expect(await page.locator('.countdown').textContent()).toBe('');
  });

  it('sends a test text from the messages view and lists it', async () => {
    await page.goto(`${gw.url}/#/channels/${shop.id}/messages`);
    await page.locator('.send-box').waitFor();
    await page.fill('.send-box input[name=to]', '4915112345678');
    await page.fill('.send-box textarea[name=body]', 'dashboard test text');
    await page.click('.send-box button[type=submit]');
    await page.locator('.send-box .alert.ok', { hasText: 'Sent:' }).waitFor();
    await page.locator('.messages td.message-text', { hasText: 'dashboard test text' }).waitFor();
    const sent = await shop.gate<{ messages: Array<{ body: string }> }>('GET', '/sandbox/sent');
    expect(sent.body.messages.map((m) => m.body)).toContain('dashboard test text');
    // An inbound message appears without a reload.
    await shop.gate('POST', '/sandbox/inbound', { from: '4915112345679', body: 'a reply' });
    await page.locator('.messages td.message-text', { hasText: 'a reply' }).waitFor();
  });

  it('webhooks: a refused URL shows on its field, a saved one loses "New", Test shows the answer', async () => {
    await page.goto(`${gw.url}/#/channels/${shop.id}/settings`);
    await page.click('button:has-text("+ Add webhook")');
    const hook = page.locator('fieldset.webhook').last();
    expect(await hook.locator('legend').textContent()).toBe('New webhook');
    await hook.locator('input[name=url]').fill('http://169.254.169.254/latest');
    await page.click('button:has-text("Save settings")');
    const problem = hook.locator('.field-error');
    await problem.waitFor();
    expect(await problem.textContent()).toContain('169.254.169.254');
    expect(await hook.locator('input[name=url]').getAttribute('aria-invalid')).toBe('true');
    expect((await shop.gate<{ webhooks: unknown[] }>('GET', '/settings')).body.webhooks).toEqual([]);

    // The same form, corrected: the error goes, and the saved webhook is no longer "New".
    const fresh = hook;
    await fresh.locator('input[name=url]').fill(`${receiver.url}/dash-hook`);
    await page.click('button:has-text("Save settings")');
    await page.locator('.alert.ok', { hasText: 'Saved' }).waitFor();
    expect(await fresh.locator('legend').textContent()).toBe('Webhook');
    expect(await fresh.locator('.field-error').isHidden()).toBe(true);

    const before = receiver.received.length;
    await fresh.locator('button:has-text("Test")').click();
    await fresh.locator('.test-out .alert.ok', { hasText: 'The receiver answered HTTP 200' }).waitFor();
    expect(receiver.received.slice(before).some((r) => r.path === '/dash-hook' && r.json.test === true)).toBe(true);
    receiver.respond({ status: 503 });
    await fresh.locator('button:has-text("Test")').click();
    await fresh.locator('.test-out .alert.error', { hasText: 'HTTP 503' }).waitFor();
    receiver.respond({ status: 200 });
  });

  it('deliveries: the detail shows payload, masked headers, each attempt with its answer, and dates; replay all failed', async () => {
    receiver.respond({ status: 500, body: '{"error":"database is down"}' });
    await shop.gate('PATCH', '/settings', { webhooks: [{ url: `${receiver.url}/failing`, events: [{ type: 'messages', method: 'post' }], webhook_max_age_seconds: 15, headers: { 'X-Api-Key': 'super-secret-key-123' } }] });
    await shop.gate('POST', '/sandbox/inbound', { from: '4915112345670', body: 'one' });
    await shop.gate('POST', '/sandbox/inbound', { from: '4915112345671', body: 'two' });
    await until(async () => (await shop.gate<{ total: number }>('GET', '/webhooks/deliveries?status=failed')).body.total >= 2, 'two failed deliveries', 40_000);
    receiver.respond({ status: 200 });

    await page.goto(`${gw.url}/#/channels/${shop.id}/deliveries`);
    const row = page.locator('tr[data-status=failed]').first();
    await row.waitFor();
    expect(await row.locator('time').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await row.locator('button:has-text("Details")').click();
    const detail = page.locator('.delivery-detail');
    await detail.locator('.payload').waitFor();
    expect(JSON.parse((await detail.locator('.payload').textContent()) as string)).toMatchObject({ event: { type: 'messages', event: 'post' }, channel_id: shop.id });
    const text = (await detail.textContent()) as string;
    expect(text).toContain('X-Api-Key');
    expect(text).not.toContain('super-secret-key-123');
    expect(text).toContain('••••-123');
    expect(text).toContain('HTTP 500');
    expect(text).toMatch(/Created\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    // Every attempt, the latest first, with the receiver's status and the first bytes of its answer.
    const id = Number(await row.getAttribute('data-delivery'));
    const shown = await shop.gate<{ deliveries: Array<{ id: number; attempts: number }> }>('GET', '/webhooks/deliveries?status=failed');
    const listed = shown.body.deliveries.find((d) => d.id === id);
    expect(listed?.attempts).toBeGreaterThanOrEqual(1);
    const attempts = detail.locator('table.attempts tbody tr');
    expect(await attempts.count()).toBe(listed?.attempts);
    expect(await attempts.first().getAttribute('data-attempt')).toBe(String(listed?.attempts));
    expect(await attempts.last().getAttribute('data-attempt')).toBe('1');
    expect(await attempts.last().locator('.attempt-status').textContent()).toContain('HTTP 500');
    expect(await attempts.last().locator('pre.answer').textContent()).toBe('{"error":"database is down"}');
    expect(await attempts.last().locator('time').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

    page.once('dialog', (d) => void d.accept());
    const delivered = receiver.received.filter((r) => r.path === '/failing').length;
    await page.click('button.replay-failed');
    await page.locator('.toast', { hasText: /\d+ failed deliveries replayed/ }).waitFor();
    await until(() => receiver.received.filter((r) => r.path === '/failing').length >= delivered + 2, 'the replays to arrive', 15_000);
    await until(async () => (await shop.gate<{ total: number }>('GET', '/webhooks/deliveries?status=delivered')).body.total >= 2, 'the copies delivered');
  });

  it("a pending delivery's detail shows the next attempt's date and the answers so far, and stays open as the log refreshes", async () => {
    receiver.respond({ status: 500, body: 'busy, try later' });
    const slow = { url: `${receiver.url}/slow`, events: [{ type: 'messages', method: 'post' }], webhook_max_age_seconds: 3600 };
    await shop.gate('PATCH', '/settings', { webhooks: [slow], callback_backoff_delay_ms: 15_000 });
    await shop.gate('POST', '/sandbox/inbound', { from: '4915112345672', body: 'three' });
    type Listed = { deliveries: Array<{ id: number; url: string; attempts: number }> };
    let id = 0;
    await until(async () => {
      const tried = (await shop.gate<Listed>('GET', '/webhooks/deliveries?status=pending')).body.deliveries.find((d) => d.url === slow.url && d.attempts === 1);
      id = tried?.id ?? 0;
      return id > 0;
    }, 'one failed attempt');

    await page.goto(`${gw.url}/#/channels/${shop.id}/deliveries`);
    await page.reload();
    await page.locator(`tr[data-delivery="${id}"] button:has-text("Details")`).click();
    const detail = page.locator(`tr[data-delivery="${id}"] + tr.detail-row .delivery-detail`);
    await detail.locator('table.attempts tr[data-attempt="1"] pre.answer', { hasText: 'busy, try later' }).waitFor();
    expect(await detail.locator('dt:has-text("Next attempt") + dd').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in \d+ s\)$/);
    // The log looks again every 2 s while a delivery is pending: the detail survives it.
    await page.waitForResponse((r) => r.url().includes('/deliveries?count='));
    await page.waitForResponse((r) => new URL(r.url()).pathname.endsWith(`/deliveries/${id}`));
    await detail.locator('table.attempts tr[data-attempt="1"]').waitFor();
    expect(await page.locator(`tr[data-delivery="${id}"] + tr.detail-row`).count()).toBe(1);
    receiver.respond({ status: 200 });
  });

  it('logs the account out from the channel page', async () => {
    await page.goto(`${gw.url}/#/channels/${shop.id}`);
    page.once('dialog', (d) => void d.accept());
    await page.click('.channel-head button:has-text("Log out")');
    await page.locator('.toast', { hasText: 'Shop logged out' }).waitFor();
    await until(async () => (await status(shop.gate)) === 'QR', 'a new pairing round');
    await page.locator('.channel-head', { hasText: 'no account linked' }).waitFor();
    expect(await page.locator('.channel-head button:has-text("Log out")').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
