// Why a channel is in its status, and the pool proxy it connects through: the channel page's head.
import { api } from './api.js';
import { h } from './dom.js';

const TROUBLE = new Set(['ERROR', 'SYNC_ERROR']);

/** The latest status change's reason and detail, as the partner API answers them; null when none is recorded. */
export function causeLine(channel) {
  if (!channel.reason) return null;
  const status = channel.health?.status.text ?? channel.status.text;
  return h(
    'p',
    { class: `cause${TROUBLE.has(status) ? ' trouble' : ''}`, dataset: { reason: channel.reason } },
    h('span', { class: 'muted' }, `${status} because `),
    h('span', { class: 'reason' }, channel.reason),
    channel.detail ? [': ', h('span', { class: 'detail' }, channel.detail)] : null,
  );
}

/** The pool proxy channel `id` is on (proxy "auto"), or null; never throws: the page works without it. */
export async function poolProxyOf(id) {
  try {
    const { proxies } = await api('GET', '/partner/proxies');
    return proxies.find((p) => p.channels.includes(id)) ?? null;
  } catch {
    return null;
  }
}

/** A chip naming the pool proxy, its state and health, that opens the proxies page. */
export function proxyChip(proxy) {
  if (!proxy) return null;
  const state = proxy.state === 'active' ? proxy.health.status : proxy.state;
  return h('a', { href: '#/proxies', class: 'chip proxy-chip', dataset: { proxy: proxy.id }, title: `pool proxy ${proxy.id}` }, `proxy ${proxy.label} (${state})`);
}
