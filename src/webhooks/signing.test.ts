import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, secretProblem, sign } from './signing.js';

describe('signing', () => {
  it('produces signatures that the standardwebhooks library verifies', () => {
    const secret = generateSecret();
    const id = 'msg_2b6f3c';
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ health: { status: { code: 4, text: 'AUTH' } }, channel_id: 'CH-1' });
    const signature = sign({ secret, id, timestamp, body });
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('matches the library signature byte for byte', () => {
    const secret = generateSecret();
    const timestamp = 1_700_000_000;
    expect(sign({ secret, id: 'msg_1', timestamp, body: '{}' })).toBe(
      new Webhook(secret).sign('msg_1', new Date(timestamp * 1000), '{}'),
    );
  });

  it('signs a different body differently, so a tampered body fails verification', () => {
    const secret = generateSecret();
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = sign({ secret, id: 'msg_1', timestamp, body: '{"a":1}' });
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow();
  });

  it('generates distinct whsec_ secrets of 24 bytes', () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(a).not.toBe(generateSecret());
    expect(secretProblem(a)).toBeNull();
  });

  it('explains what is wrong with an unusable secret', () => {
    expect(secretProblem('abc')).toBe('must start with "whsec_"');
    expect(secretProblem('whsec_!!!')).toBe('must be "whsec_" followed by base64');
    expect(secretProblem('whsec_c2hvcnQ=')).toBe('key must be 24 to 64 bytes, got 5');
    expect(() => sign({ secret: 'nope', id: 'x', timestamp: 1, body: '' })).toThrow(/whsec_/);
  });
});
