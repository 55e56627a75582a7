import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { EVENT_CATALOGUE, type EventName, Settings, UpdateSettingsAnswer } from '@wagate/protocol';
import {
  applyPatch,
  defaultSettings,
  matchingWebhooks,
  settingsFromStored,
  validateSettingsPatch,
  validateWebhookTarget,
  type NormalisedPatch,
} from './settings.js';
import { generateSecret } from './signing.js';

function problems(json: unknown): string[] {
  const result = validateSettingsPatch(json);
  if (result.ok) throw new Error(`expected problems, got ${JSON.stringify(result.patch)}`);
  return result.problems;
}

function patch(json: unknown): NormalisedPatch {
  const result = validateSettingsPatch(json);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.patch;
}

describe('defaultSettings', () => {
  it('answers the documented defaults, valid against the Settings schema', () => {
    const settings = defaultSettings();
    expect(settings).toEqual({
      callback_backoff_delay_ms: 3000,
      max_callback_backoff_delay_ms: 900000,
      callback_persist: true,
      proxy: '',
      send_hold_ms: 10000,
      webhooks: [],
    });
    expect(Value.Check(Settings, settings)).toBe(true);
  });

  it('hands out a fresh copy each time', () => {
    defaultSettings().webhooks.push({ url: 'x' } as never);
    expect(defaultSettings().webhooks).toEqual([]);
  });
});

describe('validateSettingsPatch: bounds and types', () => {
  it.each([
    [{ callback_backoff_delay_ms: 2999 }, 'callback_backoff_delay_ms: must be between 3000 and 15000, got 2999'],
    [{ callback_backoff_delay_ms: 15001 }, 'callback_backoff_delay_ms: must be between 3000 and 15000, got 15001'],
    [{ max_callback_backoff_delay_ms: 599999 }, 'max_callback_backoff_delay_ms: must be between 600000 and 3600000, got 599999'],
    [
      { max_callback_backoff_delay_ms: 3600001 },
      'max_callback_backoff_delay_ms: must be between 600000 and 3600000, got 3600001',
    ],
    [{ send_hold_ms: -1 }, 'send_hold_ms: must be between 0 and 60000, got -1'],
    [{ send_hold_ms: 60001 }, 'send_hold_ms: must be between 0 and 60000, got 60001'],
    [{ callback_backoff_delay_ms: 3000.5 }, 'callback_backoff_delay_ms: must be an integer'],
    [{ callback_backoff_delay_ms: '3000' }, 'callback_backoff_delay_ms: must be an integer'],
    [{ callback_persist: 'yes' }, 'callback_persist: must be true or false'],
    [{ webhooks: {} }, 'webhooks: must be an array'],
    [
      { webhooks: [{ url: 'https://a.example', webhook_max_age_seconds: 14 }] },
      'webhooks[0].webhook_max_age_seconds: must be between 15 and 172800, got 14',
    ],
    [
      { webhooks: [{ url: 'https://a.example', webhook_max_age_seconds: 172801 }] },
      'webhooks[0].webhook_max_age_seconds: must be between 15 and 172800, got 172801',
    ],
    [{ webhooks: [{ url: 'https://a.example', ordered: 1 }] }, 'webhooks[0].ordered: must be true or false'],
  ])('rejects %j', (json, message) => {
    expect(problems(json)).toEqual([message]);
  });

  it('accepts both ends of every range', () => {
    expect(() =>
      patch({
        callback_backoff_delay_ms: 15000,
        max_callback_backoff_delay_ms: 600000,
        send_hold_ms: 0,
        webhooks: [{ url: 'https://a.example', webhook_max_age_seconds: 15 }],
      }),
    ).not.toThrow();
  });

  it('rejects a body that is not an object', () => {
    for (const json of [null, [], 'x', 3]) expect(problems(json)).toEqual(['settings: must be a JSON object']);
  });

  it('rejects unknown fields, at the top and inside a webhook, naming them', () => {
    expect(problems({ colour: {}, webhooks: [{ url: 'https://a.example', retries: 3 }] })).toEqual([
      'colour: unknown field',
      'webhooks[0].retries: unknown field',
    ]);
  });

  it('reports every problem at once', () => {
    expect(problems({ callback_persist: 1, send_hold_ms: 'x', webhooks: [{}] })).toEqual([
      'callback_persist: must be true or false',
      'send_hold_ms: must be an integer',
      'webhooks[0].url: is required',
    ]);
  });
});

describe('validateSettingsPatch: webhooks', () => {
  const hook = (extra: Record<string, unknown>) => ({ webhooks: [{ url: 'https://a.example/in', ...extra }] });

  it('names the unknown event type and its path', () => {
    const [message] = problems(hook({ events: [{ type: 'messages', method: 'post' }, { type: 'foo', method: 'post' }] }));
    expect(message).toMatch(/^webhooks\[0]\.events\[1]\.type: unknown event type "foo" \(expected one of channel, /);
  });

  it('names an unknown event method', () => {
    expect(problems(hook({ events: [{ type: 'messages', method: 'get' }] }))).toEqual([
      'webhooks[0].events[0].method: unknown event method "get" (expected one of post, put, patch, delete)',
    ]);
  });

  it('names an unknown mode', () => {
    expect(problems(hook({ mode: 'query' }))).toEqual([
      'webhooks[0].mode: must be one of body, path, method; got "query"',
    ]);
  });

  it.each([
    ['ftp://a.example/in', 'webhooks[0].url: must be http or https, got "ftp:"'],
    ['a.example/in', 'webhooks[0].url: not a valid URL: "a.example/in"'],
    ['https://user:pw@a.example/in', 'webhooks[0].url: must not contain credentials; use headers (e.g. Authorization)'],
    ['', 'webhooks[0].url: must not be empty'],
  ])('rejects the url %j', (url, message) => {
    expect(problems({ webhooks: [{ url }] })).toEqual([message]);
  });

  it('accepts at most 5 headers', () => {
    const headers = Object.fromEntries([1, 2, 3, 4, 5, 6].map((i) => [`x-h${i}`, 'v']));
    expect(problems(hook({ headers }))).toEqual(['webhooks[0].headers: at most 5 headers']);
    delete headers['x-h6'];
    expect(patch(hook({ headers })).webhooks?.[0]?.headers).toEqual(headers);
  });

  it('rejects bad header names and values, and headers wagate sets itself', () => {
    expect(
      problems(hook({ headers: { 'bad name': 'v', 'X-A': 'a\r\nInjected: 1', 'Webhook-Signature': 'v1,x', 'x-a': 'b' } })),
    ).toEqual([
      'webhooks[0].headers: invalid header name "bad name"',
      'webhooks[0].headers.X-A: value contains U+000D at position 1; HTTP header values may hold only visible ASCII, spaces, tabs and Latin-1 characters',
      'webhooks[0].headers.Webhook-Signature: set by wagate, cannot be configured',
      'webhooks[0].headers.x-a: given twice (header names are case-insensitive)',
    ]);
  });

  // undici refuses these at send time (UND_ERR_INVALID_ARG): stored, they fail every delivery.
  it.each([
    ['a\x01b', 'U+0001 at position 1'],
    ['tab\tok\x7f', 'U+007F at position 6'],
    ['Bearer \0', 'U+0000 at position 7'],
    ['prix 10€', '"€" (U+20AC) at position 7'],
    ['名前', '"名" (U+540D) at position 0'],
    ['ok 👍', '"👍" (U+1F44D) at position 3'],
  ])('refuses the unsendable header value %j, naming the header', (value, what) => {
    expect(problems(hook({ headers: { 'X-Tenant': value } }))).toEqual([
      `webhooks[0].headers.X-Tenant: value contains ${what}; HTTP header values may hold only visible ASCII, spaces, tabs and Latin-1 characters`,
    ]);
  });

  it('accepts header values with spaces, tabs and Latin-1 text', () => {
    const headers = { 'X-Name': 'José Müller\tñ', Authorization: 'Bearer abc.def~ghi' };
    expect(patch(hook({ headers })).webhooks?.[0]?.headers).toEqual(headers);
  });

  it('trims the spaces around a url and stores it trimmed', () => {
    expect(patch({ webhooks: [{ url: '  https://a.example/in \t' }] }).webhooks?.[0]?.url).toBe('https://a.example/in');
  });

  it.each([
    ['   ', 'webhooks[0].url: must not be empty'],
    ['https://a.exa mple/in', 'webhooks[0].url: must not contain a space (at position 13)'],
    ['https://a.example/i\nn', 'webhooks[0].url: must not contain U+000A (at position 19)'],
    ['https://a.ex\tample/', 'webhooks[0].url: must not contain U+0009 (at position 12)'],
  ])('refuses the url %j, which the URL parser would silently change', (url, message) => {
    expect(problems({ webhooks: [{ url }] })).toEqual([message]);
  });

  it('accepts a whsec_ secret and rejects a malformed or short one', () => {
    const secret = generateSecret();
    expect(patch(hook({ secret })).webhooks?.[0]?.secret).toBe(secret);
    expect(problems(hook({ secret: 'shh' }))).toEqual(['webhooks[0].secret: must be "whsec_" followed by base64']);
    expect(problems(hook({ secret: 'whsec_c2hvcnQ=' }))).toEqual(['webhooks[0].secret: key must be 24 to 64 bytes, got 5']);
  });

  it.each([
    ['', true],
    ['socks5://login:password@167.160.89.124:10030', true],
    ['socks5h://proxy.example:1080', true],
    ['http://proxy.example:8080', false],
    ['socks5://proxy.example', false],
  ])('checks the proxy %j', (proxy, ok) => {
    expect(validateSettingsPatch({ proxy }).ok).toBe(ok);
  });
});

describe('validateSettingsPatch: normalisation', () => {
  it('stores the seed spelling "channels" as "channel"', () => {
    const events = [
      { type: 'channels', method: 'post' },
      { type: 'channels', method: 'patch' },
    ];
    const p = patch({ webhooks: [{ url: 'https://a.example', events }] });
    expect(p.webhooks?.[0]?.events).toEqual([
      { type: 'channel', method: 'post' },
      { type: 'channel', method: 'patch' },
    ]);
  });

  it("maps Whapi's deprecated singular types and drops duplicates", () => {
    const events = [
      { type: 'message', method: 'post' },
      { type: 'ack', method: 'post' },
      { type: 'status', method: 'post' },
      { type: 'messages', method: 'post' },
    ];
    expect(patch({ webhooks: [{ url: 'https://a.example', events }] }).webhooks?.[0]?.events).toEqual([
      { type: 'messages', method: 'post' },
      { type: 'statuses', method: 'post' },
      { type: 'channel', method: 'post' },
    ]);
  });

  it('keeps Whapi-only types such as chats, which wagate never emits', () => {
    const p = patch({ webhooks: [{ url: 'https://a.example', events: [{ type: 'chats', method: 'post' }] }] });
    expect(p.webhooks?.[0]?.events).toEqual([{ type: 'chats', method: 'post' }]);
  });

  it('fills every webhook default, and posts new messages when events are absent', () => {
    const defaults = { mode: 'body', headers: {}, webhook_max_age_seconds: 172800, ordered: true };
    const p = patch({ webhooks: [{ url: 'https://a.example', events: [{ type: 'users' }] }, { url: 'http://b.example' }] });
    expect(p).toEqual({
      webhooks: [
        { url: 'https://a.example', events: [{ type: 'users', method: 'post' }], ...defaults },
        { url: 'http://b.example', events: [{ type: 'messages', method: 'post' }], ...defaults },
      ],
    });
  });

  it('leaves absent top-level fields absent', () => {
    expect(patch({ callback_persist: false })).toEqual({ callback_persist: false });
    expect(patch({})).toEqual({});
  });
});

describe('applyPatch', () => {
  it("answers Whapi's before/after/changes shape, listing only fields that changed", () => {
    const current = defaultSettings();
    const answer = applyPatch(
      current,
      patch({ callback_persist: true, callback_backoff_delay_ms: 5000, webhooks: [{ url: 'https://a.example' }] }),
    );
    expect(answer.before_update).toEqual(defaultSettings());
    expect(answer.after_update.callback_backoff_delay_ms).toBe(5000);
    expect(answer.after_update.callback_persist).toBe(true);
    expect(answer.after_update.webhooks).toHaveLength(1);
    expect(answer.changes).toEqual(['callback_backoff_delay_ms', 'webhooks']);
    expect(Value.Check(UpdateSettingsAnswer, answer)).toBe(true);
  });

  it('replaces the webhook list as a whole, and reports no change when it is the same', () => {
    const two = { webhooks: [{ url: 'https://a.example' }, { url: 'https://b.example' }] };
    const first = applyPatch(defaultSettings(), patch(two));
    const same = applyPatch(first.after_update, patch(two));
    expect(same.changes).toEqual([]);
    const shorter = applyPatch(first.after_update, patch({ webhooks: [{ url: 'https://b.example' }] }));
    expect(shorter.after_update.webhooks.map((w) => w.url)).toEqual(['https://b.example']);
    expect(shorter.changes).toEqual(['webhooks']);
  });

  it('does not touch the settings it was given', () => {
    const current = defaultSettings();
    applyPatch(current, patch({ proxy: 'socks5://p.example:1080', webhooks: [{ url: 'https://a.example' }] }));
    expect(current).toEqual(defaultSettings());
  });
});

describe('validateWebhookTarget (webhook_test)', () => {
  it('applies the rules of PATCH /settings, with paths of its own body', () => {
    const result = validateWebhookTarget({ url: 'https://user:pw@a.example/in', headers: { 'X-A': 'a\x01', Host: 'x' }, secret: 'whsec_c2hvcnQ=' });
    expect(result).toEqual({
      ok: false,
      problems: [
        'url: must not contain credentials; use headers (e.g. Authorization)',
        'secret: key must be 24 to 64 bytes, got 5',
        'headers.X-A: value contains U+0001 at position 1; HTTP header values may hold only visible ASCII, spaces, tabs and Latin-1 characters',
        'headers.Host: set by wagate, cannot be configured',
      ],
    });
  });

  it('answers the request with its url trimmed', () => {
    expect(validateWebhookTarget({ url: ' https://a.example/in ', type: 'channel' })).toEqual({ ok: true, target: { url: 'https://a.example/in', type: 'channel' } });
  });
});

describe('settingsFromStored', () => {
  it('fills fields an older store row lacks with defaults', () => {
    expect(settingsFromStored({ callback_persist: false })).toEqual({ ...defaultSettings(), callback_persist: false });
    expect(settingsFromStored(undefined)).toEqual(defaultSettings());
  });

  it('reads a row saved before a rule was added, as it was saved (the sender skips what it cannot send)', () => {
    const stored = { webhooks: [{ url: ' https://a.example/in', events: [], mode: 'body', headers: { 'X-A': 'a\x01' }, webhook_max_age_seconds: 60, ordered: true }] };
    expect(settingsFromStored(stored).webhooks[0]).toMatchObject({ url: ' https://a.example/in', headers: { 'X-A': 'a\x01' } });
  });

  it('refuses a stored row that is not valid settings', () => {
    expect(() => settingsFromStored({ send_hold_ms: -5 })).toThrow(/send_hold_ms: must be between/);
  });
});

describe('matchingWebhooks', () => {
  const settings = applyPatch(
    defaultSettings(),
    patch({
      webhooks: [
        { url: 'https://status.example', events: [{ type: 'channels', method: 'post' }] },
        {
          url: 'https://all.example',
          events: [
            { type: 'channel', method: 'post' },
            { type: 'messages', method: 'post' },
          ],
        },
        { url: 'https://muted.example', events: [] },
        { url: 'https://default.example' },
      ],
    }),
  ).after_update;

  it('answers the webhooks subscribed to type.method', () => {
    const urls = (name: EventName) => matchingWebhooks(settings, name).map((w) => w.url);
    expect(urls('channel.post')).toEqual(['https://status.example', 'https://all.example']);
    expect(urls('messages.post')).toEqual(['https://all.example', 'https://default.example']);
  });

  it('does not match another method of the same type', () => {
    expect(matchingWebhooks(settings, 'channel.patch')).toEqual([]);
  });

  it('sends nothing to a webhook with an empty events list', () => {
    for (const { type, method } of EVENT_CATALOGUE) {
      const urls = matchingWebhooks(settings, `${type}.${method}` as EventName).map((w) => w.url);
      expect(urls).not.toContain('https://muted.example');
    }
  });
});
