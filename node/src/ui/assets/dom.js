// Small DOM helpers: elements are built with createElement and textContent only (never
// innerHTML), so nothing a server or user typed can become markup or script.

let counter = 0;

/** A fresh element id with `prefix`. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * `h('button', {class: 'x', onclick: fn}, 'Save')`: attributes starting with `on` become event
 * listeners (added in script, which the CSP allows; inline handlers it would not).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'value') {
      el.value = v;
    } else if (k === 'checked') {
      el.checked = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace everything in `el` with `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form field; `input` gets an id if it has none. */
export function field(label, input, hint) {
  if (!input.id) input.id = uid('f');
  const hintEl = hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl);
}

/** A text input (`type` may be password, number, ...). */
export function input(name, attrs = {}) {
  return h('input', { name, id: attrs.id || uid(name), type: 'text', autocomplete: 'off', ...attrs });
}

/** The server's (or the form's) `errors`, as a list a screen reader announces. */
export function errorBox(errors) {
  const list = Array.isArray(errors) ? errors : [String(errors)];
  return h('div', { class: 'errors', role: 'alert' },
    h('ul', {}, list.length
      ? list.map((e) => h('li', { class: String(e).includes('\n') ? 'multiline' : null }, e))
      : h('li', {}, 'request failed')));
}

/** A box that shows errors, or nothing: `box.show(errors)`, `box.clear()`. */
export function errorSlot() {
  const slot = h('div', { class: 'error-slot', 'aria-live': 'polite' });
  slot.show = (errors) => replace(slot, errorBox(errors));
  slot.clear = () => replace(slot);
  return slot;
}

/** A short confirmation line. */
export function notice(text) {
  return h('p', { class: 'notice', role: 'status' }, text);
}

/** A table with a header row; `rows` are arrays of cells (strings or nodes). */
export function table(caption, headers, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

/** A page heading that takes focus after navigation (for keyboard and screen-reader users). */
export function title(text) {
  return h('h1', { tabindex: '-1', id: 'page-title' }, text);
}

/** A button that asks once more before it runs `action` (no blocking `confirm()` dialog). */
export function confirmButton(label, action) {
  const btn = h('button', { type: 'button', class: 'danger' }, label);
  let armed = false;
  btn.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      btn.textContent = `Confirm: ${label.toLowerCase()}`;
      return;
    }
    btn.disabled = true;
    try {
      await action();
    } finally {
      btn.disabled = false;
      armed = false;
      btn.textContent = label;
    }
  });
  return btn;
}

/** Comma-separated text as a list (empty items dropped). */
export function splitList(text) {
  return String(text || '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** `#/a/b` links: each segment URI-encoded. */
export function href(...segments) {
  return `#/${segments.map((s) => encodeURIComponent(s)).join('/')}`;
}
