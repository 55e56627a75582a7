// A channel's messages, newest first, and a box that sends a test text.
import { api, channelPath } from './api.js';
import { errorBox, field, h } from './dom.js';
import { dateTime } from './format.js';

const PAGE = 50;

/** The messages tab of channel `id`; new messages arrive with `messages.post` events. */
export function messagesTab(id) {
  const list = h('div', { class: 'messages', 'aria-live': 'polite' });
  const to = h('input', { name: 'to', type: 'tel', required: true, placeholder: '4915112345678 or a chat id', autocomplete: 'off' });
  const text = h('textarea', { name: 'body', rows: 2, required: true, maxlength: 4096, placeholder: 'A test message' });
  const out = h('div', { 'aria-live': 'polite' });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send');
  let pending = null;

  async function load() {
    try {
      const page = await api('GET', channelPath(id, `/messages/list?count=${PAGE}`));
      list.replaceChildren(
        page.messages.length
          ? h('table', { class: 'table' }, h('thead', {}, h('tr', {}, ...['Time', 'Chat', 'Direction', 'Text', 'Status'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, ...page.messages.map(messageRow)))
          : h('p', { class: 'empty muted' }, 'No messages yet.'),
        page.total > page.messages.length ? h('p', { class: 'muted' }, `The newest ${page.messages.length} of ${page.total}.`) : null,
      );
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
  }

  const form = h(
    'form',
    {
      class: 'send-box',
      onsubmit: async (e) => {
        e.preventDefault();
        send.disabled = true;
        out.replaceChildren();
        try {
          const r = await api('POST', channelPath(id, '/messages/text'), { to: to.value.trim(), body: text.value });
          out.replaceChildren(h('p', { class: 'alert ok' }, `Sent: ${r.message.id} to ${r.message.chat_id} (${r.message.status})`));
          text.value = '';
          await load();
        } catch (err) {
          out.replaceChildren(errorBox(err));
        }
        send.disabled = false;
      },
    },
    h('h2', {}, 'Send a test text'),
    h('div', { class: 'grid2' }, field('To', to), field('Text', text)),
    out,
    h('div', { class: 'actions' }, send),
  );
  void load();

  return {
    el: h('div', {}, h('section', { class: 'card' }, form), h('section', { class: 'card' }, h('h2', {}, 'Messages'), list)),
    onEvent(name) {
      if (name !== 'messages.post' && name !== 'statuses.post') return;
      clearTimeout(pending);
      pending = setTimeout(load, 300);
    },
    dispose() {
      clearTimeout(pending);
    },
  };
}

function messageRow(m) {
  const body = m.text?.body ?? `(${m.type})`;
  return h(
    'tr',
    { dataset: { message: m.id } },
    h('td', { dataset: { label: 'Time' } }, dateTime(m.timestamp * 1000)),
    h('td', { dataset: { label: 'Chat' } }, h('code', {}, m.chat_id)),
    h('td', { dataset: { label: 'Direction' } }, m.from_me ? 'sent' : 'received'),
    h('td', { dataset: { label: 'Text' }, class: 'message-text' }, body),
    h('td', { dataset: { label: 'Status' } }, m.status ?? ''),
  );
}
