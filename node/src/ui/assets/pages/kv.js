// A KV engine (v1 or v2, told by sys/internal/ui/mounts/<mount>): browse folders, read a secret
// with its values masked until revealed, copy, create and edit as key/value rows or JSON; for v2
// its versions (delete, undelete, destroy) and metadata.

import { api, list, errorsOf } from '../api.js';
import { h, replace, field, input, errorSlot, errorBox, notice, table, title, href, confirmButton } from '../dom.js';
import { metadataSection, versionsSection } from './kv_versions.js';

const segs = (p) => p.split('/').filter(Boolean);

function kvLink(kv, mode, path, label) {
  return h('a', { href: href('kv', kv.mount, mode, ...segs(path)) }, label);
}

function crumbs(kv, path) {
  const items = [h('li', {}, kvLink(kv, 'list', '', kv.mount))];
  let acc = '';
  for (const s of segs(path)) {
    acc += `${s}/`;
    items.push(h('li', {}, kvLink(kv, 'list', acc, s)));
  }
  return h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('ol', {}, items));
}

/** `#/kv/<mount>/<list|show|version|edit|new>/<path>` */
export async function page(ctx) {
  const [mount, mode = 'list', ...tail] = ctx.params;
  const rest = tail.filter(Boolean);
  const info = await api('GET', `sys/internal/ui/mounts/${mount}`);
  const v2 = Boolean(info.data.options && info.data.options.version === '2');
  const kv = {
    mount,
    v2,
    data: (p) => (v2 ? `${mount}data/${p}` : `${mount}${p}`),
    meta: (p) => (v2 ? `${mount}metadata/${p}` : `${mount}${p}`),
    op: (op, p) => `${mount}${op}/${p}`,
  };
  if (mode === 'show') return show(ctx, kv, rest.join('/'));
  if (mode === 'version') return show(ctx, kv, rest.slice(1).join('/'), rest[0]);
  if (mode === 'edit') return edit(ctx, kv, rest.join('/'), false);
  if (mode === 'new') return edit(ctx, kv, rest.length ? `${rest.join('/')}/` : '', true);
  return browse(ctx, kv, rest.length ? `${rest.join('/')}/` : '');
}

async function browse(ctx, kv, folder) {
  const head = [title(`${kv.mount}${folder}`), h('p', { class: 'muted' }, kv.v2 ? 'KV version 2' : 'KV version 1'), crumbs(kv, folder)];
  const create = h('p', {}, h('a', { class: 'button', href: href('kv', kv.mount, 'new', ...segs(folder)) }, 'Create secret'));
  let keys;
  try {
    keys = await list(kv.meta(folder));
  } catch (e) {
    return [...head, errorBox(errorsOf(e))];
  }
  const items = keys.map((k) => h('li', {}, k.endsWith('/')
    ? kvLink(kv, 'list', folder + k, `${k}`)
    : kvLink(kv, 'show', folder + k, k)));
  const body = keys.length ? h('ul', { class: 'kv-list', 'aria-label': 'Secrets' }, items) : h('p', {}, 'No secrets here yet.');
  return [...head, create, body];
}

/** One value cell: masked until revealed, with copy. */
function valueCell(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const shown = h('code', { class: 'masked' }, '••••••••');
  const reveal = h('button', { type: 'button', class: 'secondary small', 'aria-pressed': 'false' }, 'Reveal');
  const status = h('span', { class: 'muted', role: 'status' });
  reveal.addEventListener('click', () => {
    const on = reveal.getAttribute('aria-pressed') !== 'true';
    reveal.setAttribute('aria-pressed', String(on));
    reveal.textContent = on ? 'Hide' : 'Reveal';
    shown.textContent = on ? text : '••••••••';
    shown.className = on ? 'revealed' : 'masked';
  });
  const copy = h('button', { type: 'button', class: 'secondary small' }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = 'Copied';
    } catch (e) {
      status.textContent = 'Copy is not allowed here';
    }
  });
  return h('span', { class: 'value' }, shown, ' ', reveal, ' ', copy, ' ', status);
}

async function show(ctx, kv, path, version) {
  const head = [title(`${kv.mount}${path}`), crumbs(kv, path.split('/').slice(0, -1).join('/'))];
  let resp;
  try {
    resp = await api('GET', kv.data(path) + (version ? `?version=${encodeURIComponent(version)}` : ''));
  } catch (e) {
    // A deleted or destroyed v2 version answers 404 with its metadata (and no data).
    if (!(kv.v2 && e.status === 404 && e.body && e.body.data && e.body.data.metadata)) {
      return [...head, errorBox(errorsOf(e))];
    }
    resp = e.body;
  }
  const data = kv.v2 ? resp.data.data : resp.data;
  const meta = kv.v2 ? resp.data.metadata : null;
  const out = [...head];
  if (meta) out.push(h('p', { class: 'muted' }, `Version ${meta.version}, created ${meta.created_time}`));
  if (!data) {
    out.push(notice(meta && meta.destroyed ? 'This version is destroyed.' : 'This version is deleted.'));
  } else {
    const rows = Object.entries(data).map(([k, v]) => [h('span', { class: 'kv-key' }, k), valueCell(v)]);
    out.push(table('Secret data', ['Key', 'Value'], rows));
  }
  const actions = h('div', { class: 'actions' }, kvLink(kv, 'edit', path, 'Edit secret'));
  if (!kv.v2) {
    const errors = errorSlot();
    actions.append(confirmButton('Delete secret', async () => {
      try {
        await api('DELETE', kv.data(path));
        ctx.go(href('kv', kv.mount, 'list', ...segs(path).slice(0, -1)));
      } catch (e) {
        errors.show(errorsOf(e));
      }
    }), errors);
  }
  out.push(actions);
  if (kv.v2) {
    out.push(await versionsSection(ctx, kv, path));
    out.push(await metadataSection(ctx, kv, path));
  }
  return out;
}

function row(key = '', value = '') {
  const k = input('key', { 'aria-label': 'Key', value: key, class: 'row-key' });
  const v = input('value', { 'aria-label': 'Value', value, type: 'password', class: 'row-value' });
  const el = h('div', { class: 'kv-row' }, k, v);
  el.append(h('button', { type: 'button', class: 'secondary small', 'aria-label': 'Remove row', onclick: () => el.remove() }, 'Remove'));
  return el;
}

function readRows(rows) {
  const data = {};
  for (const r of rows.querySelectorAll('.kv-row')) {
    const k = r.querySelector('.row-key').value.trim();
    const v = r.querySelector('.row-value').value;
    if (!k && !v) continue;
    if (!k) throw new Error('every value needs a key');
    if (k in data) throw new Error(`the key "${k}" appears twice`);
    data[k] = v;
  }
  return data;
}

async function edit(ctx, kv, path, isNew) {
  let current = {};
  if (!isNew) {
    try {
      const resp = await api('GET', kv.data(path));
      current = (kv.v2 ? resp.data.data : resp.data) || {};
    } catch (e) {
      if (e.status !== 404) return [title(`Edit ${kv.mount}${path}`), errorBox(errorsOf(e))];
    }
  }
  const pathInput = input('path', { id: 'secret-path', value: path, required: true, readonly: isNew ? null : true });
  const rows = h('div', { class: 'kv-rows', id: 'secret-rows' });
  const entries = Object.entries(current);
  for (const [k, v] of entries.length ? entries : [['', '']]) rows.append(row(k, typeof v === 'string' ? v : JSON.stringify(v)));
  const json = h('textarea', { id: 'secret-json', rows: '8', hidden: true, spellcheck: 'false', 'aria-label': 'Secret data as JSON' });
  const asJson = h('input', { type: 'checkbox', id: 'secret-as-json' });
  const showValues = h('input', { type: 'checkbox', id: 'secret-show-values' });
  const addRow = h('button', { type: 'button', class: 'secondary', onclick: () => rows.append(row()) }, 'Add row');
  const errors = errorSlot();
  showValues.addEventListener('change', () => {
    for (const v of rows.querySelectorAll('.row-value')) v.type = showValues.checked ? 'text' : 'password';
  });
  asJson.addEventListener('change', () => {
    errors.clear();
    try {
      if (asJson.checked) {
        json.value = JSON.stringify(readRows(rows), null, 2);
      } else {
        const parsed = JSON.parse(json.value || '{}');
        replace(rows, ...Object.entries(parsed).map(([k, v]) => row(k, typeof v === 'string' ? v : JSON.stringify(v))));
      }
      json.hidden = !asJson.checked;
      rows.hidden = asJson.checked;
      addRow.hidden = asJson.checked;
    } catch (e) {
      asJson.checked = !asJson.checked;
      errors.show([`invalid JSON: ${e.message}`]);
    }
  });
  const form = h('form', { class: 'card', id: 'secret-form' },
    field('Path', pathInput, isNew ? 'Folders are separated by "/".' : null),
    h('fieldset', {}, h('legend', {}, 'Data'), rows, json, addRow,
      h('div', { class: 'checks' },
        h('label', {}, showValues, ' Show values'), h('label', {}, asJson, ' Edit as JSON'))),
    errors, h('button', { type: 'submit' }, 'Save secret'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.clear();
    const p = pathInput.value.trim().replace(/^\/+/, '');
    try {
      if (!p || p.endsWith('/')) throw new Error('the path must name a secret, not a folder');
      let data;
      if (asJson.checked) {
        try {
          data = JSON.parse(json.value);
        } catch (e) {
          throw new Error(`invalid JSON: ${e.message}`);
        }
        if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('the JSON must be an object');
      } else {
        data = readRows(rows);
      }
      await api('POST', kv.data(p), kv.v2 ? { data } : data);
      ctx.go(href('kv', kv.mount, 'show', ...segs(p)));
    } catch (e) {
      errors.show(errorsOf(e));
    }
  });
  return [title(isNew ? `Create secret in ${kv.mount}` : `Edit ${kv.mount}${path}`), form];
}
