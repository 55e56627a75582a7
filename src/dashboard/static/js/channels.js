// The channel list with live statuses, and the form that creates a channel.
import { api } from './api.js';
import { badge, errorBox, field, h } from './dom.js';
import { ago } from './format.js';

const PAGE = 50;
const STATUSES = ['NOT_INIT', 'INIT', 'LAUNCH', 'QR', 'AUTH', 'ERROR', 'SYNC_ERROR', 'STOP'];
const SORTS = [
  ['created', 'Oldest first'],
  ['created:desc', 'Newest first'],
  ['name', 'Name'],
  ['id', 'Id'],
  ['status', 'Status'],
];
/** Live changes reload the page at most this often: 10,000 channels may change at once. */
const RELOAD_MS = 1000;
/**
 * While a channel is flagged, look again this often: a webhook that recovers, or a flap window
 * that passes, clears its flag without an event of its own.
 */
const FLAGGED_RECHECK_MS = 5000;

/**
 * The fleet: counts by status (click one to filter), flapping channels and failing webhooks,
 * search, sorting and paging, all answered by the gateway: the page holds one page of channels.
 */
export function channelListView(root, ctx) {
  const list = h('div', { class: 'channel-list', 'aria-busy': 'true' });
  const count = h('span', { class: 'muted' });
  const created = h('div');
  const counts = h('nav', { class: 'fleet-counts', 'aria-label': 'Channels by status' });
  const search = h('input', { type: 'search', name: 'search', placeholder: 'Search name, id or phone number', autocomplete: 'off', 'aria-label': 'Search channels' });
  const sort = h('select', { name: 'sort', 'aria-label': 'Sort' }, ...SORTS.map(([v, label]) => h('option', { value: v }, label)));
  const pager = h('div', { class: 'pager' });
  const filter = { status: '', flag: '', offset: 0 };
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Channels'), count),
    created,
    counts,
    h('div', { class: 'fleet-tools' }, search, sort),
    h('section', { class: 'card' }, list, pager),
    createForm(ctx, (channel) => {
      created.replaceChildren(tokenNotice(channel, ctx));
      void load();
    }),
  );

  const rows = new Map();
  let seq = 0;
  let recheck = null;
  async function load() {
    const mine = ++seq;
    clearTimeout(recheck);
    const [key, order] = sort.value.split(':');
    const q = new URLSearchParams({ count: String(PAGE), offset: String(filter.offset), sort: key, order: order ?? 'asc' });
    if (filter.status) q.set('status', filter.status);
    if (filter.flag) q.set('flag', filter.flag);
    if (search.value.trim()) q.set('search', search.value.trim());
    list.setAttribute('aria-busy', 'true');
    try {
      const page = await api('GET', `/partner/channels/list?${q}`);
      if (mine !== seq) return;
      rows.clear();
      list.replaceChildren(...page.channels.map((c) => row(c, rows)));
      if (page.channels.length === 0) list.append(h('p', { class: 'empty' }, page.counts?.all ? 'No channel matches.' : 'No channels yet. Create one below.'));
      renderCounts(page.counts);
      renderPager(page);
      if (page.counts?.webhook_failing || page.counts?.flapping) recheck = setTimeout(load, FLAGGED_RECHECK_MS);
      count.textContent = `${page.counts?.all ?? page.total} channel${(page.counts?.all ?? page.total) === 1 ? '' : 's'}`;
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
    list.setAttribute('aria-busy', 'false');
  }

  function renderCounts(c) {
    if (!c) return;
    const chip = (label, n, active, apply, kind) =>
      h('button', { type: 'button', class: `count-chip ${kind ?? ''} ${active ? 'active' : ''}`, 'aria-pressed': String(active), dataset: { filter: label }, onclick: () => (apply(), (filter.offset = 0), load()) }, h('span', { class: 'n' }, n.toLocaleString()), ` ${label}`);
    counts.replaceChildren(
      chip('all', c.all, !filter.status && !filter.flag, () => ((filter.status = ''), (filter.flag = ''))),
      ...STATUSES.filter((s) => c.by_status[s] > 0 || s === filter.status).map((s) => chip(s, c.by_status[s] ?? 0, filter.status === s, () => ((filter.status = filter.status === s ? '' : s), (filter.flag = '')), `st-${s}`)),
      chip('flapping', c.flapping, filter.flag === 'flapping', () => ((filter.flag = filter.flag === 'flapping' ? '' : 'flapping'), (filter.status = '')), 'warn'),
      chip('webhooks failing', c.webhook_failing, filter.flag === 'webhook_failing', () => ((filter.flag = filter.flag === 'webhook_failing' ? '' : 'webhook_failing'), (filter.status = '')), 'warn'),
    );
  }

  function renderPager(page) {
    const last = Math.min(page.total, filter.offset + page.channels.length);
    pager.replaceChildren(
      h('span', { class: 'muted range' }, page.total ? `${(filter.offset + 1).toLocaleString()}–${last.toLocaleString()} of ${page.total.toLocaleString()}` : ''),
      h('button', { type: 'button', class: 'small', disabled: filter.offset === 0, onclick: () => ((filter.offset = Math.max(0, filter.offset - PAGE)), load()) }, '← Previous'),
      h('button', { type: 'button', class: 'small', disabled: last >= page.total, onclick: () => ((filter.offset += PAGE), load()) }, 'Next →'),
    );
  }

  let typing = null;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => ((filter.offset = 0), load()), 250);
  });
  sort.addEventListener('change', () => ((filter.offset = 0), load()));
  void load();

  let reload = null;
  const off = ctx.live.on((name, data) => {
    if (name !== 'channel.post' && name !== 'alerts.post') return;
    const r = rows.get(data.channel_id);
    if (r && name === 'channel.post') {
      r.status.replaceWith((r.status = badge(data.health.status.text)));
      r.user.textContent = accountText(data.health.user);
    }
    // Counts (and filtered pages) move with every change: reload, but not more than once a second.
    reload ??= setTimeout(() => {
      reload = null;
      void load();
    }, RELOAD_MS);
  });
  return () => {
    off?.();
    clearTimeout(reload);
    clearTimeout(recheck);
    clearTimeout(typing);
  };
}

/** `Shop +61371989950`: the linked account's name and number. */
function accountText(user) {
  return user ? `${user.name ? `${user.name} ` : ''}+${user.id}` : '';
}

function row(c, rows) {
  const status = badge(c.status.text);
  const user = h('span', { class: 'user' }, accountText(c.user));
  rows.set(c.id, { status, user });
  const flags = [c.flapping ? h('span', { class: 'chip warn' }, 'flapping') : null, c.webhook_failing ? h('span', { class: 'chip warn' }, 'webhook failing') : null];
  // Several nodes on PostgreSQL: the node that runs the channel (none while it fails over).
  const node = c.node === undefined ? null : h('span', { class: `chip node${c.node === null ? ' warn' : ''}`, title: 'the node that runs this channel' }, c.node === null ? 'no node' : `node ${c.node}`);
  return h(
    'a',
    { class: 'channel-row', href: `#/channels/${c.id}`, dataset: { channel: c.id } },
    h('span', { class: 'name' }, h('strong', {}, c.name), h('code', { class: 'id' }, c.id)),
    h('span', { class: 'meta' }, h('span', { class: `chip engine-${c.engine}` }, c.engine), node, user, ...flags, h('span', { class: 'muted created' }, `created ${ago(c.creationTS)}`)),
    status,
  );
}

function createForm(ctx, onCreated) {
  const name = h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'Support line', autocomplete: 'off' });
  const engine = h(
    'select',
    { name: 'engine' },
    h('option', { value: 'sandbox' }, 'sandbox: a simulated phone, for trying things out'),
    h('option', { value: 'baileys' }, 'baileys: real WhatsApp (link a phone)'),
  );
  const ms = (name, placeholder) => h('input', { name, type: 'number', min: 0, max: 600000, placeholder, inputmode: 'numeric' });
  const timings = {
    init_ms: ms('init_ms', '200'),
    launch_ms: ms('launch_ms', '500'),
    qr_first_ms: ms('qr_first_ms', '60000'),
    qr_next_ms: ms('qr_next_ms', '20000'),
    qr_per_round: h('input', { name: 'qr_per_round', type: 'number', min: 1, max: 20, placeholder: '6', inputmode: 'numeric' }),
  };
  const sandboxOptions = h(
    'details',
    { class: 'sandbox-options' },
    h('summary', {}, 'Sandbox timings'),
    h(
      'div',
      { class: 'grid3' },
      field('INIT (ms)', timings.init_ms, 'how long connecting takes'),
      field('LAUNCH (ms)', timings.launch_ms, 'how long logging in takes'),
      field('First QR lifetime (ms)', timings.qr_first_ms, 'the first QR of a round'),
      field('Next QR lifetime (ms)', timings.qr_next_ms, 'each later QR'),
      field('QRs per round', timings.qr_per_round, 'before a new pairing round'),
    ),
    h('p', { class: 'hint' }, 'Empty fields keep the defaults shown.'),
  );
  engine.addEventListener('change', () => (sandboxOptions.hidden = engine.value !== 'sandbox'));
  const problem = h('div');
  const button = h('button', { class: 'primary', type: 'submit' }, 'Create channel');
  return h(
    'form',
    {
      class: 'card create',
      onsubmit: async (e) => {
        e.preventDefault();
        problem.replaceChildren();
        button.disabled = true;
        const body = { name: name.value.trim(), engine: engine.value };
        const sandbox = Object.fromEntries(Object.entries(timings).filter(([, input]) => input.value !== '').map(([k, input]) => [k, Number(input.value)]));
        if (engine.value === 'sandbox' && Object.keys(sandbox).length) body.sandbox = sandbox;
        try {
          const channel = await api('PUT', '/partner/channels', body);
          name.value = '';
          ctx.toast(`Channel ${channel.id} created`, 'ok');
          onCreated(channel);
        } catch (err) {
          problem.replaceChildren(errorBox(err));
        }
        button.disabled = false;
      },
    },
    h('h2', {}, 'New channel'),
    h('div', { class: 'grid2' }, field('Name', name), field('Engine', engine)),
    sandboxOptions,
    problem,
    h('div', { class: 'actions' }, button),
  );
}

/** The new channel's token: shown once, as the partner API answers it only on create and rotate. */
export function tokenNotice(channel, ctx) {
  const token = h('code', { class: 'token' }, channel.token);
  return h(
    'section',
    { class: 'alert ok token-notice' },
    h('div', {}, h('strong', {}, `${channel.name} (${channel.id}) is ready.`), ' Its channel token is shown only now; the gate API (', h('code', {}, channel.apiUrl), ') takes it as a Bearer token.'),
    h('div', { class: 'token-line' }, token, h('button', {
      class: 'small',
      type: 'button',
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(channel.token);
          ctx.toast('Token copied', 'ok');
        } catch {
          ctx.toast('Copy failed: select the token and copy it by hand', 'error');
        }
      },
    }, 'Copy')),
    h('a', { href: `#/channels/${channel.id}`, class: 'button primary small' }, 'Open the channel →'),
  );
}
