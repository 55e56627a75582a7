/* global document, window, location */
// The dashboard's shell: sign-in, the live feed, the router and toasts.
import { api, tokenStore, whenUnauthorized } from './api.js';
import { channelListView } from './channels.js';
import { channelView } from './channel.js';
import { errorBox, field, h } from './dom.js';
import { connectLive } from './live.js';
import { proxiesView } from './proxies.js';

const view = document.getElementById('view');
const liveBadge = document.getElementById('live');
const signOutButton = document.getElementById('signout');
const toasts = document.getElementById('toasts');
const navLinks = [document.getElementById('nav-channels'), document.getElementById('nav-proxies')];

/** A short message in the corner: 'ok', 'error' or 'info'. */
function toast(text, kind = 'info', details) {
  const el = h('div', { class: `toast ${kind}` }, h('div', {}, text), details ? h('div', { class: 'details' }, details) : null);
  toasts.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

const ctx = { live: null, toast };
let leave = null;

function setLive(state) {
  liveBadge.dataset.state = state;
  liveBadge.querySelector('.live-text').textContent = state;
}

const ROUTES = [
  [/^#\/channels\/([A-Z]+-[A-Z0-9]{5})(?:\/(settings|deliveries|messages))?$/, (m) => channelView(view, ctx, m[1], m[2] ?? 'overview')],
  [/^#\/proxies$/, () => proxiesView(view, ctx)],
  [/^(#\/?)?$/, () => channelListView(view, ctx)],
];

function route() {
  if (!ctx.live) return;
  leave?.();
  leave = null;
  window.scrollTo(0, 0);
  const hash = location.hash;
  const section = hash.startsWith('#/proxies') ? '#/proxies' : '#/';
  for (const a of navLinks) {
    if (a.getAttribute('href') === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  for (const [pattern, render] of ROUTES) {
    const m = pattern.exec(hash);
    if (m) {
      leave = render(m) ?? null;
      return;
    }
  }
  view.replaceChildren(h('section', { class: 'card' }, h('h2', {}, 'Not found'), h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Back to the channels'))));
}

function startSession() {
  ctx.live = connectLive(setLive);
  ctx.live.on((name, data) => {
    if (name === 'alerts.post') toast(`${data.channel_id}: ${data.alert.kind.replace(/_/g, ' ')}`, 'error', data.alert.detail);
  });
  liveBadge.hidden = false;
  signOutButton.hidden = false;
  for (const a of navLinks) a.hidden = false;
  route();
}

function signOut(reason) {
  leave?.();
  leave = null;
  ctx.live?.close();
  ctx.live = null;
  tokenStore.clear();
  liveBadge.hidden = true;
  signOutButton.hidden = true;
  for (const a of navLinks) a.hidden = true;
  loginView(reason);
}

function loginView(reason) {
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true, placeholder: 'WAGATE_ADMIN_TOKEN', spellcheck: 'false' });
  const remember = h('input', { type: 'checkbox', name: 'remember' });
  const problem = h('div', {}, reason ? errorBox({ message: reason }) : null);
  const button = h('button', { class: 'primary', type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'card login',
      onsubmit: async (e) => {
        e.preventDefault();
        const token = input.value.trim();
        button.disabled = true;
        problem.replaceChildren();
        try {
          await api('GET', '/partner/channels/list?count=1', undefined, { token });
          tokenStore.save(token, remember.checked);
          startSession();
        } catch (err) {
          const message =
            err.status === 403 ? 'That is a channel token. The dashboard needs the admin token.' : err.status === 401 ? 'That token is not the admin token.' : err.message;
          problem.replaceChildren(errorBox({ message, details: err.status === 401 || err.status === 403 ? undefined : err.details }));
          button.disabled = false;
          input.select();
        }
      },
    },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Use the gateway’s admin token (WAGATE_ADMIN_TOKEN, or the one printed on first start).'),
    field('Admin token', input),
    h('label', { class: 'check' }, remember, ' Remember on this device'),
    problem,
    h('div', { class: 'actions' }, button),
  );
  view.replaceChildren(form);
  input.focus();
}

whenUnauthorized(() => signOut('The gateway refused the admin token. Sign in again.'));
signOutButton.addEventListener('click', () => signOut());
window.addEventListener('hashchange', route);

const saved = tokenStore.get();
if (saved) startSession();
else loginView();
