// Drives a fresh, uninitialised Coffer with node-vault (the npm package, version pinned in
// package.json) using only node-vault's own documented calls: init and unseal, KV v2, policies,
// tokens, transit and AppRole. Every answer is checked; the first wrong one exits non-zero.
//
// Usage: VAULT_ADDR=http://127.0.0.1:PORT node node_vault_walkthrough.js
// (tests/test_node_vault.py runs it with NODE_PATH pointing at the installed node-vault.)
'use strict';

const assert = require('node:assert/strict');
const nodeVault = require('node-vault');

const vault = nodeVault({ apiVersion: 'v1', endpoint: process.env.VAULT_ADDR });

function step(name) {
  console.log(`-- ${name}`);
}

// The promise must reject with node-vault's ApiResponseError carrying `status`; its body is
// returned (Vault's `{"errors": [...]}`, or KV v2's metadata for a deleted version).
async function rejectsWith(promise, status) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err.response, `expected an API error, got ${err.stack}`);
    assert.equal(err.response.statusCode, status, JSON.stringify(err.response.body));
    return err.response.body;
  }
  throw new Error(`expected a ${status} error, the call succeeded`);
}

async function initAndUnseal() {
  step('init and unseal');
  assert.deepEqual(await vault.initialized(), { initialized: false });
  const init = await vault.init({ secret_shares: 3, secret_threshold: 2 });
  assert.equal(init.keys.length, 3);
  assert.equal(init.keys_base64.length, 3);
  assert.match(init.root_token, /\S{8,}/);

  let status = await vault.status();
  assert.equal(status.sealed, true);
  assert.equal(status.t, 2);
  assert.equal(status.n, 3);

  status = await vault.unseal({ key: init.keys[0] });
  assert.equal(status.sealed, true);
  assert.equal(status.progress, 1);
  status = await vault.unseal({ key: init.keys[1] });
  assert.equal(status.sealed, false);
  assert.equal(status.progress, 0);

  assert.deepEqual(await vault.initialized(), { initialized: true });
  const health = await vault.health();
  assert.equal(health.initialized, true);
  assert.equal(health.sealed, false);
  vault.token = init.root_token;
  return init.root_token;
}

async function kvV2() {
  step('KV v2 write/read/patch/list/delete');
  await vault.mount({ mount_point: 'kv', type: 'kv', options: { version: '2' } });
  const mounts = await vault.mounts();
  assert.equal(mounts.data['kv/'].type, 'kv');
  assert.equal(mounts.data['kv/'].options.version, '2');

  let written = await vault.write('kv/data/app/db', { data: { user: 'app', pass: 's3cret' } });
  assert.equal(written.data.version, 1);
  written = await vault.write('kv/data/app/db', { options: { cas: 1 }, data: { user: 'app', pass: 'rotated' } });
  assert.equal(written.data.version, 2);
  // A stale check-and-set is refused.
  const stale = await rejectsWith(vault.write('kv/data/app/db', { options: { cas: 1 }, data: { x: 'y' } }), 400);
  assert.match(stale.errors[0], /check-and-set/);

  let read = await vault.read('kv/data/app/db');
  assert.deepEqual(read.data.data, { user: 'app', pass: 'rotated' });
  assert.equal(read.data.metadata.version, 2);
  assert.equal(read.data.metadata.destroyed, false);

  // node-vault's `update` is a JSON merge patch (PATCH, application/merge-patch+json).
  const patched = await vault.update('kv/data/app/db', { data: { pass: 'patched' } });
  assert.equal(patched.data.version, 3);
  read = await vault.read('kv/data/app/db');
  assert.deepEqual(read.data.data, { user: 'app', pass: 'patched' });

  const listed = await vault.list('kv/metadata/app/');
  assert.deepEqual(listed.data.keys, ['db']);
  const listedGet = await nodeVault({ endpoint: process.env.VAULT_ADDR, token: vault.token, noCustomHTTPVerbs: true })
    .list('kv/metadata/app/');
  assert.deepEqual(listedGet.data.keys, ['db']);

  await vault.write('kv/data/app/tmp', { data: { a: '1' } });
  await vault.delete('kv/data/app/tmp');
  const deleted = await rejectsWith(vault.read('kv/data/app/tmp'), 404);
  assert.equal(deleted.data.data, null);
  assert.notEqual(deleted.data.metadata.deletion_time, '');
  const missing = await rejectsWith(vault.read('kv/data/app/missing'), 404);
  assert.deepEqual(missing.errors, []);
  await vault.destroySecretVersions({ mount_point: 'kv', path: 'app/db', versions: [1] });
  read = await vault.read('kv/metadata/app/db');
  assert.equal(read.data.versions['1'].destroyed, true);
  assert.equal(read.data.current_version, 3);
}

async function policies() {
  step('policy write/read');
  const rules = 'path "kv/data/app/*" {\n  capabilities = ["read"]\n}\n';
  await vault.addPolicy({ name: 'app-read', rules });
  const policy = await vault.getPolicy({ name: 'app-read' });
  assert.equal(policy.name, 'app-read');
  assert.equal(policy.rules, rules);
  const all = await vault.policies();
  assert.ok(all.policies.includes('app-read'), JSON.stringify(all));
  assert.ok(all.policies.includes('root'), JSON.stringify(all));
}

async function tokens(root) {
  step('token create with a policy, lookup, use');
  // tokenCreate is a "token source": node-vault switches the client to the new token.
  const created = await vault.tokenCreate({ policies: ['app-read'], ttl: '1h', meta: { app: 'web' } });
  const child = created.auth.client_token;
  assert.equal(vault.token, child);
  assert.deepEqual(created.auth.policies, ['app-read', 'default']);
  assert.equal(created.auth.lease_duration, 3600);
  assert.equal(created.auth.renewable, true);
  assert.deepEqual(created.auth.metadata, { app: 'web' });

  const self = await vault.tokenLookupSelf();
  assert.deepEqual(self.data.policies, ['app-read', 'default']);
  assert.ok(self.data.ttl > 3500 && self.data.ttl <= 3600, `ttl ${self.data.ttl}`);
  const read = await vault.read('kv/data/app/db');
  assert.equal(read.data.data.user, 'app');
  const denied = await rejectsWith(vault.write('kv/data/app/db', { data: { x: 'y' } }), 403);
  assert.match(denied.errors[0], /permission denied/);
  const renewed = await vault.tokenRenewSelf({ increment: '2h' });
  assert.equal(renewed.auth.client_token, child);

  vault.token = root;
  const looked = await vault.tokenLookup({ token: child });
  assert.equal(looked.data.id, child);
  assert.deepEqual(looked.data.policies, ['app-read', 'default']);
  assert.deepEqual(looked.data.meta, { app: 'web' });
  assert.equal(looked.data.path, 'auth/token/create');
  const byAccessor = await vault.tokenLookupAccessor({ accessor: created.auth.accessor });
  assert.equal(byAccessor.data.accessor, created.auth.accessor);

  await vault.tokenRevoke({ token: child });
  await rejectsWith(vault.tokenLookup({ token: child }), 403);
}

async function transit() {
  step('transit encrypt/decrypt');
  await vault.mount({ mount_point: 'transit', type: 'transit' });
  await vault.write('transit/keys/orders', {});
  const key = await vault.read('transit/keys/orders');
  assert.equal(key.data.name, 'orders');
  assert.equal(key.data.type, 'aes256-gcm96');
  assert.equal(key.data.latest_version, 1);

  const plaintext = Buffer.from('card 4111-1111').toString('base64');
  const encrypted = await vault.write('transit/encrypt/orders', { plaintext });
  assert.match(encrypted.data.ciphertext, /^vault:v1:/);
  const decrypted = await vault.write('transit/decrypt/orders', { ciphertext: encrypted.data.ciphertext });
  assert.equal(decrypted.data.plaintext, plaintext);

  // The same through node-vault's named transit commands.
  const viaCommand = await vault.encryptData({ name: 'orders', plaintext });
  const back = await vault.decryptData({ name: 'orders', ciphertext: viaCommand.data.ciphertext });
  assert.equal(Buffer.from(back.data.plaintext, 'base64').toString(), 'card 4111-1111');
  const listed = await vault.transitListKeys();
  assert.deepEqual(listed.data.keys, ['orders']);
}

async function approle() {
  step('approle role, role-id, secret-id, login');
  await vault.enableAuth({ mount_point: 'approle', type: 'approle', description: 'apps' });
  const auths = await vault.auths();
  assert.equal(auths.data['approle/'].type, 'approle');

  await vault.addApproleRole({ role_name: 'web', policies: 'app-read', token_ttl: 600 });
  const role = await vault.getApproleRole({ role_name: 'web' });
  assert.deepEqual(role.data.token_policies, ['app-read']);
  assert.equal(role.data.token_ttl, 600);
  const roleId = (await vault.getApproleRoleId({ role_name: 'web' })).data.role_id;
  assert.match(roleId, /\S{8,}/);
  const secret = await vault.getApproleRoleSecret({ role_name: 'web' });
  assert.match(secret.data.secret_id, /\S{8,}/);
  assert.match(secret.data.secret_id_accessor, /\S{8,}/);

  // approleLogin is a token source too: the client now holds the AppRole token.
  const login = await vault.approleLogin({ role_id: roleId, secret_id: secret.data.secret_id });
  assert.equal(vault.token, login.auth.client_token);
  assert.deepEqual(login.auth.policies, ['app-read', 'default']);
  assert.equal(login.auth.lease_duration, 600);
  assert.equal(login.auth.metadata.role_name, 'web');
  const read = await vault.read('kv/data/app/db');
  assert.equal(read.data.data.user, 'app');

  await rejectsWith(vault.approleLogin({ role_id: roleId, secret_id: 'wrong' }), 400);
}

async function main() {
  const root = await initAndUnseal();
  await kvV2();
  await policies();
  await tokens(root);
  vault.token = root;
  await transit();
  await approle();
  console.log('node-vault walkthrough: all checks passed');
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  if (err && err.response) console.error(JSON.stringify(err.response));
  process.exit(1);
});
