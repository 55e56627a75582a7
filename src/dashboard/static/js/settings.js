// The webhook settings editor: the channel's settings as a form, saved with PATCH.
import { api, channelPath } from './api.js';
import { errorBox, field, h } from './dom.js';

const MODES = [
  ['body', 'body: POST url'],
  ['path', 'path: POST url/<type>/<event>'],
  ['method', 'method: <EVENT> url/<type>'],
];

/** The settings tab of channel `id`. */
export function settingsTab(id, ctx) {
  const el = h('section', { class: 'card settings' }, h('p', { class: 'muted' }, 'Loading settings…'));
  (async () => {
    try {
      const [settings, catalogue] = await Promise.all([api('GET', channelPath(id, '/settings')), api('GET', channelPath(id, '/settings/events?extensions=true'))]);
      el.replaceChildren(editor(id, ctx, settings, catalogue));
    } catch (err) {
      el.replaceChildren(errorBox(err));
    }
  })();
  return { el };
}

function editor(id, ctx, settings, catalogue) {
  const num = (name, value, min, max) => h('input', { type: 'number', name, value, min, max, required: true, inputmode: 'numeric' });
  const backoff = num('callback_backoff_delay_ms', settings.callback_backoff_delay_ms, 3000, 15000);
  const maxBackoff = num('max_callback_backoff_delay_ms', settings.max_callback_backoff_delay_ms, 600000, 3600000);
  const hold = num('send_hold_ms', settings.send_hold_ms, 0, 60000);
  const persist = h('input', { type: 'checkbox', name: 'callback_persist', checked: settings.callback_persist });
  const proxy = h('input', { name: 'proxy', value: settings.proxy, placeholder: 'socks5://user:pass@host:1080', autocomplete: 'off' });
  const hooks = h('div', { class: 'webhooks' });
  const result = h('div', { 'aria-live': 'polite' });
  const editors = [];

  const addHook = (hook) => {
    const w = webhookEditor(id, ctx, hook, catalogue, () => {
      editors.splice(editors.indexOf(w), 1);
      w.el.remove();
      empty.hidden = editors.length > 0;
    });
    editors.push(w);
    hooks.append(w.el);
    empty.hidden = true;
  };
  const empty = h('p', { class: 'muted empty' }, 'No webhooks: events are kept, but sent nowhere.');
  hooks.append(empty);
  for (const hook of settings.webhooks) addHook(hook);

  const save = h('button', { type: 'submit', class: 'primary' }, 'Save settings');
  return h(
    'form',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        result.replaceChildren();
        let webhooks;
        try {
          webhooks = editors.map((w) => w.value());
        } catch (problem) {
          return result.replaceChildren(errorBox({ message: 'Check the webhooks', details: problem.message }));
        }
        const patch = {
          callback_backoff_delay_ms: Number(backoff.value),
          max_callback_backoff_delay_ms: Number(maxBackoff.value),
          send_hold_ms: Number(hold.value),
          callback_persist: persist.checked,
          proxy: proxy.value.trim(),
          webhooks,
        };
        save.disabled = true;
        for (const w of editors) w.showProblem(null);
        try {
          const answer = await api('PATCH', channelPath(id, '/settings'), patch);
          for (const w of editors) w.saved();
          const changed = answer.changes.length ? `changed: ${answer.changes.join(', ')}` : 'nothing changed';
          result.replaceChildren(h('div', { class: 'alert ok', role: 'status' }, h('strong', {}, 'Saved'), ` (${changed})`));
          ctx.toast('Settings saved', 'ok');
        } catch (err) {
          // A refused webhook field shows on that field: `body.webhooks[1].url: webhook url refused: …`.
          const m = /webhooks\[(\d+)\]\.(\w+): (.*?)(;|$)/.exec(err.details ?? '');
          const target = m ? editors[Number(m[1])] : null;
          if (target && target.showProblem(m[2], m[3])) result.replaceChildren(errorBox({ message: err.message, details: `webhook ${Number(m[1]) + 1}: see the ${m[2]} field` }));
          else result.replaceChildren(errorBox(err));
        }
        save.disabled = false;
      },
    },
    h('h2', {}, 'Webhooks'),
    hooks,
    h('button', { type: 'button', class: 'small', onclick: () => addHook(null) }, '+ Add webhook'),
    h('h2', {}, 'Delivery'),
    h(
      'div',
      { class: 'grid3' },
      field('Retry delay (ms)', backoff, 'n × this after the n-th failure; 3000–15000'),
      field('Longest retry delay (ms)', maxBackoff, '600000–3600000'),
      field('Send hold (ms)', hold, 'how long a send waits through a reconnect; 0–60000'),
    ),
    h('label', { class: 'check' }, persist, ' Keep retrying failed deliveries (callback_persist)'),
    field('Proxy', proxy, 'socks5 URL for the WhatsApp connection, “auto” for the healthiest proxy of the pool, or empty'),
    result,
    h('div', { class: 'actions' }, save),
  );
}

function webhookEditor(id, ctx, hook, catalogue, onRemove) {
  const url = h('input', { type: 'url', name: 'url', value: hook?.url ?? '', required: true, placeholder: 'https://example.com/whatsapp' });
  const mode = h('select', { name: 'mode' }, ...MODES.map(([v, label]) => h('option', { value: v, selected: (hook?.mode ?? 'body') === v }, label)));
  const subscribed = new Set((hook?.events ?? [{ type: 'messages', method: 'post' }]).map((e) => `${e.type}.${e.method}`));
  const boxes = catalogue.map((e) => {
    const name = `${e.type}.${e.method}`;
    return { name, e, box: h('input', { type: 'checkbox', value: name, checked: subscribed.has(name) }) };
  });
  const maxAge = h('input', { type: 'number', name: 'webhook_max_age_seconds', min: 15, max: 172800, value: hook?.webhook_max_age_seconds ?? 172800, inputmode: 'numeric' });
  const secret = h('input', { type: 'password', name: 'secret', value: hook?.secret ?? '', placeholder: 'whsec_… (optional)', autocomplete: 'off' });
  const ordered = h('input', { type: 'checkbox', name: 'ordered', checked: hook?.ordered ?? true });
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: !hook?.disabled });
  const headers = h('textarea', { name: 'headers', rows: 2, placeholder: 'X-Api-Key: abc123', spellcheck: 'false' });
  headers.value = Object.entries(hook?.headers ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');

  const legend = h('legend', {}, hook ? 'Webhook' : 'New webhook');
  const urlProblem = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const testOut = h('div', { class: 'test-out', 'aria-live': 'polite' });
  const testButton = h('button', { type: 'button', class: 'small', onclick: () => void test() }, 'Test');
  const el = h(
    'fieldset',
    { class: 'webhook' },
    legend,
    hook?.disabled ? h('p', { class: 'alert warn' }, 'Disabled: the receiver answered 410 Gone. Tick “Enabled” and save to send to it again.') : null,
    field('URL', url),
    urlProblem,
    h('div', { class: 'grid2' }, field('Mode', mode), field('Give up after (seconds)', maxAge, '15–172800; the delivery is then kept as failed')),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Events'), h('div', { class: 'event-boxes' }, ...boxes.map(({ name, box }) => h('label', { class: 'check' }, box, ` ${name}`)))),
    field('Signing secret', secret, 'Standard Webhooks key; leave empty to send unsigned'),
    field('Extra headers (one “Name: value” a line, at most 5)', headers),
    h('div', { class: 'checks' }, h('label', { class: 'check' }, ordered, ' Deliver in event order'), h('label', { class: 'check' }, enabled, ' Enabled')),
    h('div', { class: 'actions' }, testButton, h('button', { type: 'button', class: 'small danger', onclick: onRemove }, 'Remove webhook')),
    testOut,
  );

  /** One signed test event to the URL as it stands in the form (saved or not). */
  async function test() {
    testButton.disabled = true;
    testOut.replaceChildren(h('p', { class: 'muted' }, 'Sending a test event…'));
    try {
      const v = editor.value();
      const body = { url: v.url, mode: v.mode, type: v.events[0]?.type ?? 'messages', headers: v.headers };
      if (v.secret) body.secret = v.secret;
      const r = await api('POST', channelPath(id, '/settings/webhook_test'), body);
      const answer = r.status ? `HTTP ${r.status}` : r.error ?? 'no answer';
      testOut.replaceChildren(h('p', { class: `alert ${r.success ? 'ok' : 'error'}` }, r.success ? `✓ The receiver answered ${answer}` : `✗ Not delivered: ${answer}${r.status && r.error ? ` (${r.error})` : ''}`, ` in ${r.durationMs ?? '?'} ms`));
    } catch (err) {
      testOut.replaceChildren(errorBox(err));
    }
    testButton.disabled = false;
  }

  const editor = {
    el,
    /** After a successful save: the webhook is no longer new. */
    saved() {
      legend.textContent = 'Webhook';
    },
    /** Shows a refused field's problem on the field (null clears); answers whether it could. */
    showProblem(name, text) {
      urlProblem.hidden = name !== 'url';
      url.setAttribute('aria-invalid', String(name === 'url'));
      urlProblem.textContent = name === 'url' ? text : '';
      if (name === 'url') url.focus();
      return name === 'url';
    },
    /** The webhook as PATCH /settings takes it; throws with a readable problem. */
    value() {
      const out = {
        url: url.value.trim(),
        mode: mode.value,
        events: boxes.filter((b) => b.box.checked).map(({ e }) => ({ type: e.type, method: e.method })),
        webhook_max_age_seconds: Number(maxAge.value),
        ordered: ordered.checked,
        headers: {},
      };
      if (!enabled.checked || hook?.disabled !== undefined) out.disabled = !enabled.checked;
      for (const line of headers.value.split('\n').map((l) => l.trim()).filter(Boolean)) {
        const colon = line.indexOf(':');
        if (colon < 1) throw new Error(`${out.url}: header line "${line}" needs "Name: value"`);
        out.headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      }
      if (secret.value.trim()) out.secret = secret.value.trim();
      return out;
    },
  };
  return editor;
}
