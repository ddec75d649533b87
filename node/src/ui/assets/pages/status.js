// Cluster status: seal state, version, the active node, raft peers (the last needs a token that
// may read sys/storage/raft/configuration).

import { api, errorsOf } from '../api.js';
import { h, errorBox, table, title } from '../dom.js';

export async function page(ctx) {
  const st = ctx.status;
  const rows = [
    ['Version', st.version || ''],
    ['Initialized', String(st.initialized)],
    ['Sealed', String(st.sealed)],
    ['Seal type', st.type || ''],
    ['Cluster name', st.cluster_name || ''],
    ['Storage', st.storage_type || ''],
  ];
  const out = [title('Cluster status')];
  try {
    const leader = await api('GET', 'sys/leader', undefined, { anonymous: true });
    rows.push(['This node is active', String(leader.is_self)]);
    rows.push(['Active node', leader.leader_address || '']);
    rows.push(['HA enabled', String(leader.ha_enabled)]);
  } catch (e) {
    out.push(errorBox(errorsOf(e)));
  }
  out.push(table('This node', ['Field', 'Value'], rows));
  const peers = h('section', { 'aria-labelledby': 'peers-heading' }, h('h2', { id: 'peers-heading' }, 'Raft peers'));
  try {
    const config = (await api('GET', 'sys/storage/raft/configuration')).data.config;
    peers.append(table('Raft peers', ['Node', 'Address', 'Leader', 'Voter'],
      (config.servers || []).map((s) => [s.node_id, s.address, s.leader ? 'yes' : 'no', s.voter ? 'yes' : 'no'])));
  } catch (e) {
    peers.append(errorBox(errorsOf(e)));
  }
  out.push(peers);
  return out;
}
