import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { PeerClient } from './client.js';
import { registerOwnerSignals, relaySignal, type OwnerSignal, type OwnerSignalDeps } from './signals.js';

const SECRET = 'node-secret-0123456789abcdef0123';
const ALERT: OwnerSignal = { kind: 'alert', alert: { kind: 'webhook_failing', detail: 'http://127.0.0.1:9/hook: 500', at: 1_700_000_000 } };

/** A node on a loopback port whose owner side records what it was handed. */
async function node(id: string, runs: Set<string>, secret: string | null = SECRET): Promise<{ app: FastifyInstance; url: string; applied: Array<[string, OwnerSignal]>; deps: OwnerSignalDeps }> {
  const applied: Array<[string, OwnerSignal]> = [];
  const deps: OwnerSignalDeps = {
    nodeId: id,
    secret,
    client: new PeerClient({ connectTimeoutMs: 1000, answerTimeoutMs: 5000 }),
    owner: async () => null,
    runsHere: (channelId) => runs.has(channelId),
    apply: async (channelId, signal) => void applied.push([channelId, signal]),
    patienceMs: 5000,
    pollMs: 20,
  };
  const app = Fastify();
  registerOwnerSignals(app, deps);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, applied, deps };
}

describe("a dispatcher's signal for a channel another node runs", () => {
  const apps: FastifyInstance[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });

  it('reaches the owner once over HTTP with the node secret, and looks again while the channel is moving', async () => {
    const ownerRuns = new Set<string>();
    const owner = await node('node-b', ownerRuns);
    const sender = await node('node-a', new Set());
    apps.push(owner.app, sender.app);
    let lookups = 0;
    sender.deps.owner = async () => {
      lookups++;
      // The lease says B, but B takes the channel up only after the second lookup (a move under way: 421 until then).
      if (lookups === 2) ownerRuns.add('ch1');
      return { nodeId: 'node-b', url: owner.url, epoch: 3, expiresAt: Date.now() + 10_000 };
    };
    expect(await relaySignal(sender.deps, 'ch1', ALERT)).toBe(true);
    expect(owner.applied).toEqual([['ch1', ALERT]]);
    expect(sender.applied).toEqual([]);
    expect(lookups).toBeGreaterThanOrEqual(2);

    const disable: OwnerSignal = { kind: 'disable_webhook', url: 'http://127.0.0.1:9/hook', mode: 'body' };
    expect(await relaySignal(sender.deps, 'ch1', disable)).toBe(true);
    expect(owner.applied.map(([, s]) => s.kind)).toEqual(['alert', 'disable_webhook']);
  });

  it('is carried out here when this node runs the channel', async () => {
    const here = await node('node-a', new Set(['ch2']));
    apps.push(here.app);
    expect(await relaySignal(here.deps, 'ch2', ALERT)).toBe(true);
    expect(here.applied).toEqual([['ch2', ALERT]]);
  });

  it('is refused without the right secret, and given up when no node runs the channel', async () => {
    const owner = await node('node-b', new Set(['ch3']));
    const wrong = await node('node-a', new Set(), 'wrong-secret-0123456789abcdef012');
    apps.push(owner.app, wrong.app);
    wrong.deps.owner = async () => ({ nodeId: 'node-b', url: owner.url, epoch: 1, expiresAt: Date.now() + 10_000 });
    expect(await relaySignal(wrong.deps, 'ch3', ALERT)).toBe(false);
    expect(owner.applied).toEqual([]);

    const orphan = await node('node-c', new Set());
    apps.push(orphan.app);
    orphan.deps.patienceMs = 100;
    expect(await relaySignal(orphan.deps, 'ch4', ALERT)).toBe(false);
  });
});
