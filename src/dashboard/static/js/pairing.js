// Linking a phone: the current QR (fetched again on every new QR) and the pairing-code form.
import { api, channelPath } from './api.js';
import { errorBox, field, h } from './dom.js';

const LINKED = new Set(['AUTH', 'SYNC_ERROR']);
const RECONNECTING = new Set(['INIT', 'LAUNCH']);

/** The pairing card of channel `id`; follows `channel.post` and `channel.patch` events. */
export function pairingCard(id, ctx, health) {
  let status = health.status.text;
  let user = health.user;
  let seq = 0;
  let expireAt = 0;
  const qrBox = h('div', { class: 'qr-box', 'aria-live': 'polite' });
  const countdown = h('span', { class: 'countdown muted' });
  const phone = h('input', { type: 'tel', name: 'phone', inputmode: 'numeric', pattern: '\\d{7,15}', required: true, placeholder: '61371989950', autocomplete: 'off' });
  const codeOut = h('div', { class: 'pair-code-out', 'aria-live': 'polite' });
  const codeButton = h('button', { type: 'submit', class: 'primary' }, 'Get pairing code');
  const codeForm = h(
    'form',
    {
      class: 'pair-code',
      onsubmit: async (e) => {
        e.preventDefault();
        codeButton.disabled = true;
        codeOut.replaceChildren(h('p', { class: 'muted' }, 'Asking WhatsApp for a code…'));
        try {
          const { code } = await api('GET', channelPath(id, `/login/${encodeURIComponent(phone.value.trim())}`));
          codeOut.replaceChildren(
            h('div', { class: 'code', 'aria-label': 'pairing code' }, code),
            h('p', { class: 'hint' }, 'On the phone: WhatsApp → Linked devices → Link a device → Link with phone number instead, then type this code.'),
          );
        } catch (err) {
          codeOut.replaceChildren(errorBox(err));
        }
        codeButton.disabled = false;
      },
    },
    h('h3', {}, 'Or use a pairing code'),
    field('Phone number (digits only, with country code)', phone),
    h('div', { class: 'actions' }, codeButton),
    codeOut,
  );
  const pairing = h('div', { class: 'pair-grid' }, h('div', {}, qrBox, countdown), codeForm);
  const linkedNote = h('div', { class: 'linked-note' });
  const el = h('section', { class: 'card pairing' }, h('h2', {}, 'Link a phone'), linkedNote, pairing);

  const message = (text, button) => qrBox.replaceChildren(h('div', { class: 'qr-placeholder' }, h('p', {}, text), button ?? null));
  const wakeButton = (label) => h('button', { type: 'button', class: 'primary small', onclick: () => refresh(true) }, label);

  function showLinked() {
    pairing.hidden = true;
    expireAt = 0;
    qrBox.replaceChildren();
    countdown.textContent = '';
    codeOut.replaceChildren();
    const who = user ? ` to ${user.name ?? 'an account'} (+${user.id})` : '';
    const note = LINKED.has(status)
      ? h('p', { class: 'ok-text' }, `✓ Linked${who}`, status === 'SYNC_ERROR' ? '; the sync with the phone failed: log out and pair again.' : '.')
      : h('p', { class: 'muted' }, `Linked${who}; reconnecting (${status})…`);
    linkedNote.replaceChildren(note);
  }

  async function refresh(wakeup = false) {
    const mine = ++seq;
    // A linked account reconnecting needs no QR: only a new pairing round does.
    if (LINKED.has(status) || (user && RECONNECTING.has(status))) return showLinked();
    pairing.hidden = false;
    linkedNote.replaceChildren();
    codeForm.hidden = status === 'STOP' || status === 'ERROR';
    if (status === 'STOP' || status === 'ERROR' || status === 'NOT_INIT') {
      // No QR is alive in these states: the last one's countdown must not run on.
      expireAt = 0;
      countdown.textContent = '';
    }
    if (status === 'STOP') return message('The channel is stopped. Start it to pair.');
    if (status === 'ERROR') return message('The channel failed. Restart it to pair again.');
    if (status === 'NOT_INIT' && !wakeup) return message('The channel has not started yet.', wakeButton('Start pairing'));
    try {
      const qr = await api('GET', channelPath(id, `/qr?wakeup=${wakeup}`));
      if (mine !== seq) return;
      if (qr.status === 'OK') {
        expireAt = Date.now() + (qr.expire ?? 0) * 1000;
        qrBox.replaceChildren(h('img', { class: 'qr', src: qr.base64, alt: 'QR code: scan it with WhatsApp → Linked devices', width: 264, height: 264, dataset: { rowdata: qr.rowdata } }));
        tick();
      } else if (qr.status === 'TIMEOUT') {
        expireAt = 0;
        message('No one scanned the QR codes in time.', wakeButton('Get a new QR'));
      } else {
        expireAt = 0;
        message(`Waiting for a QR… (channel status ${status})`);
      }
    } catch (err) {
      if (mine !== seq) return;
      if (err.status === 409 && /authenticated/i.test(err.message)) return showLinked();
      qrBox.replaceChildren(errorBox(err));
    }
  }

  function tick() {
    if (!expireAt || pairing.hidden) return void (countdown.textContent = '');
    const left = Math.max(0, Math.ceil((expireAt - Date.now()) / 1000));
    countdown.textContent = left > 0 ? `This QR expires in ${left} s; a new one follows.` : 'Expired: waiting for the next QR…';
  }
  const ticker = setInterval(tick, 1000);
  void refresh();

  return {
    el,
    onEvent(name, data) {
      if (name === 'channel.post') {
        status = data.health.status.text;
        user = data.health.user;
        void refresh();
      } else if (name === 'channel.patch' || name === 'users.post' || name === 'users.delete') {
        if (name === 'users.post') user = data.user;
        void refresh();
      }
    },
    dispose() {
      clearInterval(ticker);
    },
  };
}
