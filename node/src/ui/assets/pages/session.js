// Before the dashboard: initialise (the keys and root token shown once), unseal with progress,
// and sign in with a token or a userpass username and password.

import { api, session, errorsOf } from '../api.js';
import { h, replace, field, input, errorSlot, title, notice } from '../dom.js';

/** `sys/init`: shares and threshold (recovery shares under an auto seal). */
export async function init(ctx) {
  const auto = ctx.status.type && ctx.status.type !== 'shamir';
  const shares = input('shares', { type: 'number', min: '1', max: '255', value: '5', id: 'init-shares', required: true });
  const threshold = input('threshold', { type: 'number', min: '1', max: '255', value: '3', id: 'init-threshold', required: true });
  const errors = errorSlot();
  const out = h('div', {});
  const form = h('form', { class: 'card', 'aria-labelledby': 'page-title' },
    field(auto ? 'Recovery key shares' : 'Key shares', shares, 'How many key shares to split the key into.'),
    field(auto ? 'Recovery key threshold' : 'Key threshold', threshold, 'How many shares it takes to rebuild the key.'),
    errors,
    h('button', { type: 'submit' }, 'Initialize'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = Number(shares.value);
    const t = Number(threshold.value);
    if (!(t >= 1 && n >= t)) {
      errors.show(['the threshold must be at least 1 and at most the number of shares']);
      return;
    }
    const body = auto ? { recovery_shares: n, recovery_threshold: t } : { secret_shares: n, secret_threshold: t };
    try {
      const resp = await api('POST', 'sys/init', body, { anonymous: true });
      const keys = auto ? resp.recovery_keys : resp.keys;
      replace(out,
        h('div', { class: 'card keys', role: 'region', 'aria-label': 'New keys' },
          h('h2', {}, auto ? 'Recovery keys' : 'Unseal keys'),
          h('p', {}, 'Shown once. Store each key apart from the others before you continue.'),
          h('ol', { id: 'init-keys' }, keys.map((k) => h('li', {}, h('code', { class: 'secret-text' }, k)))),
          h('h2', {}, 'Root token'),
          h('p', {}, h('code', { id: 'init-root-token', class: 'secret-text' }, resp.root_token)),
          h('button', { type: 'button', onclick: () => ctx.go('#/unseal') }, 'Continue')));
      form.remove();
    } catch (e) {
      errors.show(errorsOf(e));
    }
  });
  return [title('Initialize Coffer'), form, out];
}

function progressText(st) {
  return `Unseal progress: ${st.progress} of ${st.t} key shares`;
}

/** `sys/unseal`, one share at a time, with progress. */
export async function unseal(ctx) {
  const key = input('key', { type: 'password', id: 'unseal-key', required: true });
  const progress = h('p', { id: 'unseal-progress', role: 'status' }, progressText(ctx.status));
  const errors = errorSlot();
  const reset = h('button', { type: 'button', class: 'secondary' }, 'Reset progress');
  const form = h('form', { class: 'card' },
    progress,
    field(ctx.status.type && ctx.status.type !== 'shamir' ? 'Recovery key share' : 'Unseal key share', key),
    errors,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Unseal'), reset));
  const send = async (body) => {
    errors.clear();
    try {
      const st = await api('POST', 'sys/unseal', body, { anonymous: true });
      key.value = '';
      if (!st.sealed) {
        ctx.go(session.token ? '#/secrets' : '#/login');
        return;
      }
      replace(progress, progressText(st));
      key.focus();
    } catch (e) {
      errors.show(errorsOf(e));
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!key.value.trim()) {
      errors.show(['enter a key share']);
      return;
    }
    send({ key: key.value.trim() });
  });
  reset.addEventListener('click', () => send({ reset: true }));
  return [title('Unseal Coffer'), h('p', {}, 'This node is sealed. Enter key shares until the threshold is reached.'), form];
}

/** Sign in: a token (checked with lookup-self) or userpass. */
export async function login(ctx) {
  const method = h('select', { id: 'login-method', name: 'method' },
    h('option', { value: 'token' }, 'Token'),
    h('option', { value: 'userpass' }, 'Username and password'));
  const token = input('token', { type: 'password', id: 'login-token', autocomplete: 'off' });
  const username = input('username', { id: 'login-username', autocomplete: 'username' });
  const password = input('password', { type: 'password', id: 'login-password', autocomplete: 'current-password' });
  const mount = input('mount', { id: 'login-mount', value: 'userpass' });
  const tokenFields = h('div', {}, field('Token', token));
  const userFields = h('div', { hidden: true },
    field('Username', username), field('Password', password), field('Mount path', mount));
  const errors = errorSlot();
  method.addEventListener('change', () => {
    tokenFields.hidden = method.value !== 'token';
    userFields.hidden = method.value === 'token';
  });
  const form = h('form', { class: 'card', id: 'login-form' },
    field('Method', method), tokenFields, userFields, errors,
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.clear();
    try {
      if (method.value === 'token') {
        if (!token.value.trim()) throw new Error('enter a token');
        session.set(token.value.trim());
        await api('GET', 'auth/token/lookup-self');
      } else {
        if (!username.value.trim() || !password.value) throw new Error('enter a username and a password');
        const path = `auth/${mount.value.trim().replace(/^\/+|\/+$/g, '')}/login/${encodeURIComponent(username.value.trim())}`;
        const resp = await api('POST', path, { password: password.value }, { anonymous: true });
        session.set(resp.auth.client_token);
      }
      ctx.go('#/secrets');
    } catch (e) {
      session.clear();
      errors.show(errorsOf(e));
    }
  });
  const signedOut = ctx.params.length === 0 ? null : notice('Signed out.');
  return [title('Sign in to Coffer'), signedOut, form];
}
