/**
 * The account page over HTTP, without a browser: sign-in through the tenant's own authorization (the
 * built-in `portcullis-account` client), the session cookie, CSRF on every form, freshness before factor
 * changes, TOTP enrolment, recovery codes, sessions and the data export.
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealCookieValue } from '../../src/account/account-cookies.ts';
import { Csrf } from '../../src/http/csrf.ts';
import { DerivedKeys } from '../../src/keys/derived-keys.ts';
import { masterKeyFrom } from '../../src/keys/master-key.ts';
import { auditEvents } from '../helpers/audit.ts';
import { Browser, findForm, type Page } from '../helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createTenant, createUser, type CreatedUser } from '../helpers/fixtures.ts';
import { BROWSER_HEADERS } from '../helpers/login.ts';
import { MASTER_KEY, startTestServer, type TestServer } from '../helpers/server.ts';

let db: TestDatabase;
let server: TestServer;
let ada: CreatedUser;
let account: string;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  await createTenant(server, 'acme');
  await createTenant(server, 'globex');
  ada = await createUser(server, 'acme', 'ada');
  account = `${server.url}/t/acme/account`;
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** Signs in to the account page with the password; returns the browser and the overview page. */
async function signIn(user: CreatedUser = ada): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser(BROWSER_HEADERS);
  const login = await browser.open(account);
  expect(login.html).toContain('name="password"');
  const page = await browser.submit(login, '/login', { username: user.username, password: user.password });
  expect(page.status).toBe(200);
  expect(page.html).toContain('Your account');
  return { browser, page };
}

function csrfOf(page: Page, actionPart: string): string {
  return findForm(page.html, actionPart).hidden.csrf ?? '';
}

async function post(browser: Browser, path: string, fields: Record<string, string>): Promise<Page> {
  return browser.open(`${account}${path}`, {
    method: 'POST',
    body: new URLSearchParams(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  }, () => true);
}

describe('account sign-in', () => {
  it('sends a visitor without a session through an authorization of the account client', async () => {
    const res = await fetch(account, { redirect: 'manual', headers: BROWSER_HEADERS });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location') ?? '', server.url);
    expect(location.pathname).toBe('/t/acme/auth');
    expect(location.searchParams.get('client_id')).toBe('portcullis-account');
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('prompt')).toBeNull();
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('pc_account_tx_acme='));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\/t\/acme\/account/);
  });

  it('signs in with the password and keeps its own scoped, HttpOnly session cookie', async () => {
    const { browser, page } = await signIn();
    expect(page.url).toBe(account);
    expect(page.html).toContain('ada');
    expect(browser.jar.names()).toContain('pc_account_acme');
  });

  it('refuses a callback with a foreign state', async () => {
    const browser = new Browser(BROWSER_HEADERS);
    await browser.open(account, {}, () => true); // sets the transaction cookie
    const page = await browser.open(`${account}/callback?code=abc&state=not-ours`);
    expect(page.status).toBe(400);
  });

  it('answers 401 to a form post without a session', async () => {
    const res = await fetch(`${account}/recovery-codes`, { method: 'POST', body: new URLSearchParams({ csrf: 'x' }), redirect: 'manual' });
    expect(res.status).toBe(401);
  });

  it('does not accept another tenant’s account session', async () => {
    const { browser } = await signIn();
    const globex = await browser.open(`${server.url}/t/globex/account`, {}, () => true);
    expect(globex.status).toBe(303);
    expect(new URL(globex.url).pathname).toBe('/t/globex/auth');
  });
});

describe('account forms', () => {
  it('require the session’s CSRF token', async () => {
    const { browser } = await signIn();
    const before = (await auditEvents(server, 'acme', 'mfa.recovery_codes.generated')).length;
    expect((await post(browser, '/recovery-codes', {})).status).toBe(403);
    expect((await post(browser, '/recovery-codes', { csrf: 'forged' })).status).toBe(403);
    const other = await signIn();
    const foreign = csrfOf(other.page, '/signout');
    expect((await post(browser, '/recovery-codes', { csrf: foreign })).status).toBe(403);
    expect((await auditEvents(server, 'acme', 'mfa.recovery_codes.generated')).length).toBe(before);
  });

  it('generate ten recovery codes, shown once', async () => {
    const { browser, page } = await signIn();
    const list = await browser.open(`${account}/recovery-codes`);
    const shown = await post(browser, '/recovery-codes', { csrf: csrfOf(list, '/recovery-codes') });
    expect(shown.status).toBe(200);
    expect([...shown.html.matchAll(/<li><code>([0-9A-Z-]{19})<\/code><\/li>/g)]).toHaveLength(10);
    const again = await browser.open(`${account}/recovery-codes`);
    expect(again.html).not.toMatch(/<li><code>/);
    expect(again.html).toContain('<strong>10</strong>');
    expect(page.html).toContain('Recovery codes');
  });

  it('enrol TOTP: QR code, otpauth URI and secret as text, confirmed by one code', async () => {
    const { browser } = await signIn();
    const enrol = await browser.open(`${account}/totp`);
    expect(enrol.status).toBe(200);
    expect(enrol.html).toContain('<svg');
    const uri = /id="totp-uri"[^>]*value="([^"]+)"/.exec(enrol.html)?.[1] ?? '';
    const secret = /id="totp-secret"[^>]*value="([A-Z2-7]+)"/.exec(enrol.html)?.[1] ?? '';
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    expect(secret.length).toBeGreaterThanOrEqual(16);
    const form = findForm(enrol.html, '/totp');
    expect((await post(browser, '/totp', { ...form.hidden, code: '000000' === (await generate({ secret })) ? '111111' : '000000' })).status).toBe(400);
    // The wrong code above did not consume the pending factor: a new page shows a new one; confirm that.
    const retry = await browser.open(`${account}/totp`);
    const retrySecret = /id="totp-secret"[^>]*value="([A-Z2-7]+)"/.exec(retry.html)?.[1] ?? '';
    const confirmed = await post(browser, '/totp', { ...findForm(retry.html, '/totp').hidden, code: await generate({ secret: retrySecret }) });
    expect(confirmed.status).toBe(303);
    const overview = await browser.open(account);
    expect(overview.html).toContain('Remove authenticator app');
  });

  it('refuse factor changes without a fresh sign-in, and ask for one', async () => {
    // An account session whose sign-in is an hour old, sealed with the same derived keys as the server's.
    const keys = new DerivedKeys(masterKeyFrom(MASTER_KEY));
    const now = Math.floor(Date.now() / 1000);
    const nonce = 'stale-session-nonce';
    const session = { sub: ada.id, authTime: now - 3600, amr: ['pwd'], acr: null, sid: null, nonce, exp: now + 600 };
    const cookie = `pc_account_acme=${sealCookieValue(keys.key('account-cookie'), 'pc_account_acme', session)}`;
    const csrf = new Csrf(keys.key('csrf')).token(`account:acme:${nonce}`);
    const before = (await auditEvents(server, 'acme', 'mfa.recovery_codes.generated')).length;
    const res = await fetch(`${account}/recovery-codes`, {
      method: 'POST',
      body: new URLSearchParams({ csrf }),
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location') ?? '', server.url);
    expect(location.pathname).toBe('/t/acme/auth');
    expect(location.searchParams.get('prompt')).toBe('login');
    expect(location.searchParams.get('max_age')).toBe('0');
    expect((await auditEvents(server, 'acme', 'mfa.recovery_codes.generated')).length).toBe(before);
    const options = await fetch(`${account}/passkeys/options`, {
      method: 'POST',
      body: new URLSearchParams({ csrf }),
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(options.status).toBe(401);
    // Reading pages needs no fresh sign-in.
    const overview = await fetch(account, { headers: { cookie }, redirect: 'manual' });
    expect(overview.status).toBe(200);
    expect(await overview.text()).toContain('confirm it');
  });
});

describe('activity and data', () => {
  it('lists sessions and signs one out', async () => {
    const { browser } = await signIn();
    const activity = await browser.open(`${account}/activity`);
    const uid = /action="\/t\/acme\/account\/sessions\/([^/"]+)\/end"/.exec(activity.html)?.[1];
    expect(uid).toBeDefined();
    const ended = await post(browser, `/sessions/${uid ?? ''}/end`, { csrf: csrfOf(activity, '/end') });
    expect(ended.status).toBe(303);
    const after = await browser.open(`${account}/activity`);
    expect(after.html).not.toContain(`/sessions/${uid ?? ''}/end`);
  });

  it('exports the user’s own data as JSON', async () => {
    const { browser } = await signIn();
    const res = await fetch(`${account}/export`, { headers: { cookie: browser.jar.header() } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('attachment');
    const data = (await res.json()) as { profile: { id: string; username: string }; passkeys: unknown[]; sessions: unknown[] };
    expect(data.profile).toMatchObject({ id: ada.id, username: 'ada' });
    expect(JSON.stringify(data)).not.toMatch(/secret_jwe|secretJwe|password_hash|passwordHash|public_key|publicKey/i);
  });

  it('signs out of the account and of the tenant session', async () => {
    const { browser, page } = await signIn();
    const out = await post(browser, '/signout', { csrf: csrfOf(page, '/signout') });
    expect(out.status).toBe(200);
    expect(out.html).toContain('signed out');
    const again = await browser.open(account);
    expect(again.html).toContain('name="password"');
  });
});
