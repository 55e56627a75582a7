/* global confirm, location */
// One channel: its header and actions, and the tab shown below (overview, settings, deliveries).
import { api, channelPath } from './api.js';
import { tokenNotice } from './channels.js';
import { causeLine, poolProxyOf, proxyChip } from './cause.js';
import { deliveriesTab } from './deliveries.js';
import { messagesTab } from './messages.js';
import { badge, errorBox, h } from './dom.js';
import { pairingCard } from './pairing.js';
import { sandboxCard } from './sandbox.js';
import { settingsTab } from './settings.js';
import { timelineCard } from './timeline.js';

const TABS = [
  ['overview', 'Overview', ''],
  ['settings', 'Settings', '/settings'],
  ['deliveries', 'Deliveries', '/deliveries'],
  ['messages', 'Messages', '/messages'],
];

/** Renders channel `id` with tab `tab` at `root`; answers the cleanup. */
export function channelView(root, ctx, id, tab) {
  const head = h('div', { class: 'channel-head' }, h('p', { class: 'muted' }, 'Loading…'));
  const notice = h('div');
  const body = h('div', { class: 'tab-body' });
  const tabs = h(
    'nav',
    { class: 'tabs', 'aria-label': 'Channel sections' },
    ...TABS.map(([key, label, path]) => h('a', { href: `#/channels/${id}${path}`, class: key === tab ? 'active' : '', 'aria-current': key === tab ? 'page' : false }, label)),
  );
  root.replaceChildren(h('a', { href: '#/', class: 'back' }, '← Channels'), head, notice, tabs, body);

  const cleanups = [];
  let parts = [];
  let channel = null;
  let proxy = null;

  const renderHead = () => {
    const health = channel.health;
    const stopped = health.status.text === 'STOP';
    head.replaceChildren(
      h(
        'div',
        { class: 'title' },
        h('h1', {}, channel.name),
        badge(health.status.text),
      ),
      h(
        'div',
        { class: 'facts' },
        h('code', { class: 'id' }, channel.id),
        h('span', { class: `chip engine-${channel.engine}` }, channel.engine),
        health.user ? h('span', { class: 'linked' }, `linked: ${health.user.name ?? ''} +${health.user.id}`) : h('span', { class: 'muted' }, 'no account linked'),
        proxyChip(proxy),
      ),
      causeLine(channel),
      h(
        'div',
        { class: 'actions' },
        action('Restart', 'restart'),
        stopped ? action('Start', 'start') : action('Stop', 'stop'),
        health.user ? h('button', { type: 'button', class: 'small', onclick: logout }, 'Log out') : null,
        h('button', { type: 'button', class: 'small', onclick: rotate }, 'New token'),
        h('button', { type: 'button', class: 'small danger', onclick: remove }, 'Delete'),
      ),
    );
  };

  const action = (label, path) =>
    h('button', {
      type: 'button',
      class: 'small',
      onclick: async (e) => {
        e.currentTarget.disabled = true;
        try {
          channel = await api('POST', channelPath(id, `/${path}`));
          renderHead();
          ctx.toast(`${label}: ${channel.health.status.text}`, 'ok');
        } catch (err) {
          ctx.toast(err.message, 'error', err.details);
          renderHead();
        }
      },
    }, label);

  async function logout(e) {
    if (!confirm(`Log ${channel.name} out of +${channel.health.user?.id}? Its credentials are wiped; pairing again needs a new QR.`)) return;
    e.currentTarget.disabled = true;
    try {
      await api('POST', channelPath(id, '/logout'));
      ctx.toast(`${channel.name} logged out`, 'ok');
    } catch (err) {
      ctx.toast(err.message, 'error', err.details);
    }
    channel = await api('GET', channelPath(id));
    renderHead();
  }

  async function rotate() {
    if (!confirm(`Issue a new token for ${channel.name}? The current token stops working at once.`)) return;
    try {
      notice.replaceChildren(tokenNotice(await api('POST', channelPath(id, '/token')), ctx));
    } catch (err) {
      ctx.toast(err.message, 'error', err.details);
    }
  }

  async function remove() {
    if (!confirm(`Delete ${channel.name} (${channel.id})? Its credentials, history and deliveries go with it.`)) return;
    try {
      await api('DELETE', channelPath(id));
      ctx.toast(`${channel.name} deleted`, 'ok');
      location.hash = '#/';
    } catch (err) {
      ctx.toast(err.message, 'error', err.details);
    }
  }

  // channel.post carries the status only: the reason, the detail and the proxy come with the channel.
  let refetch = null;
  let asked = 0;
  const refresh = () => {
    clearTimeout(refetch);
    refetch = setTimeout(async () => {
      const mine = ++asked;
      try {
        const answers = await Promise.all([api('GET', channelPath(id)), poolProxyOf(id)]);
        if (mine !== asked) return;
        [channel, proxy] = answers;
        renderHead();
      } catch {
        // The next status change tries again; the header keeps what it has.
      }
    }, 250);
  };
  cleanups.push(() => clearTimeout(refetch));

  (async () => {
    try {
      [channel, proxy] = await Promise.all([api('GET', channelPath(id)), poolProxyOf(id)]);
    } catch (err) {
      head.replaceChildren(errorBox(err));
      tabs.hidden = true;
      return;
    }
    renderHead();
    if (tab === 'settings') parts = [settingsTab(id, ctx)];
    else if (tab === 'deliveries') parts = [deliveriesTab(id, ctx)];
    else if (tab === 'messages') parts = [messagesTab(id)];
    else {
      parts = [pairingCard(id, ctx, channel.health), timelineCard(id)];
      if (channel.engine === 'sandbox') parts.push(sandboxCard(id, ctx));
    }
    body.replaceChildren(...parts.map((p) => p.el));
  })();

  cleanups.push(
    ctx.live.on((name, data) => {
      if (data.channel_id !== id || !channel) return;
      if (name === 'channel.post') {
        // The old reason belongs to the old status: none is shown until the new one arrives.
        channel = { ...channel, status: data.health.status, health: data.health, reason: undefined, detail: undefined };
        renderHead();
        refresh();
      }
      if (name === 'alerts.post') refresh();
      for (const p of parts) p.onEvent?.(name, data);
    }),
  );

  return () => {
    for (const fn of cleanups) fn();
    for (const p of parts) p.dispose?.();
  };
}
