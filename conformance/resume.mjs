// Subscribe, drop, resume: the README's accountEvents example, run by CI
// with the graphql-ws reference client. The subscriber keeps the cursor of
// the last event it handled; after its socket drops it subscribes again
// with `after: lastCursor` and receives what it missed, in order, then the
// live events, none twice.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { key, post, url } from './gateway.mjs';

const gql = async (query, variables) => {
  const body = await post(query, variables);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
};
const fail = (why) => { console.log(`FAIL: ${why}`); process.exit(1); };
setTimeout(() => fail('not done within 20 s'), 20_000).unref();

const EVENTS = `subscription($a: UUID, $after: String) {
  accountEvents(accountId: $a, after: $after) { cursor kind status account { id } } }`;
const SET = 'mutation($id: UUID!, $s: AccountStatus!) { setAccountStatus(id: $id, status: $s) { status } }';

// One connection; `after` resumes. Yields the events as they come.
function events(after, accountId) {
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { 'x-api-key': key },
    retryAttempts: 0,
  });
  const stream = client.iterate({ query: EVENTS, variables: { a: accountId, after } });
  return { stream, drop: () => client.dispose() };
}

const { accountByExternalId: account } =
  await gql('{ accountByExternalId(externalId: "acc-mei-usdc") { id status } }');
const flip = (s) => (s === 'ACTIVE' ? 'INACTIVE' : 'ACTIVE');

// 1. Subscribe and handle one event, keeping its cursor.
let lastCursor = null;
let status = account.status;
let live = events(lastCursor, account.id);
setTimeout(() => gql(SET, { id: account.id, s: (status = flip(status)) }).catch((e) => fail(e)), 300);
for await (const { data } of live.stream) {
  lastCursor = data.accountEvents.cursor;
  break;
}
// 2. The socket drops; meanwhile three changes commit.
await live.drop();
const missed = [];
for (let i = 0; i < 3; i++) {
  status = flip(status);
  missed.push(status);
  await gql(SET, { id: account.id, s: status });
}
// 3. Resume after the last cursor handled: the three missed, in order,
//    then a live one.
live = events(lastCursor, account.id);
const want = [...missed, flip(status)];
const got = [];
for await (const { data, errors } of live.stream) {
  if (errors) fail(JSON.stringify(errors));
  got.push(data.accountEvents.status);
  lastCursor = data.accountEvents.cursor;
  if (got.length === missed.length) {
    gql(SET, { id: account.id, s: flip(status) }).catch((e) => fail(e));
  }
  if (got.length === want.length) break;
}
await live.drop();
if (JSON.stringify(got) !== JSON.stringify(want)) fail(`expected ${want}, got ${got}`);
console.log(`graphql-ws resume: missed ${missed.join(', ')} replayed in order, then live ${want.at(-1)}`);
process.exit(0);
