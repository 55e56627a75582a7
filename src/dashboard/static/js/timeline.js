// The last 24 hours of a channel as one bar: a segment per status, uptime, drops, flapping alerts.
import { api, channelPath } from './api.js';
import { badge, errorBox, h } from './dom.js';
import { clock, duration, percent } from './format.js';

const REFRESH_MS = 30_000;
const RECENT = 12;

/** The timeline card of channel `id`; redrawn on each status change and every 30 s. */
export function timelineCard(id) {
  const body = h('div', { class: 'timeline', 'aria-busy': 'true' });
  const changes = h('div', { class: 'changes' });
  const el = h('section', { class: 'card' }, h('h2', {}, 'Last 24 hours'), body, h('h3', {}, 'Recent changes'), changes);
  let pending = null;

  async function load() {
    try {
      const t = await api('GET', channelPath(id, '/timeline'));
      const { history } = await api('GET', channelPath(id, `/history?since=${t.since}`));
      body.replaceChildren(...render(t, history));
      changes.replaceChildren(recent(history));
    } catch (err) {
      body.replaceChildren(errorBox(err));
    }
    body.setAttribute('aria-busy', 'false');
  }
  // A reconnect writes three changes within a second: draw once they have landed.
  const soon = () => {
    clearTimeout(pending);
    pending = setTimeout(load, 250);
  };
  void load();
  const every = setInterval(load, REFRESH_MS);

  return {
    el,
    onEvent(name) {
      if (name === 'channel.post' || name === 'alerts.post') soon();
    },
    dispose() {
      clearTimeout(pending);
      clearInterval(every);
    },
  };
}

function render(t, history) {
  const span = Math.max(1, t.until - t.since);
  const pct = (ms) => `${(ms / span) * 100}%`;
  const bar = h('div', {
    class: 'tl-bar',
    role: 'img',
    'aria-label': `Uptime ${percent(t.uptime)}, ${t.drops} drops, ${t.flapping} flapping alerts`,
  });
  for (const s of t.segments) {
    bar.append(
      h('div', {
        class: `tl-seg st-${s.status}`,
        dataset: { status: s.status },
        style: { left: pct(s.from - t.since), width: pct(s.to - s.from) },
        title: `${s.status}: ${clock(s.from)} – ${clock(s.to)} (${duration(s.to - s.from)})`,
      }),
    );
  }
  for (const note of history.filter((e) => e.reason === 'flapping' && e.from === e.to)) {
    bar.append(h('div', { class: 'tl-mark', style: { left: pct(note.at - t.since) }, title: `flapping: ${note.detail ?? ''} at ${clock(note.at)}` }));
  }
  const fullDay = span >= 24 * 3_600_000 - 60_000;
  const axis = h('div', { class: 'tl-axis' }, h('span', {}, fullDay ? '24 h ago' : `created ${clock(t.since)}`), h('span', {}, 'now'));
  const legend = h(
    'ul',
    { class: 'tl-legend' },
    ...Object.entries(t.totals)
      .sort((a, b) => b[1] - a[1])
      .map(([status, ms]) => h('li', {}, h('span', { class: `swatch st-${status}` }), `${status} ${duration(ms)}`)),
  );
  const stats = h(
    'dl',
    { class: 'stats' },
    stat('Uptime', percent(t.uptime), 'uptime'),
    stat('Drops', String(t.drops), 'drops'),
    stat('Flapping alerts', String(t.flapping), 'flapping'),
    stat('Window', fullDay ? '24 h' : duration(span), 'window'),
  );
  return [stats, bar, axis, legend];
}

function stat(label, value, key) {
  return h('div', { class: 'stat', dataset: { stat: key } }, h('dt', {}, label), h('dd', {}, value));
}

function recent(history) {
  const rows = history.slice(-RECENT).reverse();
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No changes in this window.');
  return h(
    'ol',
    { class: 'change-list' },
    ...rows.map((e) =>
      h(
        'li',
        {},
        h('time', { datetime: new Date(e.at).toISOString() }, clock(e.at)),
        e.from === e.to ? h('span', { class: 'note' }, 'note') : h('span', { class: 'move' }, badge(e.from), '→', badge(e.to)),
        h('span', { class: 'reason' }, e.reason),
        e.detail ? h('span', { class: 'detail muted' }, e.detail) : null,
      ),
    ),
  );
}
