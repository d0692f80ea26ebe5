// The GraphQL-over-HTTP spec's audit suite (graphql-http's serverAudits)
// against a running gateway. MUST audits failing fail the run; SHOULD and
// MAY results are reported.
import { serverAudits } from 'graphql-http';

const url = process.env.URL ?? 'http://127.0.0.1:8080/graphql';
const key = process.env.KEY ?? '';
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers ?? {});
  if (key) headers.set('x-api-key', key);
  return fetch(input, { ...init, headers });
};

let mustFailed = 0;
let passed = 0;
const notes = [];
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    passed++;
  } else if (audit.name.startsWith('MUST')) {
    mustFailed++;
    console.log(`FAIL ${audit.name}: ${result.reason}`);
  } else {
    notes.push(`${result.status} ${audit.name}: ${result.reason}`);
  }
}
for (const n of notes) console.log(n);
console.log(`graphql-http audits: ${passed} ok, ${mustFailed} MUST failed, ${notes.length} SHOULD/MAY not met`);
process.exit(mustFailed === 0 ? 0 : 1);
