// Access: auth methods (sys/auth), enabling one, and per method what an operator configures:
// kubernetes (config and roles), userpass (users), approle (roles).

import { api, list, errorsOf } from '../api.js';
import { h, replace, field, input, errorSlot, errorBox, notice, table, title, href, confirmButton, splitList } from '../dom.js';

const TYPES = ['userpass', 'approle', 'kubernetes'];

/** `#/access` or `#/access/<path>`. */
export async function page(ctx) {
  if (ctx.params[0]) return method(ctx, ctx.params[0]);
  let listing;
  try {
    const resp = await api('GET', 'sys/auth');
    const rows = Object.entries(resp.data || {}).map(([path, m]) => [
      m.type === 'token' ? path : h('a', { href: href('access', path) }, path), m.type, m.description || '', m.accessor]);
    listing = table('Auth methods', ['Path', 'Type', 'Description', 'Accessor'], rows);
  } catch (e) {
    // Without sys/auth there is nothing to show, and enabling would be refused too.
    return [title('Access'), errorBox(errorsOf(e))];
  }
  const path = input('path', { id: 'auth-path', required: true });
  const type = h('select', { id: 'auth-type' }, TYPES.map((t) => h('option', { value: t }, t)));
  const description = input('description', { id: 'auth-description' });
  const errors = errorSlot();
  const form = h('form', { class: 'card' }, h('h2', {}, 'Enable an auth method'),
    field('Type', type), field('Path', path, 'Defaults to the type.'), field('Description', description),
    errors, h('button', { type: 'submit' }, 'Enable method'));
  type.addEventListener('change', () => {
    if (!path.value || TYPES.includes(path.value)) path.value = type.value;
  });
  path.value = type.value;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const p = (path.value.trim() || type.value).replace(/^\/+|\/+$/g, '');
    try {
      await api('POST', `sys/auth/${p}`, { type: type.value, description: description.value });
      ctx.go(href('access', `${p}/`));
    } catch (e) {
      errors.show(errorsOf(e));
    }
  });
  return [title('Access'), listing, form];
}

async function method(ctx, path) {
  const head = [title(`Auth method ${path}`), h('p', {}, h('a', { href: '#/access' }, 'All auth methods'))];
  let info;
  try {
    info = (await api('GET', `sys/internal/ui/mounts/auth/${path}`)).data;
  } catch (e) {
    return [...head, errorBox(errorsOf(e))];
  }
  const base = `auth/${path}`;
  if (info.type === 'kubernetes') {
    return [...head, await kubeConfig(base), await collection(ctx, {
      heading: 'Roles', noun: 'role', listPath: `${base}role`, itemPath: (n) => `${base}role/${n}`,
      fields: [
        { name: 'bound_service_account_names', label: 'Bound service account names', list: true },
        { name: 'bound_service_account_namespaces', label: 'Bound service account namespaces', list: true },
        { name: 'token_policies', label: 'Token policies', list: true },
        { name: 'token_ttl', label: 'Token TTL (for example 1h)' },
        { name: 'audience', label: 'Audience' },
      ],
    })];
  }
  if (info.type === 'userpass') {
    return [...head, await collection(ctx, {
      heading: 'Users', noun: 'user', listPath: `${base}users`, itemPath: (n) => `${base}users/${n}`,
      fields: [
        { name: 'password', label: 'Password (leave empty to keep)', type: 'password' },
        { name: 'token_policies', label: 'Token policies', list: true },
        { name: 'token_ttl', label: 'Token TTL (for example 1h)' },
      ],
    })];
  }
  if (info.type === 'approle') {
    return [...head, await collection(ctx, {
      heading: 'Roles', noun: 'role', listPath: `${base}role`, itemPath: (n) => `${base}role/${n}`,
      fields: [
        { name: 'token_policies', label: 'Token policies', list: true },
        { name: 'secret_id_ttl', label: 'Secret ID TTL' },
        { name: 'token_ttl', label: 'Token TTL' },
        { name: 'bind_secret_id', label: 'Require a secret ID', type: 'checkbox', initial: true },
      ],
    })];
  }
  return [...head, notice(`The UI has no settings page for ${info.type} methods; use the CLI or API.`)];
}

async function kubeConfig(base) {
  const section = h('section', { 'aria-labelledby': 'kube-config' }, h('h2', { id: 'kube-config' }, 'Configuration'));
  let config = {};
  try {
    config = (await api('GET', `${base}config`)).data || {};
  } catch (e) {
    if (e.status !== 404) section.append(errorBox(errorsOf(e)));
  }
  const host = input('kubernetes_host', { id: 'kube-host', value: config.kubernetes_host || '', required: true });
  const ca = h('textarea', { id: 'kube-ca', rows: '4', spellcheck: 'false' });
  ca.value = config.kubernetes_ca_cert || '';
  const jwt = input('token_reviewer_jwt', { id: 'kube-jwt', type: 'password' });
  const local = h('input', { type: 'checkbox', id: 'kube-disable-local', checked: config.disable_local_ca_jwt });
  const errors = errorSlot();
  const saved = h('div', {});
  const form = h('form', { class: 'card' },
    field('Kubernetes host', host, 'The API server URL, for example https://10.0.0.1:443'),
    field('CA certificate (PEM)', ca),
    field('Token reviewer JWT (never shown again)', jwt),
    h('div', { class: 'checks' }, h('label', {}, local, ' Do not use the pod\'s own service account')),
    errors, saved, h('button', { type: 'submit' }, 'Save configuration'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.clear();
    const body = { kubernetes_host: host.value.trim(), kubernetes_ca_cert: ca.value, disable_local_ca_jwt: local.checked };
    if (jwt.value) body.token_reviewer_jwt = jwt.value;
    try {
      await api('POST', `${base}config`, body);
      jwt.value = '';
      replace(saved, notice('Configuration saved.'));
    } catch (e) {
      errors.show(errorsOf(e));
    }
  });
  section.append(form);
  return section;
}

/** A list of named items (roles, users) with a form to write one and buttons to load or delete. */
async function collection(ctx, spec) {
  const section = h('section', { 'aria-labelledby': `${spec.noun}-heading` }, h('h2', { id: `${spec.noun}-heading` }, spec.heading));
  const name = input('name', { id: `${spec.noun}-name`, required: true });
  const inputs = spec.fields.map((f) => {
    const el = f.type === 'checkbox'
      ? h('input', { type: 'checkbox', id: `${spec.noun}-${f.name}`, checked: f.initial })
      : input(f.name, { id: `${spec.noun}-${f.name}`, type: f.type || 'text' });
    return [f, el];
  });
  const errors = errorSlot();
  const itemErrors = errorSlot();
  const fill = async (key) => {
    itemErrors.clear();
    try {
      const data = (await api('GET', spec.itemPath(key))).data || {};
      name.value = key;
      for (const [f, el] of inputs) {
        if (f.type === 'checkbox') el.checked = Boolean(data[f.name]);
        else if (f.type !== 'password') el.value = Array.isArray(data[f.name]) ? data[f.name].join(', ') : (data[f.name] ?? '');
      }
      name.focus();
    } catch (e) {
      itemErrors.show(errorsOf(e));
    }
  };
  try {
    const keys = await list(spec.listPath);
    section.append(keys.length
      ? table(spec.heading, ['Name', 'Actions'], keys.map((k) => [k, h('span', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary small', onclick: () => fill(k) }, `Edit ${k}`),
        confirmButton(`Delete ${k}`, async () => {
          try {
            await api('DELETE', spec.itemPath(k));
            ctx.render();
          } catch (e) {
            itemErrors.show(errorsOf(e));
          }
        }))]))
      : h('p', {}, `No ${spec.noun}s yet.`), itemErrors);
  } catch (e) {
    section.append(errorBox(errorsOf(e)));
  }
  const fieldEls = inputs.map(([f, el]) => (f.type === 'checkbox'
    ? h('div', { class: 'checks' }, h('label', {}, el, ` ${f.label}`))
    : field(f.list ? `${f.label} (comma-separated)` : f.label, el)));
  const form = h('form', { class: 'card', id: `${spec.noun}-form` }, h('h3', {}, `Write a ${spec.noun}`),
    field('Name', name), fieldEls, errors, h('button', { type: 'submit' }, `Save ${spec.noun}`));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.clear();
    const n = name.value.trim();
    if (!n) {
      errors.show([`a ${spec.noun} name is required`]);
      return;
    }
    const body = {};
    for (const [f, el] of inputs) {
      if (f.type === 'checkbox') body[f.name] = el.checked;
      else if (f.list) body[f.name] = splitList(el.value);
      else if (el.value.trim()) body[f.name] = f.type === 'password' ? el.value : el.value.trim();
    }
    try {
      await api('POST', spec.itemPath(encodeURIComponent(n)), body);
      ctx.render();
    } catch (e) {
      errors.show(errorsOf(e));
    }
  });
  section.append(form);
  return section;
}
