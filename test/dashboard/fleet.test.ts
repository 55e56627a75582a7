import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/http.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { launchChromium, openPage } from './browser.js';

// The page's globals, for the functions that run inside Chromium (tsconfig has no DOM lib).
declare const document: { querySelectorAll(selector: string): { length: number } };

/** `npm test` runs 2,000 channels; `npm run bench:fleet` the full 10,000 (timings in BENCHMARKS.md). */
const FLEET = Number(process.env.WAGATE_FLEET_SIZE ?? 2_000);
/**
 * The 1 s limits are held by the benchmark run; inside `npm test`, where other files load the
 * same two cores, the timings are printed and the page's structure is checked.
 */
const TIMED = process.env.WAGATE_FLEET_SIZE !== undefined;
const STARTED = 60;
const PAGE = 50;
const FAST = { init_ms: 20, launch_ms: 20, receipt_delivered_ms: null, receipt_read_ms: null };

/**
 * The fleet view with thousands of sandbox channels in a real Chromium: the first page and a status
 * filter each paint in under a second, and the page never holds more than one page of channels.
 */
describe(`dashboard: the fleet view with ${FLEET.toLocaleString('en')} channels`, { timeout: 60_000 }, () => {
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  let receiver: Receiver;
  let linked = '';
  let hooked = '';

  const rowsInPage = () => page.evaluate(() => document.querySelectorAll('.channel-row').length);

  beforeAll(async () => {
    browser = await launchChromium();
    gw = await startTestGateway();
    const channels = gw.gateway.channels;
    // Most stay NOT_INIT (as after an import); a few run to QR, two of those pair, some stop.
    for (let i = 0; i < FLEET - STARTED; i += 250) {
      const batch = Array.from({ length: Math.min(250, FLEET - STARTED - i) }, (_, j) => channels.create({ name: `store-${String(i + j).padStart(5, '0')}`, engine: 'sandbox', start: false }));
      await Promise.all(batch);
    }
    const started: Array<Awaited<ReturnType<typeof channels.create>>['runtime']> = [];
    for (let i = 0; i < STARTED; i++) started.push((await channels.create({ name: `live-${i}`, engine: 'sandbox', engineOptions: FAST })).runtime);
    await until(() => started.every((r) => r.state.status === 'QR'), 'the started channels to show a QR', 30_000);
    for (const r of started.slice(0, 10)) await channels.stop(r.id);
    const pair = started.at(-1)!;
    await gw.partner('POST', `/partner/channels/${pair.id}/sandbox/scan`, { user: { id: '4915199887766', name: 'Flagship' } });
    await until(() => pair.state.status === 'AUTH', 'AUTH');
    linked = pair.id;
    hooked = started[20]!.id;
    receiver = await startReceiver();
    page = await openPage(browser);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await gw?.close();
  });

  it(`paints the first page with counts by status${TIMED ? ' in under 1 s' : ''}, holding one page`, async () => {
    await page.goto(gw.url);
    await page.fill('input[name=token]', ADMIN_TOKEN);
    await page.check('input[name=remember]');
    await page.click('button[type=submit]');
    await page.locator('.channel-row').nth(PAGE - 1).waitFor();
    const a0 = Date.now();
    expect((await gw.partner<{ channels: unknown[] }>('GET', `/partner/channels/list?count=${PAGE}`)).body.channels).toHaveLength(PAGE);
    console.log(`fleet of ${FLEET}: GET /partner/channels/list answered in ${Date.now() - a0} ms`);

    // A cold load of the dashboard, signed in: from navigation to a full first page and its counts.
    const t0 = Date.now();
    await page.reload();
    await page.locator('.channel-row').nth(PAGE - 1).waitFor();
    await page.locator('.count-chip[data-filter=all] .n', { hasText: FLEET.toLocaleString('en') }).waitFor();
    const firstPaint = Date.now() - t0;
    console.log(`fleet of ${FLEET}: first page painted in ${firstPaint} ms`);
    if (TIMED) expect(firstPaint).toBeLessThan(1000);
    expect(await rowsInPage()).toBe(PAGE);
    expect(await page.locator('.count-chip[data-filter=NOT_INIT] .n').textContent()).toBe((FLEET - STARTED).toLocaleString('en'));
    expect(await page.locator('.count-chip[data-filter=STOP] .n').textContent()).toBe('10');
    expect(await page.locator('.pager .range').textContent()).toBe(`1–${PAGE} of ${FLEET.toLocaleString('en')}`);
  });

  it(`filters by status${TIMED ? ' in under 1 s' : ''}, server-side, and pages on`, async () => {
    const t0 = Date.now();
    await page.click('.count-chip[data-filter=QR]');
    await page.locator('.pager .range', { hasText: `of ${STARTED - 11}` }).waitFor();
    const filtered = Date.now() - t0;
    console.log(`fleet of ${FLEET}: QR filter answered in ${filtered} ms`);
    if (TIMED) expect(filtered).toBeLessThan(1000);
    expect(await page.locator('.channel-row .badge', { hasNotText: /^QR$/ }).count()).toBe(0);
    expect(await page.locator('.count-chip[data-filter=QR]').getAttribute('aria-pressed')).toBe('true');

    await page.click('.count-chip[data-filter=all]');
    await page.locator('.pager .range', { hasText: `1–${PAGE} of` }).waitFor();
    await page.click('.pager button:has-text("Next")');
    await page.locator('.pager .range', { hasText: `${PAGE + 1}–${2 * PAGE} of` }).waitFor();
    expect(await rowsInPage()).toBe(PAGE);
  });

  it('searches by name, id and phone number, and sorts', async () => {
    await page.fill('input[name=search]', '4915199887766');
    await page.locator('.pager .range', { hasText: '1–1 of 1' }).waitFor();
    expect(await page.locator('.channel-row').getAttribute('data-channel')).toBe(linked);
    expect(await page.locator('.channel-row .user').textContent()).toBe('Flagship +4915199887766');

    await page.fill('input[name=search]', linked.toLowerCase());
    await page.locator('.pager .range', { hasText: '1–1 of 1' }).waitFor();

    const decade = `store-${String(Math.floor((FLEET - STARTED - 1) / 10)).padStart(4, '0')}`;
    await page.fill('input[name=search]', decade);
    await page.locator('.pager .range', { hasText: '1–10 of 10' }).waitFor();
    await page.selectOption('select[name=sort]', 'created:desc');
    await page.locator('.channel-row').first().locator('strong', { hasText: `${decade}9` }).waitFor();
    await page.fill('input[name=search]', '');
    await page.selectOption('select[name=sort]', 'status');
    await page.locator('.channel-row').first().locator('.badge', { hasText: 'NOT_INIT' }).waitFor();
  });

  it('flags flapping channels, a click away', async () => {
    await page.selectOption('select[name=sort]', 'created');
    const flap = gw.gateway.channels.get(linked);
    // Three drops within the window: the lifecycle raises `flapping`.
    await gw.partner('POST', `/partner/channels/${linked}/sandbox/flap`, { times: 3, interval_ms: 2500, duration_ms: 100 });
    await until(() => flap.state.flapping, 'the channel to flap', 30_000);
    await page.locator('.count-chip[data-filter=flapping] .n', { hasText: '1' }).waitFor();
    await page.click('.count-chip[data-filter=flapping]');
    await page.locator('.pager .range', { hasText: '1–1 of 1' }).waitFor();
    await page.locator(`.channel-row[data-channel="${linked}"] .chip.warn`, { hasText: 'flapping' }).waitFor();
  });

  it('flags channels whose webhooks fail, a click away, and lets the flag go once a delivery gets through', async () => {
    const failing = async () => (await gw.partner<{ counts: { webhook_failing: number } }>('GET', '/partner/channels/list?count=1')).body.counts.webhook_failing;
    expect(await failing()).toBe(0);
    receiver.respond({ status: 500, body: 'down' });
    // The shortest schedule the settings allow: 3 s, then 6 s, and past 15 s of age it gives up.
    const webhook = { url: `${receiver.url}/fleet`, events: [{ type: 'channel', method: 'post' }], webhook_max_age_seconds: 15 };
    expect((await gw.partner('PATCH', `/partner/channels/${hooked}/settings`, { webhooks: [webhook], callback_backoff_delay_ms: 3000 })).status).toBe(200);
    await gw.partner('POST', `/partner/channels/${hooked}/stop`);
    await page.locator('.count-chip[data-filter="webhooks failing"] .n', { hasText: '1' }).waitFor({ timeout: 30_000 });
    await page.click('.count-chip[data-filter="webhooks failing"]');
    await page.locator('.pager .range', { hasText: '1–1 of 1' }).waitFor();
    // The chips are drawn again by every load (the flagged re-check too): wait for the pressed one.
    await page.locator('.count-chip[data-filter="webhooks failing"][aria-pressed="true"]').waitFor({ timeout: 10_000 });
    await page.locator(`.channel-row[data-channel="${hooked}"] .chip.warn`, { hasText: 'webhook failing' }).waitFor();
    expect(await rowsInPage()).toBe(1);

    // The receiver is back: the next event gets through, and the channel leaves the filter
    // without a reload (the page looks again while anything is flagged).
    receiver.respond({ status: 200 });
    await gw.partner('POST', `/partner/channels/${hooked}/start`);
    await until(async () => (await failing()) === 0, 'the failing flag to clear', 15_000);
    await page.locator('.count-chip[data-filter="webhooks failing"][aria-pressed=true] .n', { hasText: '0' }).waitFor();
    await until(async () => (await rowsInPage()) === 0, 'an empty list under the filter');
  });
});
