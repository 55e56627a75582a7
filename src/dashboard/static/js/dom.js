/* global document, Node */
// The dashboard's DOM builder: elements from plain values, so no view writes HTML strings.

/** `h('button', {class: 'primary', onclick}, 'Save')`: an element with properties, listeners and children. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') Object.assign(el.style, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** A labelled form field: the label wraps its control, so clicking the text focuses it. */
export function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), control, hint ? h('span', { class: 'hint' }, hint) : null);
}

/** A status badge: the colour comes from the stylesheet's `.st-<TEXT>` rule. */
export function badge(text) {
  return h('span', { class: `badge st-${text}`, dataset: { status: text } }, text);
}

/** An error box showing Whapi's `message` and `details`. */
export function errorBox(err) {
  return h('div', { class: 'alert error', role: 'alert' }, h('strong', {}, err.message ?? String(err)), err.details ? h('div', { class: 'details' }, err.details) : null);
}
