// The channel list with live statuses, and the form that creates a channel.
import { api } from './api.js';
import { badge, errorBox, field, h } from './dom.js';
import { ago } from './format.js';

/** Renders the list at `root`; answers the cleanup for when the page changes. */
export function channelListView(root, ctx) {
  const list = h('div', { class: 'channel-list', 'aria-busy': 'true' });
  const count = h('span', { class: 'muted' });
  const created = h('div');
  root.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Channels'),
      count,
    ),
    created,
    h('section', { class: 'card' }, list),
    createForm(ctx, (channel) => {
      created.replaceChildren(tokenNotice(channel, ctx));
      void load();
    }),
  );

  const rows = new Map();
  async function load() {
    try {
      const page = await api('GET', '/partner/channels/list?count=1000');
      rows.clear();
      list.replaceChildren(...page.channels.map((c) => row(c, rows)));
      if (page.channels.length === 0) list.append(h('p', { class: 'empty' }, 'No channels yet. Create one below.'));
      count.textContent = `${page.total} channel${page.total === 1 ? '' : 's'}`;
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
    list.setAttribute('aria-busy', 'false');
  }
  void load();

  return ctx.live.on((name, data) => {
    if (name !== 'channel.post') return;
    const r = rows.get(data.channel_id);
    if (!r) return void load(); // a channel created elsewhere
    r.status.replaceWith((r.status = badge(data.health.status.text)));
    r.user.textContent = data.health.user ? `${data.health.user.name ?? ''} +${data.health.user.id}` : '';
  });
}

function row(c, rows) {
  const status = badge(c.status.text);
  const user = h('span', { class: 'user muted' });
  rows.set(c.id, { status, user });
  return h(
    'a',
    { class: 'channel-row', href: `#/channels/${c.id}`, dataset: { channel: c.id } },
    h('span', { class: 'name' }, h('strong', {}, c.name), h('code', { class: 'id' }, c.id)),
    h('span', { class: 'meta' }, h('span', { class: `chip engine-${c.engine}` }, c.engine), user, h('span', { class: 'muted created' }, `created ${ago(c.creationTS)}`)),
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
  const qrSeconds = h('input', { name: 'qr_seconds', type: 'number', min: 1, max: 600, placeholder: '60', inputmode: 'numeric' });
  const sandboxOptions = h(
    'details',
    { class: 'sandbox-options' },
    h('summary', {}, 'Sandbox timings'),
    field('QR lifetime (seconds)', qrSeconds, 'Each simulated QR lives this long before the next one replaces it.'),
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
        const qr = Number(qrSeconds.value);
        if (engine.value === 'sandbox' && qr > 0) body.sandbox = { qr_first_ms: qr * 1000, qr_next_ms: qr * 1000 };
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
