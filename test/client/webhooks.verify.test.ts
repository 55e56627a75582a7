import fc from 'fast-check';
import { Webhook, WebhookVerificationError as StandardError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { WebhookVerificationError, verifyWebhook } from '@wagate/client';
import { deliveryHeaders } from '../../src/webhooks/sender.js';
import { generateSecret, sign } from '../../src/webhooks/signing.js';

const body = '{"health":{"status":{"code":4,"text":"AUTH"}},"event":{"type":"channel","event":"post"},"channel_id":"MANTIS-M72HC"}';
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function headersFrom(secret: string, id: string, timestamp: number, payload = body): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': new Webhook(secret).sign(id, new Date(timestamp * 1000), payload) };
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.reason;
    throw err;
  }
  return 'verified';
}

describe('verifyWebhook', () => {
  it('verifies what the standardwebhooks package signs', () => {
    const secret = generateSecret();
    const headers = headersFrom(secret, 'msg_1', nowSeconds());
    expect(verifyWebhook(secret, headers, body)).toEqual({ id: 'msg_1', timestamp: Number(headers['webhook-timestamp']) });
  });

  it("verifies wagate's own signer and delivery headers", () => {
    const secret = generateSecret();
    const timestamp = nowSeconds();
    const signature = sign({ secret, id: 'msg_42', timestamp, body });
    expect(verifyWebhook(secret, { 'webhook-id': 'msg_42', 'webhook-timestamp': String(timestamp), 'webhook-signature': signature }, body).id).toBe('msg_42');
    const full = deliveryHeaders({ url: 'http://127.0.0.1/hook', mode: 'body', eventType: 'channel', method: 'post', webhookId: 'msg_43', timestampSeconds: timestamp, secret, body, headers: { 'x-tenant': 'a' } });
    expect(verifyWebhook(secret, new Headers(full), Buffer.from(body)).id).toBe('msg_43');
  });

  it('agrees with the standardwebhooks package on arbitrary ids, bodies and tampering', () => {
    const secret = generateSecret();
    const other = generateSecret();
    fc.assert(
      fc.property(
        fc.stringMatching(/^msg_[A-Za-z0-9]{1,20}$/),
        fc.json({ maxDepth: 2 }),
        fc.integer({ min: -400, max: 400 }),
        fc.constantFrom('none', 'body', 'id', 'secret'),
        (id, payload, skew, tamper) => {
          const timestamp = nowSeconds() + skew;
          const headers = headersFrom(tamper === 'secret' ? other : secret, id, timestamp, payload);
          const received = tamper === 'body' ? `${payload}x` : payload;
          if (tamper === 'id') headers['webhook-id'] = `${id}x`;
          let theirs = true;
          try {
            new Webhook(secret).verify(received, headers);
          } catch (err) {
            if (!(err instanceof StandardError)) throw err;
            theirs = false;
          }
          const ours = reason(() => verifyWebhook(secret, headers, received)) === 'verified';
          // Both allow 5 minutes either way; at the exact edge a second may tick between the two checks.
          if (Math.abs(Math.abs(skew) - 300) > 2) expect(ours).toBe(theirs);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses timestamps more than 5 minutes away, either side', () => {
    const secret = generateSecret();
    expect(reason(() => verifyWebhook(secret, headersFrom(secret, 'msg_1', nowSeconds() - 301), body))).toBe('timestamp_too_old');
    expect(reason(() => verifyWebhook(secret, headersFrom(secret, 'msg_1', nowSeconds() + 301), body))).toBe('timestamp_too_new');
    expect(reason(() => verifyWebhook(secret, headersFrom(secret, 'msg_1', nowSeconds() - 290), body))).toBe('verified');
    const at = 1_700_000_000;
    expect(reason(() => verifyWebhook(secret, headersFrom(secret, 'msg_1', at), body, { now: () => at * 1000 + 60_000 }))).toBe('verified');
  });

  it('accepts any one matching signature among several, and ignores other versions', () => {
    const secret = generateSecret();
    const headers = headersFrom(secret, 'msg_7', nowSeconds());
    const good = headers['webhook-signature'] as string;
    headers['webhook-signature'] = `v1,${Buffer.alloc(32).toString('base64')} v1a,AAAA ${good} v2,zzz`;
    expect(reason(() => verifyWebhook(secret, headers, body))).toBe('verified');
    headers['webhook-signature'] = `v1a,${good.slice(3)} v1,short`;
    expect(reason(() => verifyWebhook(secret, headers, body))).toBe('no_matching_signature');
  });

  it('accepts any one of several secrets (rotation)', () => {
    const [old, current] = [generateSecret(), generateSecret()];
    expect(reason(() => verifyWebhook([current, old], headersFrom(old, 'msg_1', nowSeconds()), body))).toBe('verified');
    expect(reason(() => verifyWebhook([current], headersFrom(old, 'msg_1', nowSeconds()), body))).toBe('no_matching_signature');
  });

  it('refuses missing headers and unreadable timestamps', () => {
    const secret = generateSecret();
    const headers = headersFrom(secret, 'msg_1', nowSeconds());
    expect(reason(() => verifyWebhook(secret, { ...headers, 'webhook-signature': undefined }, body))).toBe('missing_headers');
    expect(reason(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': '12.5' }, body))).toBe('invalid_timestamp');
  });

  it('reads header names in any case and arrays from Node', () => {
    const secret = generateSecret();
    const h = headersFrom(secret, 'msg_1', nowSeconds());
    const mixed = { 'Webhook-Id': h['webhook-id'], 'WEBHOOK-TIMESTAMP': h['webhook-timestamp'], 'webhook-signature': [h['webhook-signature'] as string] };
    expect(reason(() => verifyWebhook(secret, mixed, body))).toBe('verified');
  });
});
