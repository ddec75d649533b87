// Secrets: the engines this token can see (sys/internal/ui/mounts), enabling one (kv v1/v2,
// transit), and a transit engine's keys.

import { api, list, errorsOf } from '../api.js';
import { h, field, input, errorSlot, errorBox, table, title, href } from '../dom.js';

const KINDS = [
  ['kv-v2', 'KV version 2', { type: 'kv', options: { version: '2' } }],
  ['kv-v1', 'KV version 1', { type: 'kv', options: { version: '1' } }],
  ['transit', 'Transit', { type: 'transit' }],
];

function kindLabel(m) {
  if (m.type === 'kv') return `kv v${(m.options && m.options.version) || '1'}`;
  return m.type;
}

function mountLink(path, m) {
  if (m.type === 'kv') return h('a', { href: href('kv', path, 'list') }, path);
  if (m.type === 'transit') return h('a', { href: href('transit', path) }, path);
  return path;
}

function enableForm(ctx) {
  const path = input('path', { id: 'enable-path', required: true, placeholder: 'secret' });
  const kind = h('select', { id: 'enable-type', name: 'type' }, KINDS.map(([v, label]) => h('option', { value: v }, label)));
  const description = input('description', { id: 'enable-description' });
  const errors = errorSlot();
  const form = h('form', { class: 'card', 'aria-labelledby': 'enable-heading' },
    h('h2', { id: 'enable-heading' }, 'Enable a secrets engine'),
    field('Type', kind), field('Path', path), field('Description', description), errors,
    h('button', { type: 'submit' }, 'Enable engine'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const p = path.value.trim().replace(/^\/+|\/+$/g, '');
    if (!p) {
      errors.show(['a path is required']);
      return;
    }
    const [, , body] = KINDS.find(([v]) => v === kind.value);
    try {
      await api('POST', `sys/mounts/${p}`, { ...body, description: description.value });
      ctx.go(body.type === 'kv' ? href('kv', `${p}/`, 'list') : href('transit', `${p}/`));
    } catch (e) {
      errors.show(errorsOf(e));
    }
  });
  return form;
}

/** `#/secrets`: the engines list and the enable form. */
export async function engines(ctx) {
  let listing;
  try {
    const resp = await api('GET', 'sys/internal/ui/mounts');
    const mounts = Object.entries(resp.data.secret || {}).filter(([, m]) => !['system', 'identity'].includes(m.type));
    listing = table('Secrets engines', ['Path', 'Type', 'Description'],
      mounts.map(([path, m]) => [mountLink(path, m), kindLabel(m), m.description || '']));
  } catch (e) {
    listing = errorBox(errorsOf(e));
  }
  return [title('Secrets'), listing, enableForm(ctx)];
}

/** `#/transit/<mount>`: its keys, and a form to create one. */
export async function transit(ctx) {
  const mount = ctx.params[0];
  let listing;
  try {
    const keys = await list(`${mount}keys`);
    listing = keys.length ? h('ul', { class: 'keys-list' }, keys.map((k) => h('li', {}, k))) : h('p', {}, 'No keys yet.');
  } catch (e) {
    listing = errorBox(errorsOf(e));
  }
  const name = input('name', { id: 'transit-name', required: true });
  const type = h('select', { id: 'transit-type' },
    ['aes256-gcm96', 'chacha20-poly1305', 'ed25519', 'ecdsa-p256', 'rsa-2048'].map((t) => h('option', { value: t }, t)));
  const errors = errorSlot();
  const form = h('form', { class: 'card' }, h('h2', {}, 'Create a key'),
    field('Name', name), field('Type', type), errors, h('button', { type: 'submit' }, 'Create key'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!name.value.trim()) {
      errors.show(['a name is required']);
      return;
    }
    try {
      await api('POST', `${mount}keys/${encodeURIComponent(name.value.trim())}`, { type: type.value });
      ctx.render();
    } catch (e) {
      errors.show(errorsOf(e));
    }
  });
  return [title(`Transit: ${mount}`), h('h2', {}, 'Keys'), listing, form];
}
