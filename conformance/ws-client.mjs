// The graphql-ws reference client subscribes, a mutation changes a status,
// the event must arrive with its nested account.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { key, post, url } from './gateway.mjs';

const found = await post('{ accountByExternalId(externalId: "acc-mei-usdc") { id status } }');
const account = found.data.accountByExternalId;
const target = account.status === 'ACTIVE' ? 'INACTIVE' : 'ACTIVE';
const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { 'x-api-key': key } });
const timeout = setTimeout(() => { console.log('FAIL: no event within 10 s'); process.exit(1); }, 10_000);
const events = client.iterate({
  query: 'subscription($a: UUID) { accountStatusChanged(accountId: $a) { status account { id name status } } }',
  variables: { a: account.id },
});
setTimeout(async () => {
  const r = await post('mutation($id: UUID!, $s: AccountStatus!) { setAccountStatus(id: $id, status: $s) { status } }', { id: account.id, s: target });
  if (r.errors) { console.log('FAIL', JSON.stringify(r.errors)); process.exit(1); }
}, 300);
for await (const event of events) {
  const e = event.data?.accountStatusChanged;
  if (e?.status === target && e.account.id === account.id && e.account.status === target) {
    console.log(`graphql-ws client: received ${account.id} -> ${target}`);
    clearTimeout(timeout);
    await client.dispose();
    process.exit(0);
  }
  console.log('FAIL unexpected', JSON.stringify(event));
  process.exit(1);
}
