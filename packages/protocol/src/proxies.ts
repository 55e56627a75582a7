import { Type, type Static } from '@sinclair/typebox';

// The partner's proxy pool (extension): wire shapes of /partner/proxies.

export const PROXY_STATES = ['active', 'quarantined'] as const;
export const PROXY_HEALTH = ['unknown', 'healthy', 'degraded', 'bad'] as const;
export type ProxyHealthStatus = (typeof PROXY_HEALTH)[number];
/** Schemes a pool proxy may use; a channel's own `proxy` setting takes socks5 only (Whapi's rule). */
export const PROXY_SCHEMES = ['socks5:', 'socks5h:', 'http:'] as const;

export const ProxyInput = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'socks5://, socks5h:// or http:// URL, with user:password if the proxy needs them' }),
    label: Type.String({ minLength: 1, maxLength: 100 }),
    region: Type.Optional(Type.String({ minLength: 1, maxLength: 50, pattern: '^[A-Za-z0-9_.-]+$' })),
  },
  { additionalProperties: false },
);
export type ProxyInput = Static<typeof ProxyInput>;

/** A proxy's health, from the channels using it over the last hour. */
export const ProxyHealth = Type.Object({
  status: Type.Union(PROXY_HEALTH.map((s) => Type.Literal(s))),
  connects: Type.Integer({ description: 'connection attempts in the last hour' }),
  failed_connects: Type.Integer({ description: 'attempts that ended before AUTH in the last hour' }),
  drops: Type.Integer({ description: 'drops out of AUTH in the last hour' }),
  time_to_auth_ms: Type.Union([Type.Integer(), Type.Null()], { description: 'median time from connect to AUTH' }),
  last_error: Type.Union([Type.String(), Type.Null()], { description: 'the last connect error through this proxy (admin only)' }),
});
export type ProxyHealth = Static<typeof ProxyHealth>;

export const ProxyView = Type.Object({
  id: Type.String(),
  url: Type.String({ description: 'the password, if any, is shown as ***' }),
  label: Type.String(),
  region: Type.Union([Type.String(), Type.Null()]),
  state: Type.Union(PROXY_STATES.map((s) => Type.Literal(s))),
  state_reason: Type.Union([Type.String(), Type.Null()]),
  state_since: Type.Integer({ description: 'unix milliseconds' }),
  created_at: Type.Integer({ description: 'unix milliseconds' }),
  channels: Type.Array(Type.String(), { description: 'ids of the channels on this proxy' }),
  health: ProxyHealth,
});
export type ProxyView = Static<typeof ProxyView>;

export const ProxyList = Type.Object({ proxies: Type.Array(ProxyView), total: Type.Integer() });
export type ProxyList = Static<typeof ProxyList>;

export const ProxyIdParams = Type.Object({ id: Type.String({ pattern: '^px_[a-z0-9]{10}$' }) });

export const QuarantineBody = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);
