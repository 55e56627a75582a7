// The sandbox engine's controls: make the simulated phone and network do things on demand.
import { api, channelPath } from './api.js';
import { field, h } from './dom.js';

const FAIL_REASONS = ['transient', 'restart_required', 'logged_out', 'replaced', 'banned', 'forbidden'];

/** The sandbox card of channel `id` (sandbox channels only). */
export function sandboxCard(id, ctx) {
  const run = async (button, control, body) => {
    button.disabled = true;
    try {
      await api('POST', channelPath(id, `/sandbox/${control}`), body);
      ctx.toast(`Sandbox: ${control} done`, 'ok');
    } catch (err) {
      ctx.toast(`Sandbox ${control}: ${err.message}`, 'error', err.details);
    }
    button.disabled = false;
  };
  const num = (name, value, min, max) => h('input', { type: 'number', name, value, min, max, inputmode: 'numeric' });
  const control = (name, label, help, inputs, body) => {
    const button = h('button', { type: 'submit', class: 'small', dataset: { control: name } }, label);
    return h(
      'form',
      {
        class: 'control',
        onsubmit: (e) => {
          e.preventDefault();
          void run(button, name, body?.());
        },
      },
      h('div', { class: 'control-text' }, h('strong', {}, label), h('span', { class: 'hint' }, help)),
      inputs.length ? h('div', { class: 'control-inputs' }, ...inputs) : null,
      button,
    );
  };

  const scanName = h('input', { name: 'user_name', placeholder: 'Sandbox User', maxlength: 100 });
  const blipMs = num('duration_ms', 2500, 0, 600000);
  const flapTimes = num('times', 3, 1, 100);
  const flapEvery = num('interval_ms', 5000, 100, 3600000);
  const phase = h('select', { name: 'phase' }, h('option', {}, 'INIT'), h('option', {}, 'LAUNCH'));
  const reason = h('select', { name: 'reason' }, ...FAIL_REASONS.map((r) => h('option', {}, r)));
  const from = h('input', { name: 'from', type: 'tel', inputmode: 'numeric', value: '61400000001', pattern: '\\d{7,15}' });
  const text = h('input', { name: 'body', value: 'Hello from the sandbox', maxlength: 4096 });

  return {
    el: h(
      'section',
      { class: 'card sandbox' },
      h('h2', {}, 'Sandbox controls'),
      h('p', { class: 'muted' }, 'A simulated phone and network: every status and fault on demand.'),
      h(
        'div',
        { class: 'controls' },
        control('scan', 'Scan', 'The phone scans the QR (or confirms the pairing code).', [field('Account name', scanName)], () =>
          scanName.value.trim() ? { user: { name: scanName.value.trim() } } : {},
        ),
        control('blip', 'Blip', 'A brief drop: AUTH → INIT → LAUNCH → AUTH.', [field('Lasting (ms)', blipMs)], () => ({ duration_ms: Number(blipMs.value) })),
        control('flap', 'Flap', 'Several blips in a row (3 in 15 min raise an alert).', [field('Times', flapTimes), field('Every (ms)', flapEvery)], () => ({
          times: Number(flapTimes.value),
          interval_ms: Number(flapEvery.value),
        })),
        control('silence', 'Silence', 'The network carries nothing and nothing closes: lost within 36 s at rest, 6 s after a send.', []),
        control('unlink', 'Unlink', 'The phone removes this device: logged out, a new pairing round.', []),
        control('sync_error', 'Sync error', 'The sync with the phone fails: SYNC_ERROR.', []),
        control('stuck', 'Stuck start', 'The next start hangs; the watchdog must act.', [field('Phase', phase)], () => ({ phase: phase.value })),
        control('fail', 'Disconnect', 'A disconnect of the chosen class.', [field('Reason', reason)], () => ({ reason: reason.value })),
        control('inbound', 'Inbound message', 'A text arrives (messages.post).', [field('From', from), field('Text', text)], () => ({ from: from.value.trim(), body: text.value })),
      ),
    ),
  };
}
