import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresForTests } from '../../src/store/postgres/testing.js';
import { client, until } from '../support/http.js';
import type { GatewayProcess } from '../support/process.js';
import { QUIET, RECIPIENT } from '../messages/channel.js';
import { startReceiver } from '../support/receiver.js';
import { DESKTOP, SCREENSHOTS, launchChromium } from '../dashboard/browser.js';
import { ADMIN, clusterDatabase, leases, startNode, type ClusterDb } from './cluster.js';

// Any node answers any request (SPEC §10): three gateway processes on one PostgreSQL database;
// sends, pairing and sandbox controls sent to one node for a channel another node runs are
// carried there over HTTP (WAGATE_NODE_SECRET), exactly once, also while the owner is killed.

const SECRET = 'forwarding-node-secret-0123456789abcdef';
const BIN = resolve(import.meta.dirname, '../../bin/wagate.js');
const run = promisify(execFile);
const server = await postgresForTests();

interface Channel {
  id: string;
  token: string;
}

/** Text bodies of the messages recorded for a channel (read through any node: from the database). */
async function recorded(via: string, ch: Channel): Promise<string[]> {
  const list = await client(via, ch.token)<{ messages: Array<{ text?: { body: string }; from_me: boolean }> }>('GET', '/messages/list?count=500');
  expect(list.status, JSON.stringify(list.body)).toBe(200);
  return list.body.messages.filter((m) => m.from_me).map((m) => m.text?.body ?? '');
}

describe.skipIf(!server)('several nodes: any node answers any request', { timeout: 240_000 }, () => {
  let db: ClusterDb;
  const nodes = new Map<string, GatewayProcess>();
  const url = (id: string): string => nodes.get(id)!.url;

  /** A paired sandbox channel created through `via` and run by `owner`. */
  async function channelOn(owner: string, via: string, holdMs = 25_000): Promise<Channel> {
    const partner = client(url(via), ADMIN);
    for (let tries = 0; tries < 12; tries++) {
      const made = await partner<Channel>('PUT', '/partner/channels', { name: 'fwd', engine: 'sandbox', sandbox: QUIET, settings: { send_hold_ms: holdMs } });
      expect(made.status, JSON.stringify(made.body)).toBe(200);
      await until(async () => (await leases(db)).has(made.body.id), `a lease on ${made.body.id}`);
      if ((await leases(db)).get(made.body.id)?.node !== owner) continue;
      const gate = client(url(via), made.body.token);
      await until(async () => (await gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status?.text === 'QR', 'QR', 20_000, 50);
      // Pairing through `via`: the scan is the owner's engine's to carry out.
      const scan = await gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Jonathan' } });
      expect(scan.status, JSON.stringify(scan.body)).toBe(200);
      expect(scan.headers.get('wagate-node')).toBe(owner);
      await until(async () => (await gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status?.text === 'AUTH', 'AUTH', 20_000, 50);
      return made.body;
    }
    throw new Error(`no channel landed on ${owner}`);
  }

  beforeAll(async () => {
    db = await clusterDatabase(server!.url);
    for (const id of ['node-a', 'node-b', 'node-c']) {
      nodes.set(id, await startNode(id, db.url, { WAGATE_NODE_SECRET: SECRET, WAGATE_DEFAULT_ENGINE: 'sandbox' }));
    }
  });

  afterAll(async () => {
    for (const gw of nodes.values()) await gw.kill('SIGKILL');
    await db?.drop();
  });

  it('carries a send through node A for a channel node B runs exactly once, and replays its Idempotency-Key on every node', async () => {
    const ch = await channelOn('node-b', 'node-a');
    const viaA = client(url('node-a'), ch.token);
    const sent = await viaA<{ sent: boolean; message: { id: string } }>('POST', '/messages/text', { to: RECIPIENT, body: 'through A' }, { 'idempotency-key': 'k-1' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.headers.get('wagate-node')).toBe('node-b');

    // The same key through C, and at B itself: the first answer, nothing sent again.
    for (const via of ['node-c', 'node-b']) {
      const again = await client(url(via), ch.token)<{ message: { id: string } }>('POST', '/messages/text', { to: RECIPIENT, body: 'through A' }, { 'idempotency-key': 'k-1' });
      expect(again.status).toBe(200);
      expect(again.body.message.id).toBe(sent.body.message.id);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    }
    // What B's simulated network carried (asked through C: the sandbox's record is the owner's).
    const carried = await client(url('node-c'), ch.token)<{ messages: Array<{ body: string }> }>('GET', '/sandbox/sent');
    expect(carried.status).toBe(200);
    expect(carried.body.messages.filter((m) => m.body === 'through A')).toHaveLength(1);
    expect(await recorded(url('node-c'), ch)).toEqual(['through A']);

    // A body goes across byte for byte (a multipart file), and a bad one is refused by the owner as it would be anywhere.
    const bytes = randomBytes(3000);
    const form = new FormData();
    form.append('to', RECIPIENT);
    form.append('media', new Blob([bytes]), 'report.bin');
    const multi = await fetch(`${url('node-a')}/messages/document`, { method: 'POST', headers: { authorization: `Bearer ${ch.token}` }, body: form });
    const doc = (await multi.json()) as { message: { document: { sha256: string; file_size: number } } };
    expect(multi.status, JSON.stringify(doc)).toBe(200);
    expect(doc.message.document).toMatchObject({ sha256: createHash('sha256').update(bytes).digest('hex'), file_size: 3000 });
    const bad = await viaA<{ error: { code: number; details: string } }>('POST', '/messages/text', { to: RECIPIENT, body: 'x', colour: 'red' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toContain('colour');
    expect(bad.headers.get('wagate-node')).toBe('node-b');
  });

  it('reads from the database on every node and streams events on every node', async () => {
    const ch = await channelOn('node-c', 'node-b');
    const viaA = client(url('node-a'), ch.token);
    const health = await viaA<{ status: { text: string }; user: { id: string } }>('GET', '/health');
    expect(health.body.status.text).toBe('AUTH');
    expect(health.body.user.id).toBe('61371989950');
    expect(health.headers.get('wagate-node')).toBe('node-a');
    const history = await viaA<{ history: Array<{ to: string }> }>('GET', '/health/history');
    expect(history.body.history[0]?.to).toBe('AUTH');

    // A's event stream hears what C's engine produced.
    const stream = await fetch(`${url('node-a')}/events`, { headers: { authorization: `Bearer ${ch.token}` } });
    const reader = stream.body!.getReader();
    let text = '';
    const inbound = await viaA('POST', '/sandbox/inbound', { from: '4915112345678', body: 'hello across nodes' });
    expect(inbound.status, JSON.stringify(inbound.body)).toBe(200);
    const deadline = Date.now() + 15_000;
    while (!text.includes('hello across nodes') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain('event: messages.post');
    expect(text).toContain('hello across nodes');

    // A dashboard's stream ticket from B opens the partner stream on A (behind a load balancer), once.
    const ticket = await client(url('node-b'), ADMIN)<{ ticket: string }>('POST', '/partner/events/ticket');
    expect(ticket.status).toBe(200);
    const opened = await fetch(`${url('node-a')}/partner/events?ticket=${ticket.body.ticket}`);
    expect(opened.status).toBe(200);
    await opened.body?.cancel();
    expect((await fetch(`${url('node-c')}/partner/events?ticket=${ticket.body.ticket}`)).status).toBe(401);

    // A token rotated through B (C runs the channel) stops working on A at once; the new one works there.
    const rotated = await client(url('node-b'), ADMIN)<{ token: string }>('POST', `/partner/channels/${ch.id}/token`);
    expect(rotated.status).toBe(200);
    expect((await viaA('GET', '/health?wakeup=false')).status).toBe(401);
    expect((await client(url('node-a'), rotated.body.token)('GET', '/health?wakeup=false')).status).toBe(200);
  });

  it("hands a dispatcher's alert and webhook disabling to the node that runs the channel", async () => {
    // A node sends whichever delivery queues it claims, also those of a channel another node
    // runs; only the owner writes that channel's events and settings, so the dispatcher's signal goes there.
    const receiver = await startReceiver();
    try {
      const ch = await channelOn('node-b', 'node-a');
      const webhook = { url: `${receiver.url}/hook`, events: [{ type: 'alerts', method: 'post' }], mode: 'body' };
      expect((await client(url('node-a'), ch.token)('PATCH', '/settings', { webhooks: [webhook] })).status).toBe(200);
      const signal = (via: string, body: unknown, secret = SECRET): Promise<Response> =>
        fetch(`${url(via)}/_wagate/peer/channels/${ch.id}/signal`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-wagate-node-secret': secret, 'x-wagate-forwarded-by': 'node-c' },
          body: JSON.stringify(body),
        });
      const alert = { kind: 'alert', alert: { kind: 'webhook_failing', detail: 'relayed from node-c', at: Math.floor(Date.now() / 1000) } };
      expect((await signal('node-a', alert)).status).toBe(421);
      expect((await signal('node-b', alert, 'wrong-secret-0123456789abcdef')).status).toBe(401);
      expect((await signal('node-b', alert)).status).toBe(204);
      await until(() => receiver.received.some((r) => JSON.stringify(r.json).includes('relayed from node-c')), 'the relayed alert at the webhook');
      expect((await signal('node-b', { kind: 'disable_webhook', url: webhook.url, mode: 'body' })).status).toBe(204);
      const disabled = async (via: string): Promise<boolean> =>
        (await client(url(via), ch.token)<{ webhooks: Array<{ url: string; disabled?: boolean }> }>('GET', '/settings')).body.webhooks.find((w) => w.url === webhook.url)?.disabled === true;
      // The owner's answer came after its write; another node's view follows its notification.
      expect(await disabled('node-b')).toBe(true);
      await until(() => disabled('node-c'), 'the disabled webhook on another node');
    } finally {
      await receiver.close();
    }
  });

  it('refuses a forwarded request without the node secret, and never forwards a forwarded one', async () => {
    const ch = await channelOn('node-b', 'node-a');
    const gate = (via: string, headers: Record<string, string>): Promise<{ status: number }> =>
      client(url(via), ch.token)('POST', '/messages/text', { to: RECIPIENT, body: 'marked' }, headers);
    expect((await gate('node-a', { 'x-wagate-forwarded-by': 'node-c', 'x-wagate-node-secret': 'wrong-secret-0123456789abcdef' })).status).toBe(401);
    // Marked as forwarded, to a node that does not run the channel: 421, not carried on to B.
    const misdirected = await gate('node-a', { 'x-wagate-forwarded-by': 'node-c', 'x-wagate-node-secret': SECRET });
    expect(misdirected.status).toBe(421);
    expect(await recorded(url('node-a'), ch)).toEqual([]);
  });

  it('lists the nodes with their channels (GET /partner/nodes, wagate nodes) and names the owner of a channel', async () => {
    const partner = client(url('node-a'), ADMIN);
    const list = await partner<{ nodes: Array<{ id: string; live: boolean; self: boolean; channels: number; channel_ids: string[] }>; total: number }>('GET', '/partner/nodes');
    expect(list.status).toBe(200);
    expect(list.body.nodes.map((n) => [n.id, n.live, n.self])).toEqual([
      ['node-a', true, true],
      ['node-b', true, false],
      ['node-c', true, false],
    ]);
    const held = await leases(db);
    for (const n of list.body.nodes) {
      const mine = [...held].filter(([, l]) => l.node === n.id).map(([id]) => id);
      expect(n.channel_ids.sort()).toEqual(mine.sort());
      expect(n.channels).toBe(mine.length);
    }
    const [someId, lease] = [...held][0]!;
    expect((await partner<{ node: string }>('GET', `/partner/channels/${someId}`)).body.node).toBe(lease.node);

    // Each node's metrics carry its name, and count the channels it runs and the requests it carried.
    const metrics = await fetch(`${url('node-a')}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.text());
    const series = (name: string, ...labels: string[]): number[] =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`) && ['node="node-a"', ...labels].every((x) => l.includes(x)))
        .map((l) => Number(l.split(' ').at(-1)));
    const running = list.body.nodes.find((n) => n.id === 'node-a')!.channels;
    expect(series('wagate_node_channels').reduce((a, b) => a + b, 0)).toBe(running);
    expect(series('wagate_node_forwards_total', 'outcome="answered"')[0]).toBeGreaterThan(0);
    expect(series('wagate_http_requests_total').length).toBeGreaterThan(0);

    const { stdout } = await run(process.execPath, [BIN, 'nodes'], { env: { ...process.env, WAGATE_URL: url('node-b'), WAGATE_ADMIN_TOKEN: ADMIN } });
    expect(stdout.split('\n')[0]).toMatch(/^ID\s+LIVE\s+STATE\s+CHANNELS\s+AUTH\s+HEARTBEAT\s+URL/);
    expect(stdout).toMatch(/node-a\s+yes\s+up/);
    expect(stdout).toMatch(/node-b \*\s+yes\s+up/);
  });

  it("shows each channel's node in the dashboard's channel list", async () => {
    const held = await leases(db);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: DESKTOP });
      page.setDefaultTimeout(15_000);
      await page.goto(url('node-c'));
      await page.fill('input[name=token]', ADMIN);
      await page.click('button[type=submit]');
      await page.locator('.channel-row').first().waitFor();
      const rows = await page.locator('.channel-row').evaluateAll((els) => els.map((el) => [el.getAttribute('data-channel'), el.querySelector('.chip.node')?.textContent]));
      expect(rows.length).toBeGreaterThan(0);
      for (const [id, chip] of rows) expect(chip).toBe(`node ${held.get(id!)?.node}`);
      await page.screenshot({ path: join(SCREENSHOTS, 'nodes-channel-list.png') });
    } finally {
      await browser.close();
    }
  });

  it('carries sends in flight while their owner is killed once after failover, or answers 401 after the hold, never twice', async () => {
    // Two channels hold sends longer than the lease TTL (6 s), one for a shorter time than it.
    const short = await channelOn('node-b', 'node-a', 1500);
    const channels = [await channelOn('node-b', 'node-a'), await channelOn('node-b', 'node-c'), short];
    const answers: Array<{ ch: Channel; body: string; status: number }> = [];
    const send = async (ch: Channel, via: string, body: string): Promise<void> => {
      const res = await client(url(via), ch.token)('POST', '/messages/text', { to: RECIPIENT, body });
      answers.push({ ch, body, status: res.status });
    };
    // A steady stream of sends through A and C, and B killed in the middle of it.
    let n = 0;
    const inFlight: Array<Promise<void>> = [];
    const pump = (async () => {
      while (n < 60) {
        const ch = channels[n % channels.length]!;
        inFlight.push(send(ch, n % 2 === 0 ? 'node-a' : 'node-c', `m-${n}`));
        n++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await until(() => n >= 20, '20 sends under way');
    await nodes.get('node-b')!.kill('SIGKILL');
    await pump;
    await Promise.all(inFlight);

    expect(answers).toHaveLength(60);
    // 409: the send was under way on B when it died, after B marked it and before it recorded it:
    // the outcome is unknown (a real WhatsApp may have taken it), and it is never sent again.
    for (const a of answers) expect([200, 401, 409]).toContain(a.status);
    for (const ch of channels) {
      const bodies = await recorded(url('node-a'), ch);
      // Never twice; every 200 recorded once; a 401 never recorded.
      expect(new Set(bodies).size).toBe(bodies.length);
      for (const a of answers.filter((x) => x.ch === ch)) {
        const copies = bodies.filter((b) => b === a.body).length;
        if (a.status === 409) expect(copies).toBeLessThanOrEqual(1);
        else expect(copies, `${a.body} answered ${a.status}`).toBe(a.status === 200 ? 1 : 0);
      }
    }
    // Within a hold longer than the TTL, sends after the kill went out on the new owners; the
    // short hold ran out before any node took its channel over.
    const longHold = answers.filter((a) => a.ch !== short);
    expect(longHold.filter((a) => a.status !== 200 && a.status !== 409).map((a) => `${a.body}: ${a.status}`)).toEqual([]);
    expect(longHold.filter((a) => a.status === 409).length).toBeLessThanOrEqual(2);
    expect(answers.filter((a) => a.ch === short && a.status === 401).length).toBeGreaterThan(0);
    const owners = await leases(db);
    for (const ch of channels) expect(owners.get(ch.id)?.node).not.toBe('node-b');
  });
});
