/* global confirm */
// The delivery log: filter by status and time, page through it, replay a delivery.
import { api, channelPath } from './api.js';
import { errorBox, field, h } from './dom.js';
import { ago, dateTime, duration } from './format.js';

const PAGE = 25;
const POLL_MS = 2000;
const SINCE = [
  ['', 'any time'],
  ['3600000', 'last hour'],
  ['86400000', 'last 24 hours'],
  ['604800000', 'last 7 days'],
];

/** `2026-12-01 14:03:27 (in 4 s)`: when a pending delivery goes again. */
function nextAttempt(at, now = Date.now()) {
  return `${dateTime(at)} (${at > now ? `in ${duration(at - now)}` : 'due now'})`;
}

/** The deliveries tab of channel `id`. */
export function deliveriesTab(id, ctx) {
  const status = h('select', { name: 'status' }, h('option', { value: '' }, 'all'), ...['pending', 'delivered', 'failed', 'cancelled'].map((s) => h('option', { value: s }, s)));
  const since = h('select', { name: 'since' }, ...SINCE.map(([v, label]) => h('option', { value: v }, label)));
  const table = h('div', { class: 'deliveries', 'aria-live': 'polite' });
  const pager = h('div', { class: 'pager' });
  let offset = 0;
  let fresh = null;
  // Details open by delivery id, and their boxes: they stay open (and refresh) across reloads.
  const opened = new Map();
  let poll = null;
  let pending = null;

  async function load() {
    clearTimeout(poll);
    const q = new URLSearchParams({ count: String(PAGE), offset: String(offset) });
    if (status.value) q.set('status', status.value);
    if (since.value) q.set('since', String(Date.now() - Number(since.value)));
    try {
      const page = await api('GET', channelPath(id, `/deliveries?${q}`));
      const reopen = [];
      table.replaceChildren(page.deliveries.length ? render(page.deliveries, reopen) : h('p', { class: 'empty muted' }, 'No deliveries match.'));
      for (const [d, tr, button] of reopen) void showDetail(d, tr, button);
      renderPager(page);
      // Deliveries have no events of their own: while one is on its way, look again soon.
      if (page.deliveries.some((d) => d.status === 'pending')) poll = setTimeout(load, POLL_MS);
    } catch (err) {
      table.replaceChildren(errorBox(err));
    }
  }

  function renderPager(page) {
    const last = Math.min(page.total, offset + page.count);
    pager.replaceChildren(
      // Past 10,000 matches the count is capped: "of 10000+".
      h('span', { class: 'muted' }, page.total ? `${offset + 1}–${last} of ${page.total}${page.total_capped ? '+' : ''}` : ''),
      h('button', { type: 'button', class: 'small', disabled: offset === 0, onclick: () => ((offset = Math.max(0, offset - PAGE)), load()) }, '← Newer'),
      h('button', { type: 'button', class: 'small', disabled: last >= page.total && !page.total_capped, onclick: () => ((offset += PAGE), load()) }, 'Older →'),
    );
  }

  /** Replays every failed delivery created in the chosen range (any time: all of them). */
  async function replayFailed(button) {
    const until = Date.now();
    const from = since.value ? until - Number(since.value) : 0;
    const range = since.value ? SINCE.find(([v]) => v === since.value)?.[1] : 'any time';
    if (!confirm(`Replay every failed delivery created ${range === 'any time' ? 'at any time' : `in the ${range}`}?`)) return;
    button.disabled = true;
    try {
      const r = await api('POST', channelPath(id, '/deliveries/replay'), { since: from, until: until + 1, status: 'failed' });
      ctx.toast(r.replayed ? `${r.replayed} failed deliver${r.replayed === 1 ? 'y' : 'ies'} replayed` : 'No failed deliveries in that range', 'ok');
      status.value = '';
      offset = 0;
      await load();
    } catch (err) {
      ctx.toast(`Replay failed: ${err.message}`, 'error', err.details);
    }
    button.disabled = false;
  }

  function toggleDetail(d, tr, button) {
    if (opened.has(d.id)) {
      opened.delete(d.id);
      if (tr.nextElementSibling?.classList.contains('detail-row')) tr.nextElementSibling.remove();
      button.textContent = 'Details';
      return;
    }
    void showDetail(d, tr, button);
  }

  /** The delivery in full, in a row under it: payload, headers (masked), answers, times. */
  async function showDetail(d, tr, button) {
    button.textContent = 'Hide';
    // A reload keeps what was shown until the fresh answer replaces it.
    const box = opened.get(d.id) ?? h('div', { class: 'delivery-detail' }, h('p', { class: 'muted' }, 'Loading…'));
    opened.set(d.id, box);
    tr.after(h('tr', { class: 'detail-row' }, h('td', { colspan: 8 }, box)));
    try {
      const x = await api('GET', channelPath(id, `/deliveries/${d.id}`));
      const v = x.delivery;
      const facts = [
        ['Created', dateTime(v.created_at)],
        ['Attempts', String(v.attempts)],
        ['Last answer', v.last_status ? `HTTP ${v.last_status}` : v.attempts ? 'no HTTP answer' : 'not tried yet'],
        ['Last error', v.last_error ?? '–'],
        ['Next attempt', v.status === 'pending' ? nextAttempt(v.next_attempt_at) : '–'],
        ['Delivered', v.delivered_at ? dateTime(v.delivered_at) : '–'],
        ['Webhook id', v.webhook_id],
      ];
      box.replaceChildren(
        h('dl', { class: 'facts-list' }, ...facts.flatMap(([k, val]) => [h('dt', {}, k), h('dd', {}, val)])),
        h('h3', {}, 'Attempts'),
        attemptsTable(x.attempt_log, v.attempts),
        h('h3', {}, 'Headers'),
        h('table', { class: 'table headers' }, h('tbody', {}, ...Object.entries(x.headers).map(([k, val]) => h('tr', {}, h('th', { scope: 'row' }, h('code', {}, k)), h('td', {}, h('code', {}, val)))))),
        h('h3', {}, 'Payload'),
        h('pre', { class: 'payload' }, JSON.stringify(x.payload, null, 2)),
      );
    } catch (err) {
      box.replaceChildren(errorBox(err));
    }
  }

  /** Each attempt, the latest first: when, the receiver's status, its first bytes, how long. */
  function attemptsTable(log, total) {
    if (!log.length) return h('p', { class: 'muted' }, 'Not tried yet.');
    const answer = (a) => {
      if (a.answer === null) return h('span', { class: 'muted' }, a.duration_ms === null ? 'not sent' : 'no answer');
      return a.answer === '' ? h('span', { class: 'muted' }, '(empty body)') : h('pre', { class: 'answer' }, a.answer);
    };
    return h(
      'div',
      {},
      h(
        'table',
        { class: 'table attempts' },
        h('thead', {}, h('tr', {}, ...['#', 'At', 'Answer', 'First bytes of the answer', 'Took'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          {},
          ...log.map((a) =>
            h(
              'tr',
              { dataset: { attempt: a.attempt } },
              h('td', {}, String(a.attempt)),
              h('td', {}, h('time', { datetime: new Date(a.at).toISOString() }, dateTime(a.at))),
              h('td', { class: 'attempt-status' }, a.status !== null ? h('code', {}, `HTTP ${a.status}`) : null, a.error ? h('div', { class: 'muted small-text' }, a.error) : null),
              h('td', {}, answer(a)),
              h('td', {}, a.duration_ms === null ? '–' : duration(a.duration_ms)),
            ),
          ),
        ),
      ),
      total > log.length ? h('p', { class: 'muted small-text' }, `The latest ${log.length} of ${total} attempts.`) : null,
    );
  }

  async function replay(d, button) {
    button.disabled = true;
    try {
      const copy = await api('POST', channelPath(id, `/deliveries/${d.id}/replay`));
      ctx.toast(`Delivery #${d.id} replayed as #${copy.id}`, 'ok');
      fresh = copy.id;
      // Show the copy, whatever the filter was.
      status.value = '';
      offset = 0;
      await load();
    } catch (err) {
      ctx.toast(`Replay failed: ${err.message}`, 'error', err.details);
      button.disabled = false;
    }
  }

  /** The table of `rows`; rows whose details are open go into `reopen`. */
  function render(rows, reopen) {
    const head = ['#', 'Event', 'Webhook', 'Status', 'Attempts', 'Last answer', 'Created', ''];
    return h(
      'table',
      { class: 'table' },
      h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        ...rows.map((d) => {
          const button = h('button', { type: 'button', class: 'small', onclick: () => replay(d, button) }, 'Replay');
          const details = h('button', { type: 'button', class: 'small ghost', onclick: () => toggleDetail(d, tr, details) }, 'Details');
          const cell = (label, ...content) => h('td', { dataset: { label } }, ...content);
          const tr = h(
            'tr',
            { class: d.id === fresh ? 'fresh' : '', dataset: { delivery: d.id, status: d.status } },
            cell('#', h('code', {}, `#${d.id}`), d.replay_of ? h('div', { class: 'muted small-text' }, `replay of #${d.replay_of}`) : null),
            cell('Event', h('code', {}, `${d.event.type}.${d.event.event}`)),
            cell('Webhook', h('span', { class: 'url', title: d.url }, d.url), h('span', { class: 'muted small-text' }, ` (${d.mode})`)),
            cell('Status', h('span', { class: `pill dl-${d.status}` }, d.status)),
            cell('Attempts', String(d.attempts)),
            cell('Last answer', d.last_status ? h('code', {}, String(d.last_status)) : null, d.last_error ? h('div', { class: 'muted small-text' }, d.last_error) : d.last_status ? null : '–'),
            cell('Created', h('time', { datetime: new Date(d.created_at).toISOString(), title: ago(d.created_at) }, dateTime(d.created_at))),
            cell('', h('div', { class: 'row-actions' }, details, button)),
          );
          if (opened.has(d.id)) reopen.push([d, tr, details]);
          return tr;
        }),
      ),
    );
  }

  const reload = () => {
    offset = 0;
    void load();
  };
  status.addEventListener('change', reload);
  since.addEventListener('change', reload);
  void load();

  return {
    el: h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'filters' },
        field('Status', status),
        field('Created', since),
        h('button', { type: 'button', class: 'small', onclick: () => load() }, 'Refresh'),
        h('button', { type: 'button', class: 'small replay-failed', onclick: (e) => replayFailed(e.currentTarget) }, 'Replay all failed'),
      ),
      table,
      pager,
    ),
    onEvent() {
      // A new event may have queued deliveries: look once it has settled.
      clearTimeout(pending);
      pending = setTimeout(load, 300);
    },
    dispose() {
      clearTimeout(poll);
      clearTimeout(pending);
    },
  };
}
