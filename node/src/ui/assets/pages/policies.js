// Policies (sys/policies/acl): list, view, create and edit with the server's parse errors shown
// beside the text, delete.

import { api, list, errorsOf } from '../api.js';
import { h, replace, field, input, errorSlot, errorBox, notice, title, href, confirmButton } from '../dom.js';

const BUILT_IN = ['root', 'default'];

/** `#/policies` or `#/policies/<name>`. */
export async function page(ctx) {
  if (ctx.params[0]) return one(ctx, ctx.params[0]);
  let listing;
  try {
    const names = await list('sys/policies/acl');
    listing = h('ul', { class: 'policy-list', 'aria-label': 'ACL policies' },
      names.map((n) => h('li', {}, h('a', { href: href('policies', n) }, n))));
  } catch (e) {
    return [title('ACL policies'), errorBox(errorsOf(e))];
  }
  return [title('ACL policies'), listing, editor(ctx, '', '', true)];
}

async function one(ctx, name) {
  let text;
  try {
    text = (await api('GET', `sys/policies/acl/${encodeURIComponent(name)}`)).data.policy;
  } catch (e) {
    return [title(`Policy ${name}`), errorBox(errorsOf(e))];
  }
  const out = [title(`Policy ${name}`), h('p', {}, h('a', { href: '#/policies' }, 'All policies'))];
  if (name === 'root') {
    out.push(notice('The root policy grants everything; it has no rules and cannot be changed.'));
    return out;
  }
  out.push(editor(ctx, name, text, false));
  if (!BUILT_IN.includes(name)) {
    const errors = errorSlot();
    out.push(h('div', { class: 'actions' }, confirmButton('Delete policy', async () => {
      try {
        await api('DELETE', `sys/policies/acl/${encodeURIComponent(name)}`);
        ctx.go('#/policies');
      } catch (e) {
        errors.show(errorsOf(e));
      }
    }), errors));
  }
  return out;
}

function editor(ctx, name, text, isNew) {
  const nameInput = input('name', { id: 'policy-name', value: name, required: true, readonly: isNew ? null : true });
  const body = h('textarea', { id: 'policy-text', rows: '14', spellcheck: 'false', class: 'code' });
  body.value = text;
  const errors = errorSlot();
  const saved = h('div', {});
  const form = h('form', { class: 'card', id: 'policy-form' },
    h('h2', {}, isNew ? 'Create a policy' : 'Edit'),
    field('Name', nameInput), field('Policy (HCL or JSON)', body), errors, saved,
    h('button', { type: 'submit' }, isNew ? 'Create policy' : 'Save policy'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.clear();
    replace(saved);
    const n = nameInput.value.trim();
    if (!n) {
      errors.show(['a policy name is required']);
      return;
    }
    try {
      await api('PUT', `sys/policies/acl/${encodeURIComponent(n)}`, { policy: body.value });
      if (isNew) ctx.go(href('policies', n.toLowerCase()));
      else replace(saved, notice('Policy saved.'));
    } catch (e) {
      errors.show(errorsOf(e));
      body.setAttribute('aria-invalid', 'true');
    }
  });
  body.addEventListener('input', () => body.removeAttribute('aria-invalid'));
  return form;
}
