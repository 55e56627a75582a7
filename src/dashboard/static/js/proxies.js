/* global confirm, prompt */
// The proxy pool: every proxy with its state, health and channels; add, quarantine, release, delete.
import { api } from './api.js';
import { errorBox, field, h } from './dom.js';
import { ago, duration } from './format.js';

/** Health changes with every connect and drop: reload on live events, at most this often. */
const RELOAD_MS = 1000;
/** Health also ages out of its rolling hour with no event at all. */
const REFRESH_MS = 15_000;
const HEALTH = ['healthy', 'unknown', 'degraded', 'bad'];

/** The proxies page (`#/proxies`), answered by `GET /partner/proxies`; answers its cleanup. */
export function proxiesView(root, ctx) {
  const count = h('span', { class: 'muted' });
  const summary = h('div', { class: 'proxy-summary', 'aria-label': 'Proxies by state and health' });
  const list = h('div', { class: 'proxy-list', 'aria-busy': 'true', 'aria-live': 'polite' });
  root.replaceChildren(
    h('a', { href: '#/', class: 'back' }, '← Channels'),
    h('div', { class: 'page-head' }, h('h1', {}, 'Proxies'), count),
    h('p', { class: 'muted' }, 'Channels with proxy “auto” connect through the healthiest active proxy here; remediation moves a flapping channel to another one and quarantines an unstable proxy.'),
    summary,
    h('section', { class: 'card' }, list),
    addForm(ctx, () => load()),
  );

  let seq = 0;
  async function load() {
    const mine = ++seq;
    try {
      const { proxies, total } = await api('GET', '/partner/proxies');
      if (mine !== seq) return;
      count.textContent = `${total} prox${total === 1 ? 'y' : 'ies'}`;
      summary.replaceChildren(...summaryChips(proxies));
      list.replaceChildren(proxies.length ? table(proxies, ctx, load) : h('p', { class: 'empty muted' }, 'No proxies in the pool yet. Add one below.'));
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
    list.setAttribute('aria-busy', 'false');
  }
  void load();

  let reload = null;
  const off = ctx.live.on((name) => {
    if (name !== 'channel.post' && name !== 'alerts.post') return;
    reload ??= setTimeout(() => {
      reload = null;
      void load();
    }, RELOAD_MS);
  });
  const every = setInterval(load, REFRESH_MS);
  return () => {
    off();
    clearTimeout(reload);
    clearInterval(every);
  };
}

function summaryChips(proxies) {
  const chip = (label, n, kind) => h('span', { class: `chip ${kind ?? ''}`, dataset: { count: label } }, h('strong', {}, String(n)), ` ${label}`);
  const by = (key, value) => proxies.filter((p) => key(p) === value).length;
  return [
    chip('active', by((p) => p.state, 'active')),
    chip('quarantined', by((p) => p.state, 'quarantined'), by((p) => p.state, 'quarantined') ? 'warn' : ''),
    ...HEALTH.filter((s) => by((p) => p.health.status, s) > 0).map((s) => chip(s, by((p) => p.health.status, s), `ph-${s}`)),
  ];
}

function table(proxies, ctx, reload) {
  const head = ['Proxy', 'State', 'Health', 'Channels', ''];
  return h(
    'table',
    { class: 'table proxies' },
    h('thead', {}, h('tr', {}, ...head.map((t) => h('th', {}, t)))),
    h('tbody', {}, ...proxies.map((p) => row(p, ctx, reload))),
  );
}

/** A table cell: one box inside, so a phone's stacked layout keeps the cell's lines together. */
function cell(label, ...children) {
  return h('td', { dataset: { label } }, h('div', { class: 'cell' }, ...children));
}

function row(p, ctx, reload) {
  const hl = p.health;
  const facts = [
    `${hl.connects} connect${hl.connects === 1 ? '' : 's'}`,
    `${hl.failed_connects} failed`,
    `${hl.drops} drop${hl.drops === 1 ? '' : 's'}`,
    hl.time_to_auth_ms === null ? null : `AUTH in ${duration(hl.time_to_auth_ms)}`,
  ].filter(Boolean);
  return h(
    'tr',
    { dataset: { proxy: p.id, state: p.state, health: hl.status } },
    cell(
      'Proxy',
      h('div', { class: 'proxy-name' }, h('strong', {}, p.label), p.region ? h('span', { class: 'chip' }, p.region) : null),
      h('code', { class: 'id' }, p.id),
      h('div', {}, h('code', { class: 'proxy-url' }, p.url)),
    ),
    cell(
      'State',
      h('span', { class: `pill ps-${p.state}` }, p.state),
      h('div', { class: 'hint' }, p.state_reason ? `${p.state_reason}, ` : '', `since ${ago(p.state_since)}`),
    ),
    cell(
      'Health',
      h('span', { class: `pill ph-${hl.status}` }, hl.status),
      h('div', { class: 'hint' }, `last hour: ${facts.join(', ')}`),
      hl.last_error ? h('div', { class: 'hint last-error' }, `last error: ${hl.last_error}`) : null,
    ),
    cell(
      'Channels',
      p.channels.length ? h('div', { class: 'proxy-channels' }, ...p.channels.map((id) => h('a', { href: `#/channels/${id}`, dataset: { channel: id } }, h('code', {}, id)))) : h('span', { class: 'muted' }, 'none'),
    ),
    cell('', h('div', { class: 'row-actions' }, ...actions(p, ctx, reload))),
  );
}

function actions(p, ctx, reload) {
  const act = (label, cls, run) =>
    h('button', {
      type: 'button',
      class: `small ${cls}`,
      dataset: { action: label.toLowerCase() },
      onclick: async (e) => {
        const button = e.currentTarget;
        button.disabled = true;
        try {
          const done = await run();
          if (done) ctx.toast(done, 'ok');
        } catch (err) {
          ctx.toast(err.message, 'error', err.details);
        }
        button.disabled = false;
        await reload();
      },
    }, label);
  const path = `/partner/proxies/${encodeURIComponent(p.id)}`;
  return [
    p.state === 'active'
      ? act('Quarantine', '', async () => {
          const reason = prompt(`Quarantine ${p.label}? It gets no new channels until it is released. Why?`, 'quarantined by the operator');
          if (reason === null) return null;
          await api('POST', `${path}/quarantine`, reason.trim() ? { reason: reason.trim().slice(0, 200) } : {});
          return `${p.label} quarantined`;
        })
      : act('Release', '', async () => {
          // The gateway probes the proxy first and answers 409 when it does not answer.
          await api('POST', `${path}/release`);
          return `${p.label} released`;
        }),
    act('Delete', 'danger', async () => {
      const on = p.channels.length ? ` Its ${p.channels.length} channel${p.channels.length === 1 ? '' : 's'} take another pool proxy at their next connection.` : '';
      if (!confirm(`Delete ${p.label} from the pool?${on}`)) return null;
      await api('DELETE', path);
      return `${p.label} deleted`;
    }),
  ];
}

function addForm(ctx, onAdded) {
  const url = h('input', { name: 'url', required: true, maxlength: 2048, placeholder: 'socks5://user:pass@10.0.0.5:1080', autocomplete: 'off', spellcheck: 'false' });
  const label = h('input', { name: 'label', required: true, maxlength: 100, placeholder: 'eu-1', autocomplete: 'off' });
  const region = h('input', { name: 'region', maxlength: 50, pattern: '[A-Za-z0-9_.\\-]+', placeholder: 'eu (optional)', autocomplete: 'off' });
  const problem = h('div');
  const button = h('button', { class: 'primary', type: 'submit' }, 'Add proxy');
  return h(
    'form',
    {
      class: 'card add-proxy',
      onsubmit: async (e) => {
        e.preventDefault();
        problem.replaceChildren();
        button.disabled = true;
        const body = { url: url.value.trim(), label: label.value.trim() };
        if (region.value.trim()) body.region = region.value.trim();
        try {
          const p = await api('PUT', '/partner/proxies', body);
          url.value = '';
          label.value = '';
          region.value = '';
          ctx.toast(`${p.label} added (${p.id})`, 'ok');
          onAdded();
        } catch (err) {
          problem.replaceChildren(errorBox(err));
        }
        button.disabled = false;
      },
    },
    h('h2', {}, 'Add a proxy'),
    h('div', { class: 'grid3' }, field('URL', url, 'socks5://, socks5h:// or http://'), field('Label', label), field('Region', region, 'a move stays in the region')),
    problem,
    h('div', { class: 'actions' }, button),
  );
}
