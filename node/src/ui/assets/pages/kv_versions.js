// A KV v2 secret's versions (view, delete, undelete, destroy) and its metadata (read, tune,
// delete with every version).

import { api, errorsOf } from '../api.js';
import { h, field, input, errorSlot, errorBox, table, href, confirmButton } from '../dom.js';

const segs = (p) => p.split('/').filter(Boolean);

/** The versions table; each row's actions call the v2 endpoints and redraw the page. */
export async function versionsSection(ctx, kv, path) {
  const section = h('section', { 'aria-labelledby': 'versions-heading' }, h('h2', { id: 'versions-heading' }, 'Versions'));
  let meta;
  try {
    meta = (await api('GET', kv.meta(path))).data;
  } catch (e) {
    section.append(errorBox(errorsOf(e)));
    return section;
  }
  const errors = errorSlot();
  const act = (label, method, op, n) => h('button', {
    type: 'button',
    class: 'secondary small',
    onclick: async () => {
      try {
        await api(method, kv.op(op, path), { versions: [Number(n)] });
        ctx.render();
      } catch (e) {
        errors.show(errorsOf(e));
      }
    },
  }, `${label} v${n}`);
  const rows = Object.entries(meta.versions || {}).sort((a, b) => Number(b[0]) - Number(a[0])).map(([n, v]) => {
    let state = 'active';
    if (v.destroyed) state = 'destroyed';
    else if (v.deletion_time) state = 'deleted';
    const actions = h('span', { class: 'actions' },
      h('a', { href: href('kv', kv.mount, 'version', n, ...segs(path)) }, `View v${n}`));
    if (state === 'active') actions.append(act('Delete', 'POST', 'delete', n));
    if (state === 'deleted') actions.append(act('Undelete', 'POST', 'undelete', n));
    if (state !== 'destroyed') {
      actions.append(confirmButton(`Destroy v${n}`, async () => {
        try {
          await api('PUT', kv.op('destroy', path), { versions: [Number(n)] });
          ctx.render();
        } catch (e) {
          errors.show(errorsOf(e));
        }
      }));
    }
    const current = Number(n) === meta.current_version ? ' (current)' : '';
    return [`${n}${current}`, v.created_time, state, actions];
  });
  section.append(table('Versions of this secret', ['Version', 'Created', 'State', 'Actions'], rows), errors);
  return section;
}

/** The metadata, a form to change its settings, and deletion of the whole secret. */
export async function metadataSection(ctx, kv, path) {
  const section = h('section', { 'aria-labelledby': 'metadata-heading' }, h('h2', { id: 'metadata-heading' }, 'Metadata'));
  let meta;
  try {
    meta = (await api('GET', kv.meta(path))).data;
  } catch (e) {
    section.append(errorBox(errorsOf(e)));
    return section;
  }
  const custom = Object.entries(meta.custom_metadata || {}).map(([k, v]) => `${k}=${v}`).join(', ');
  section.append(table('Secret metadata', ['Field', 'Value'], [
    ['Created', meta.created_time],
    ['Updated', meta.updated_time],
    ['Current version', String(meta.current_version)],
    ['Oldest version', String(meta.oldest_version)],
    ['Custom metadata', custom || '—'],
  ]));
  const maxVersions = input('max_versions', { type: 'number', min: '0', value: String(meta.max_versions), id: 'meta-max-versions' });
  const after = input('delete_version_after', { value: meta.delete_version_after || '0s', id: 'meta-delete-after' });
  const cas = h('input', { type: 'checkbox', id: 'meta-cas', checked: meta.cas_required });
  const errors = errorSlot();
  const form = h('form', { class: 'card' },
    field('Maximum versions (0: the engine default)', maxVersions),
    field('Delete versions after (for example 30d, 0s for never)', after),
    h('div', { class: 'checks' }, h('label', {}, cas, ' Require check-and-set')),
    errors, h('button', { type: 'submit' }, 'Save metadata'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', kv.meta(path), {
        max_versions: Number(maxVersions.value),
        delete_version_after: after.value.trim(),
        cas_required: cas.checked,
      });
      ctx.render();
    } catch (e) {
      errors.show(errorsOf(e));
    }
  });
  const delErrors = errorSlot();
  section.append(form, h('div', { class: 'actions' }, confirmButton('Delete secret and all versions', async () => {
    try {
      await api('DELETE', kv.meta(path));
      ctx.go(href('kv', kv.mount, 'list', ...segs(path).slice(0, -1)));
    } catch (e) {
      delErrors.show(errorsOf(e));
    }
  }), delErrors));
  return section;
}
