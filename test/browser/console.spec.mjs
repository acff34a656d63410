// The console in a real browser: Debian's chromium, headless, driven by
// playwright-core against a running `signet dev`. browser_test.go starts
// the server and passes everything through the environment:
//
//   SIGNET_CONSOLE_LOGIN_URL  the one-time login link `signet dev` printed
//   SIGNET_DEV_HOST_ID        the dev host's resource id (its agent serves tokens)
//   SIGNET_SERVER_SPKI        base64 SHA-256 of the serving key, the one certificate chromium may trust
//   IDENTITY_ENDPOINT, IDENTITY_HEADER   the dev agent's App Service endpoint
//   CHROMIUM                  the browser binary (default /usr/bin/chromium)
//   ARTIFACTS                 where screenshots go
//
// The flow: sign in with the link, create a user-assigned identity, assign
// it to the dev host, grant it a role, get a token for it through the
// agent, and find that sign-in (by its token id) in the sign-in log.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const loginURL = env('SIGNET_CONSOLE_LOGIN_URL');
const devHostID = env('SIGNET_DEV_HOST_ID');
const identityEndpoint = env('IDENTITY_ENDPOINT');
const identityHeader = env('IDENTITY_HEADER');
const spki = env('SIGNET_SERVER_SPKI');
const artifacts = process.env.ARTIFACTS || 'artifacts';
const base = new URL(loginURL).origin;
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // Trust exactly the dev server's key, not every certificate.
    `--ignore-certificate-errors-spki-list=${spki}`],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
const page = await context.newPage();

// A CSP violation or script error means a page does not work as served.
const problems = [];
page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

let step = 0;
const shot = async (name) => {
  step++;
  await page.screenshot({ path: join(artifacts, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
};
const expect = (cond, msg) => { if (!cond) throw new Error(msg); };
const text = async (sel) => (await page.locator(sel).innerText()).trim();

try {
  // 1. The one-time link shows a button; pressing it signs in.
  await page.goto(loginURL);
  await shot('login');
  await Promise.all([page.waitForURL(`${base}/console/`), page.click('#dev-login')]);
  expect(await page.locator('h1').innerText() === 'Overview', 'not on the overview after sign-in');
  expect(await page.locator('svg.chart').count() === 1, 'no sign-in chart on the overview');
  // The stylesheet loaded under the CSP (no inline style exists to fall back on).
  const bg = await page.locator('header').evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(bg === 'rgb(23, 32, 47)', `stylesheet not applied (header background ${bg})`);
  await shot('overview');

  // 2. Create a user-assigned identity.
  const name = `browser-${Date.now().toString(36)}`;
  await page.goto(`${base}/console/identities`);
  await page.fill('#new-identity-name', name);
  await Promise.all([page.waitForURL(/\/console\/identities\/[0-9a-f-]{36}$/), page.click('#create-identity')]);
  const principalID = await text('#identity-principal');
  const clientID = await text('#identity-client');
  expect(await page.locator('h1').innerText() === name, 'identity page has the wrong title');
  await shot('identity-created');

  // 3. Assign it to the dev host, whose agent will then serve it.
  await page.selectOption('#assign-resource', devHostID);
  await Promise.all([page.waitForLoadState('load'), page.click('#assign')]);
  expect((await text('#assigned-to')).includes('dev-host'), 'identity not shown as assigned to dev-host');
  await shot('identity-assigned');

  // 4. Grant it a role, picked by name.
  await page.selectOption('#grant-role', { label: 'Reader' });
  await Promise.all([page.waitForLoadState('load'), page.click('#grant')]);
  expect((await text('#identity-roles')).includes('Reader'), 'Reader role not shown');
  await shot('identity-granted');

  // 5. A token for it through the dev agent's App Service endpoint. The
  // agent learns about the assignment on its next sync (every second).
  const tokenURL = `${identityEndpoint}?api-version=2019-08-01&resource=${encodeURIComponent('https://management.azure.com/')}&client_id=${clientID}`;
  let token;
  for (let i = 0; i < 60 && !token; i++) {
    const resp = await fetch(tokenURL, { headers: { 'X-IDENTITY-HEADER': identityHeader } });
    if (resp.ok) token = (await resp.json()).access_token;
    else await new Promise((r) => setTimeout(r, 500));
  }
  expect(token, 'the agent never served a token for the new identity');
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  expect(claims.oid === principalID, `token oid ${claims.oid}, want ${principalID}`);
  expect(claims.uti, 'token has no uti');

  // 6. The sign-in log shows that token's sign-in, found by its token id.
  await page.goto(`${base}/console/signins?principalId=${principalID}`);
  const row = page.locator('#signins tbody tr', { hasText: claims.uti });
  expect(await row.count() === 1, `sign-in with token id ${claims.uti} not in the log`);
  expect((await row.innerText()).includes('success'), 'the sign-in is not a success');
  expect((await row.innerText()).includes(clientID), 'the sign-in does not show the client id');
  await row.scrollIntoViewIfNeeded();
  await shot('signin-log');

  // 7. The identity page follows the same token.
  await page.goto(`${base}/console/identities/${principalID}`);
  expect((await text('#tokens')).includes(claims.uti), 'identity page does not show the token');
  await shot('identity-tokens');

  expect(problems.length === 0, `browser problems:\n${problems.join('\n')}`);
  console.log(`ok: identity ${name} (${clientID}) signed in with token ${claims.uti}`);
} catch (err) {
  await page.screenshot({ path: join(artifacts, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(`FAIL at ${page.url()}: ${err.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
