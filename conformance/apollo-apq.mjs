// Apollo Client's own persisted-queries link against the gateway: the first
// request carries the hash alone, the gateway answers PERSISTED_QUERY_NOT_FOUND,
// the link resends with the document, and later requests carry the hash
// alone again. Both over POST and, with useGETForHashedQueries, over GET.
import { ApolloClient, InMemoryCache, HttpLink, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createHash } from 'node:crypto';

const url = process.env.URL ?? 'http://127.0.0.1:8080/graphql';
const key = process.env.KEY ?? '';
const sha256 = (q) => createHash('sha256').update(q).digest('hex');
const fail = (msg) => { console.log(`FAIL: ${msg}`); process.exit(1); };

async function run(useGETForHashedQueries, name) {
  const sent = [];
  const recordingFetch = async (uri, options) => {
    const u = new URL(uri);
    const body = options.body ? JSON.parse(options.body) : Object.fromEntries(u.searchParams);
    sent.push({ method: options.method ?? 'GET', hasQuery: typeof body.query === 'string' && body.query.length > 0 });
    return fetch(uri, options);
  };
  const http = new HttpLink({ uri: url, headers: { 'x-api-key': key }, fetch: recordingFetch });
  const link = new PersistedQueryLink({ sha256, useGETForHashedQueries }).concat(http);
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const query = gql`query ${name} { viewer { role organization { name } } }`;
  const first = await client.query({ query, fetchPolicy: 'network-only' });
  if (first.data?.viewer?.organization?.name !== 'demo') fail(`${name}: ${JSON.stringify(first)}`);
  const second = await client.query({ query, fetchPolicy: 'network-only' });
  if (second.data?.viewer?.role !== 'ADMIN') fail(`${name}: ${JSON.stringify(second)}`);
  const shape = sent.map((s) => `${s.method}${s.hasQuery ? '+query' : ''}`).join(' ');
  const hashOnly = useGETForHashedQueries ? 'GET' : 'POST';
  const expected = `${hashOnly} POST+query ${hashOnly}`;
  if (shape !== expected) fail(`${name}: requests were "${shape}", expected "${expected}"`);
  console.log(`ok: Apollo persisted queries (${name}): ${shape}`);
}

// Names unique to this run: with REDIS_URL set, the gateway remembers a
// document across restarts, and the first request must be a miss.
const run_id = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
await run(false, `ApqOverPost${run_id}`);
await run(true, `ApqOverGet${run_id}`);
