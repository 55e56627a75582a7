import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Call } from '../support/http.js';
import { startSocks5, type Socks5Proxy } from '../support/socks5.js';
import { DESKTOP, PHONE, SCREENSHOTS, launchChromium, openPage, signIn } from './browser.js';

// The page's globals, for the functions that run inside Chromium (tsconfig has no DOM lib).
declare const document: { documentElement: { scrollWidth: number }; querySelector(selector: string): { replaceChildren(): void } | null };
declare const window: Record<string, unknown>;

const FAST = { init_ms: 20, launch_ms: 20, receipt_delivered_ms: null, receipt_read_ms: null };

interface ProxyView {
  id: string;
  label: string;
  state: string;
  channels: string[];
  health: { status: string; drops: number };
}

/**
 * The proxies page and the causes on a channel's page, in a real Chromium against a real gateway
 * with real SOCKS5 proxies on loopback: the pool with state, health and channels, the operator's
 * quarantine, release (after a probe) and delete, and why each channel is in its status.
 */
describe('dashboard: proxies and causes', () => {
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  const socks: Socks5Proxy[] = [];
  const pageErrors: string[] = [];
  const status = async (gate: Call) => (await gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text;
  const pool = async () => (await gw.partner<{ proxies: ProxyView[] }>('GET', '/partner/proxies')).body.proxies;
  const proxyRow = (id: string) => page.locator(`tr[data-proxy="${id}"]`);
  /** Set once the page is open: a reload would lose it, so a check after it proves the page changed live. */
  const stillSamePage = () => page.evaluate(() => window.__sameDocument === true);
  let auto: { id: string; gate: Call };
  /** A screenshot (docs/screenshots/ with WAGATE_SCREENSHOTS=update) without the toasts that come and go. */
  const shot = async (name: string) => {
    await page.evaluate(() => document.querySelector('#toasts')?.replaceChildren());
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    browser = await launchChromium();
    // Two failed attempts end a baileys channel without a route in ERROR within a second or two.
    gw = await startTestGateway({ env: { WAGATE_RECONNECT_MAX_FAILURES: '2' }, random: () => 0 });
    for (const opts of [{}, { auth: { username: 'px', password: 's3cret-pass' } }, {}]) socks.push(await startSocks5(opts));
    page = await openPage(browser, pageErrors);
    await signIn(page, gw.url, ADMIN_TOKEN);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    for (const p of socks) await p.close();
  });

  it('adds proxies from the form, hides their passwords, and refuses a metadata address with the reason', async () => {
    await page.click('#nav-proxies');
    await page.locator('h1', { hasText: 'Proxies' }).waitFor();
    expect(await page.locator('#nav-proxies').getAttribute('aria-current')).toBe('page');
    await page.getByText('No proxies in the pool yet.').waitFor();
    await page.evaluate(() => (window.__sameDocument = true));

    const add = async (url: string, label: string, region?: string) => {
      await page.fill('.add-proxy input[name=url]', url);
      await page.fill('.add-proxy input[name=label]', label);
      await page.fill('.add-proxy input[name=region]', region ?? '');
      await page.click('.add-proxy button[type=submit]');
    };
    await add(socks[0]!.url, 'eu-1', 'eu');
    await page.locator('tr[data-proxy] strong', { hasText: 'eu-1' }).waitFor();
    await add(socks[1]!.url, 'eu-2', 'eu');
    await page.locator('tr[data-proxy] strong', { hasText: 'eu-2' }).waitFor();

    const [one, two] = await pool();
    expect(one).toMatchObject({ label: 'eu-1', state: 'active', health: { status: 'unknown' } });
    await proxyRow(one!.id).locator('.ps-active').waitFor();
    await proxyRow(one!.id).locator('.ph-unknown').waitFor();
    expect(await proxyRow(one!.id).locator('.chip').first().textContent()).toBe('eu');
    expect(await proxyRow(two!.id).locator('.proxy-url').textContent()).toBe(`socks5h://px:***@127.0.0.1:${socks[1]!.port}`);
    expect(await page.locator('main').textContent()).not.toContain('s3cret-pass');
    expect(await page.locator('.proxy-summary [data-count=active]').textContent()).toBe('2 active');

    await add('socks5://169.254.169.254:1080', 'metadata');
    await page.locator('.add-proxy .alert.error', { hasText: 'url:' }).waitFor();
    expect(await page.locator('.add-proxy .alert.error').textContent()).toContain('169.254.169.254');
    expect(await pool()).toHaveLength(2);
    expect(await page.locator('tr[data-proxy]').count()).toBe(2);
    expect(await stillSamePage()).toBe(true);
  });

  it('shows which channels are on each proxy and their health as it changes, live', async () => {
    const [one] = await pool();
    const created = await gw.createChannel({ name: 'Auto', sandbox: FAST, settings: { proxy: 'auto' } });
    auto = created;
    // The healthiest active proxy, ties to the emptiest and then the oldest: eu-1.
    await proxyRow(one!.id).locator(`a[data-channel="${auto.id}"]`).waitFor();
    await until(async () => (await status(auto.gate)) === 'QR', 'QR');
    await auto.gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Auto desk' } });
    await proxyRow(one!.id).locator('.ph-healthy').waitFor();
    await proxyRow(one!.id).locator('.hint', { hasText: 'AUTH in' }).waitFor();

    expect((await auto.gate('POST', '/sandbox/blip', { duration_ms: 200 })).status).toBe(200);
    await until(async () => (await pool())[0]!.health.drops === 1, 'the drop counted on the proxy');
    await proxyRow(one!.id).locator('.ph-degraded').waitFor();
    await proxyRow(one!.id).locator('.hint', { hasText: '1 drop' }).waitFor();
    expect(await page.locator('.proxy-summary [data-count=degraded]').textContent()).toBe('1 degraded');
    expect(await stillSamePage()).toBe(true);
    await until(async () => (await status(auto.gate)) === 'AUTH', 'AUTH after the blip');
  });

  it('quarantines with a reason, releases after a probe, keeps a proxy whose probe fails quarantined, and deletes', async () => {
    const [one, two] = await pool();
    page.once('dialog', (d) => void d.accept('too many drops'));
    await proxyRow(one!.id).locator('button[data-action=quarantine]').click();
    await proxyRow(one!.id).locator('.ps-quarantined').waitFor();
    await proxyRow(one!.id).locator('.hint', { hasText: 'too many drops' }).waitFor();
    expect((await pool())[0]).toMatchObject({ state: 'quarantined', channels: [auto.id] });
    expect(await page.locator('.proxy-summary [data-count=quarantined]').textContent()).toBe('1 quarantined');

    const probes = socks[0]!.connections;
    await proxyRow(one!.id).locator('button[data-action=release]').click();
    await proxyRow(one!.id).locator('.ps-active').waitFor();
    expect(socks[0]!.connections).toBe(probes + 1);

    // eu-2's proxy goes away: its release probe fails, it stays quarantined, and the toast says why.
    page.once('dialog', (d) => void d.accept(''));
    await proxyRow(two!.id).locator('button[data-action=quarantine]').click();
    await proxyRow(two!.id).locator('.hint', { hasText: 'quarantined by the operator' }).waitFor();
    await socks[1]!.close();
    await proxyRow(two!.id).locator('button[data-action=release]').click();
    const toast = page.locator('.toast.error', { hasText: 'proxy probe failed' });
    await toast.waitFor();
    expect(await toast.textContent()).toContain('stays quarantined');
    expect((await pool())[1]!.state).toBe('quarantined');
    await proxyRow(two!.id).locator('.ps-quarantined').waitFor();

    // A dismissed confirmation deletes nothing.
    page.once('dialog', (d) => void d.dismiss());
    await proxyRow(two!.id).locator('button[data-action=delete]').click();
    await proxyRow(two!.id).locator('button[data-action=delete]:not([disabled])').waitFor();
    expect(await pool()).toHaveLength(2);
    page.once('dialog', (d) => void d.accept());
    await proxyRow(two!.id).locator('button[data-action=delete]').click();
    await proxyRow(two!.id).waitFor({ state: 'detached' });
    expect((await pool()).map((p) => p.label)).toEqual(['eu-1']);
    expect(await stillSamePage()).toBe(true);
  });

  it("shows a channel's pool proxy and its latest reason and detail on its page, and follows them live", async () => {
    await page.click(`a[data-channel="${auto.id}"]`);
    const head = page.locator('.channel-head');
    await head.locator('.proxy-chip', { hasText: 'proxy eu-1' }).waitFor();
    await head.locator('.cause .reason', { hasText: /^reconnected$/ }).waitFor();

    expect((await auto.gate('POST', '/sandbox/fail', { reason: 'replaced' })).status).toBe(200);
    await head.locator('.badge', { hasText: /^ERROR$/ }).waitFor();
    const cause = head.locator('.cause.trouble');
    await cause.locator('.reason', { hasText: /^replaced$/ }).waitFor();
    expect(await cause.locator('.detail').textContent()).toContain('sandbox fail: replaced');
    expect(await cause.textContent()).toMatch(/^ERROR because replaced: sandbox fail: replaced/);
  });

  it('shows "WhatsApp unreachable" with the connect error on the page of a baileys channel with no route', async () => {
    const created = await gw.partner<{ id: string }>('PUT', '/partner/channels', { name: 'No route', engine: 'baileys', baileys: { ws_url: 'ws://127.0.0.1:1/' } });
    expect(created.status).toBe(200);
    const { id } = created.body;
    await page.goto(`${gw.url}/#/channels/${id}`);
    await page.evaluate(() => (window.__sameDocument = true));
    const head = page.locator('.channel-head');
    // Two failed attempts, then ERROR; the page names the error.
    await head.locator('.badge', { hasText: /^ERROR$/ }).waitFor();
    const cause = head.locator('.cause.trouble');
    await cause.locator('.reason', { hasText: /^reconnect_failed$/ }).waitFor();
    expect(await cause.locator('.detail').textContent()).toBe('2 attempts failed; last: WhatsApp unreachable: connect ECONNREFUSED 127.0.0.1:1');
    // The same words the partner API gives, not only in the history.
    expect((await gw.partner<{ detail: string }>('GET', `/partner/channels/${id}`)).body.detail).toBe(await cause.locator('.detail').textContent());
    await shot('channel-cause');
    expect(await stillSamePage()).toBe(true);
  });

  it('lays the proxies page out for a phone, with nothing scrolling sideways', async () => {
    await page.goto(`${gw.url}/#/proxies`);
    await page.locator('tr[data-proxy]').first().waitFor();
    await shot('proxies');
    await page.setViewportSize(PHONE);
    await page.locator('#nav-proxies').waitFor();
    await shot('phone-proxies');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.setViewportSize(DESKTOP);
    expect(pageErrors).toEqual([]);
  });
});
