import { it } from 'vitest';
import { until } from '../support/http.js';
import { advance, afterAttempts, closeAfterEach, deliveries, gateway, hook, oneEventChannel, receiver, virtualClock, FAST, reach } from './harness.js';
closeAfterEach();
it('first', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [hook(r)] } });
  await reach(ch.gate, 'QR', clock);
  await until(() => r.received.length >= 3, '3');
});
it('dbg', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  r.respond({ status: 500 });
  const t0 = clock.now();
  const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks: [hook(r)] });
  const d = await afterAttempts(ch.gate, 1);
  console.log(d.next_attempt_at - t0, clock.now() - t0, clock.pending, (clock as any).timers.map((t: any) => t.at - t0));
  await advance(gw, clock, 3000);
  await new Promise((res) => setTimeout(res, 300));
  console.log((await deliveries(ch.gate)).deliveries.map(d => [d.attempts, d.next_attempt_at - t0]), clock.now() - t0, (clock as any).timers.map((t: any) => t.at - t0), r.received.length);
});
