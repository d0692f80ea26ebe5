// Drives /graphiql in a real headless Chromium, as a newcomer would:
// paste the API-key header, run a query and read the account names in the
// result pane, then start a subscription and see an event arrive.
//
// Usage: node graphiql.mjs BASE_URL API_KEY   (playwright-core resolvable
// from NODE_PATH; CHROMIUM, default /usr/bin/chromium). Exits non-zero
// with a message and a screenshot path when a step fails.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const [base, key] = process.argv.slice(2);
const step = (what) => console.log(`step: ${what}`);

// Replaces the text of the visible editor under `selector` as a person
// pasting would: click into it, select all, insert the text.
async function setEditor(page, selector, text) {
  const editor = page.locator(`${selector} .CodeMirror`).filter({ visible: true }).first();
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

// Waits until GraphiQL has parsed the query editor's text (it does so
// shortly after an edit, and decides from that parse whether to run the
// operation over HTTP or WebSocket): as a person reading the highlighting.
async function waitParsed(page, operation) {
  await page.waitForFunction((op) => {
    const ast = document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror?.documentAST;
    return ast?.definitions?.[0]?.operation === op;
  }, operation, { timeout: 30000 });
}

async function resultText(page) {
  return page.evaluate(() => document.querySelector('.result-window')?.innerText ?? '');
}

async function waitResult(page, needle, what) {
  await page.waitForFunction(
    (n) => (document.querySelector('.result-window')?.innerText ?? '').includes(n),
    needle,
    { timeout: 30000 },
  ).catch(async () => {
    throw new Error(`${what}: "${needle}" never appeared; the result pane says: ${await resultText(page)}`);
  });
}

async function graphql(query, variables) {
  const resp = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ query, variables }),
  });
  return resp.json();
}

async function subscribers() {
  const text = await (await fetch(`${base}/metrics`, { headers: { 'x-api-key': key } })).text();
  const line = text.split('\n').find((l) => l.startsWith('gateway_event_subscribers '));
  return Number(line?.split(' ')[1] ?? 0);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const page = await browser.newPage();
const offline = [];
const consoleLines = [];
page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
// Nothing may come from outside the gateway: the page must work offline.
await page.route('**/*', (route) => {
  const url = route.request().url();
  if (url.startsWith(base) || url.startsWith(base.replace(/^http/, 'ws'))) return route.continue();
  offline.push(url);
  return route.abort();
});
try {
  step('open /graphiql');
  await page.goto(`${base}/graphiql`);
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 30000 });

  step('paste the API-key header');
  await page.getByText('Headers', { exact: true }).click();
  await setEditor(page, '.graphiql-editor-tool', JSON.stringify({ 'x-api-key': key }));

  step('run a query');
  await setEditor(page, '.graphiql-query-editor', '{ accounts(first: 50, orderBy: {field: NAME, direction: ASC}) { nodes { name } } }');
  await waitParsed(page, 'query');
  await page.click('.graphiql-execute-button');
  await waitResult(page, 'Ana personal', 'the query');
  await waitResult(page, 'Acme operating', 'the query');

  step('start a subscription');
  const mei = (await graphql('{ accountByExternalId(externalId: "acc-mei-usdc") { id status } }')).data.accountByExternalId;
  await setEditor(
    page,
    '.graphiql-query-editor',
    `subscription { accountStatusChanged(accountId: "${mei.id}") { previousStatus status account { name } } }`,
  );
  await waitParsed(page, 'subscription');
  const before = await subscribers();
  await page.click('.graphiql-execute-button');
  for (let i = 0; (await subscribers()) <= before; i++) {
    if (i > 300) throw new Error('the subscription never reached the server');
    await new Promise((r) => setTimeout(r, 100));
  }

  step('change the account and see the event');
  const changed = await graphql('mutation($id: UUID!) { setAccountStatus(id: $id, status: ACTIVE) { status } }', { id: mei.id });
  if (changed.errors) throw new Error(`the mutation failed: ${JSON.stringify(changed.errors)}`);
  await waitResult(page, 'Mei wallet', 'the subscription');
  await waitResult(page, '"previousStatus": "PENDING"', 'the subscription');
  if (offline.length) throw new Error(`the page asked outside the gateway: ${offline.join(', ')}`);

  step('the key stays with the tab');
  const stored = await page.evaluate(() => ({
    local: JSON.stringify(Object.entries(window.localStorage)),
    session: JSON.stringify(Object.entries(window.sessionStorage)),
  }));
  if (stored.local.includes(key)) throw new Error('the API key was kept in localStorage, beyond the tab');
  if (!stored.session.includes(key)) throw new Error('the headers are not kept for the tab (sessionStorage)');
  console.log('ok');
} catch (e) {
  const shot = `${process.env.TMPDIR || '/tmp'}/graphiql-failure-${process.pid}.png`;
  await page.screenshot({ path: shot }).catch(() => {});
  console.error(`${e.message}\nscreenshot: ${shot}\nbrowser console:\n${consoleLines.join('\n')}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
