/**
 * Attacks on the authorization-code flow and its tokens, each driven over HTTP with openid-client or the
 * real login form; every one must fail with the standard error and leave the evidence in the audit trail.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../helpers/audit.ts';
import { Browser } from '../helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import {
  createClient,
  createTenant,
  createUser,
  expectStatus,
  relyingParty,
  signInThroughBrowser,
  type CreatedClient,
  type CreatedUser,
} from '../helpers/fixtures.ts';
import { OVER_HTTP } from '../helpers/insecure.ts';
import { BROWSER_HEADERS, loginError, openLoginPage, postLoginForm } from '../helpers/login.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const REDIRECT = 'https://app.example.test/callback';
const PUBLIC_REDIRECT = 'https://spa.example.test/callback';
const GENERIC_FAILURE = 'Incorrect username or password.';

let db: TestDatabase;
let server: TestServer;
let client: CreatedClient;
let user: CreatedUser;
let config: oidc.Configuration;
let publicConfig: oidc.Configuration;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  await createTenant(server, 'acme');
  user = await createUser(server, 'acme', 'ada');
  client = await createClient(server, 'acme', {
    client_name: 'Acme Web',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
  });
  config = await relyingParty(server, 'acme', client);
  const publicClient = await createClient(server, 'acme', {
    client_name: 'Acme SPA',
    redirect_uris: [PUBLIC_REDIRECT],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'none',
  });
  publicConfig = await relyingParty(server, 'acme', publicClient);
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** A sign-in with a refresh token (offline_access needs the consent page). */
async function signInOffline(who: CreatedUser): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const { callback, verifier, state } = await signInThroughBrowser(config, who, {
    redirectUri: REDIRECT,
    scope: 'openid offline_access',
    prompt: 'consent',
  });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  expect(tokens.refresh_token).toBeTruthy();
  return tokens;
}

describe('redirect_uri', () => {
  it.each([
    ['unregistered', 'https://evil.example/callback'],
    ['with a look-alike host', 'https://app.example.test.evil.example/callback'],
    ['with an added path', 'https://app.example.test/callback/../../evil'],
    ['with an added query', 'https://app.example.test/callback?next=https://evil.example'],
    ['downgraded to http', 'http://app.example.test/callback'],
  ])('refuses a redirect_uri %s with an error page and no redirect', async (_name, attacker) => {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: attacker,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state: oidc.randomState(),
    });
    const res = await fetch(url, { redirect: 'manual', headers: BROWSER_HEADERS });
    const html = await res.text();
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain('· Portcullis</title>');
    expect(html).toContain('invalid_redirect_uri');
    expect(html).not.toContain('evil.example');
  });
});

describe('authorization code', () => {
  it('refuses a second redemption and revokes the tokens of the first', async () => {
    const { callback, verifier, state } = await signInThroughBrowser(config, user, { redirectUri: REDIRECT });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);

    await expect(
      oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
    ).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });

    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.fetchUserInfo(config, tokens.access_token, user.id)).rejects.toMatchObject({ status: 401 });
    const reuse = await auditEvents(server, 'acme', 'authorization_code.reuse');
    expect(reuse.length).toBeGreaterThan(0);
  });

  it('refuses a code with the wrong PKCE verifier', async () => {
    const { callback, state } = await signInThroughBrowser(config, user, { redirectUri: REDIRECT });
    await expect(
      oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state }),
    ).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
  });

  it('issues no code to a public client that sends no code_challenge', async () => {
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(publicConfig, { redirect_uri: PUBLIC_REDIRECT, scope: 'openid', state });
    const page = await new Browser(BROWSER_HEADERS).open(url.toString(), {}, (u) => u.startsWith(PUBLIC_REDIRECT));
    expect(page.url.startsWith(PUBLIC_REDIRECT)).toBe(true);
    const answer = new URL(page.url).searchParams;
    expect(answer.get('error')).toBe('invalid_request');
    expect(answer.get('error_description')).toMatch(/PKCE/);
    expect(answer.get('state')).toBe(state);
    expect(answer.has('code')).toBe(false);
  });
});

describe('refresh token', () => {
  it('treats a replayed rotated refresh token as theft: invalid_grant, grant revoked, audit event', async () => {
    const first = await signInOffline(user);
    const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);

    await expect(oidc.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
    // The whole grant is gone: the legitimate holder's newer refresh token and access token stop working too.
    await expect(oidc.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
    expect((await oidc.tokenIntrospection(config, second.access_token)).active).toBe(false);

    const events = await auditEvents(server, 'acme', 'refresh_token.reuse');
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ actor: `client:${client.client_id}`, details: { grantType: 'refresh_token', grantRevoked: true } });
  });
});

describe('client authentication', () => {
  it('answers a wrong client secret with 401 invalid_client', async () => {
    const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent('not-the-secret')}`).toString('base64');
    const res = await fetch(config.serverMetadata().token_endpoint!, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'any-refresh-token' }),
    });
    expect(await expectStatus(res, 401)).toMatchObject({ error: 'invalid_client' });

    // openid-client sees the same refusal as an invalid_client challenge.
    const wrong = await oidc.discovery(new URL(server.issuer('acme')), client.client_id, undefined, oidc.ClientSecretBasic('not-the-secret'), OVER_HTTP);
    const error = await oidc.refreshTokenGrant(wrong, 'any-refresh-token').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
    expect((error as oidc.WWWAuthenticateChallengeError).cause[0]?.parameters.error).toBe('invalid_client');
  });
});

describe('tenant isolation', () => {
  it('answers discovery of an unknown tenant with 404', async () => {
    const res = await fetch(`${server.url}/t/no-such-tenant/.well-known/openid-configuration`);
    await expectStatus(res, 404);
  });

  it("refuses tenant A's access token at tenant B's userinfo and introspection", async () => {
    await createTenant(server, 'beta');
    const betaClient = await createClient(server, 'beta', { redirect_uris: [REDIRECT], grant_types: ['authorization_code'] });
    const betaConfig = await relyingParty(server, 'beta', betaClient);

    const { callback, verifier, state } = await signInThroughBrowser(config, user, { redirectUri: REDIRECT });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const userinfo = (cfg: oidc.Configuration): Promise<Response> =>
      fetch(cfg.serverMetadata().userinfo_endpoint!, { headers: { authorization: `Bearer ${tokens.access_token}` } });

    // The token works where it was issued, so the refusals below are about the tenant, not the token.
    expect((await userinfo(config)).status).toBe(200);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);

    const other = await userinfo(betaConfig);
    expect(other.status).toBe(401);
    expect(other.headers.get('www-authenticate')).toMatch(/invalid_token/);
    expect((await oidc.tokenIntrospection(betaConfig, tokens.access_token)).active).toBe(false);
  });
});

describe('login form', () => {
  it('answers a wrong password and an unknown username alike, and records why', async () => {
    const { browser, page } = await openLoginPage(config, { redirectUri: REDIRECT });
    const wrongPassword = await browser.submit(page, '/login', { username: 'ada', password: 'not-her-password' });
    const unknownUser = await browser.submit(wrongPassword, '/login', { username: 'nobody-here', password: 'not-her-password' });

    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(wrongPassword.status);
    expect(loginError(wrongPassword.html)).toBe(GENERIC_FAILURE);
    expect(loginError(unknownUser.html)).toBe(GENERIC_FAILURE);
    // Apart from the echoed username the two pages are the same.
    expect(unknownUser.html.replace('value="nobody-here"', '')).toBe(wrongPassword.html.replace('value="ada"', ''));

    const failures = await auditEvents(server, 'acme', 'signin.failure');
    const badPassword = failures.find((e) => e.details.username === 'ada');
    const unknown = failures.find((e) => e.details.username === 'nobody-here');
    expect(badPassword).toMatchObject({ subject: `user:${user.id}`, details: { reason: 'bad_password' } });
    expect(unknown).toMatchObject({ subject: null, details: { reason: 'unknown_user' } });
  });

  it('answers hostile usernames with the generic failure or a clear 400, never a server error', async () => {
    let { browser, page } = await openLoginPage(config, { redirectUri: REDIRECT });
    // A username past every column's length, a right-to-left override, a lone surrogate: no such account.
    for (const username of ['a'.repeat(1000), 'a\u202Eda', '\uD800']) {
      const answer = await browser.submit(page, '/login', { username, password: 'not-her-password' });
      expect(answer.status, JSON.stringify(username)).toBe(401);
      expect(loginError(answer.html)).toBe(GENERIC_FAILURE);
      page = answer;
    }
    // A NUL byte, which PostgreSQL cannot hold in text (the risk gate's read refuses it): bad input, 400.
    for (const username of ['ada\u0000', '\u0000']) {
      const answer = await browser.submit(page, '/login', { username, password: 'not-her-password' });
      expect(answer.status, JSON.stringify(username)).toBe(400);
      expect(answer.html).toContain('the request holds characters that are not allowed');
    }
    // Past the form's limit: the same 400 as any malformed form.
    ({ browser, page } = await openLoginPage(config, { redirectUri: REDIRECT }));
    const long = await browser.submit(page, '/login', { username: 'a'.repeat(1025), password: 'x' });
    expect(long.status).toBe(400);
    expect(long.html).toContain('malformed request');
    // The real user still signs in on a fresh page afterwards.
    ({ browser, page } = await openLoginPage(config, { redirectUri: REDIRECT }));
    const done = await browser.submit(page, '/login', { username: user.username, password: user.password }, (u) => u.startsWith(REDIRECT));
    expect(new URL(done.url).searchParams.has('code')).toBe(true);
  });

  it('refuses a login post without or with a wrong csrf field (403)', async () => {
    const { browser, page } = await openLoginPage(config, { redirectUri: REDIRECT });
    const credentials = { username: user.username, password: user.password };
    expect((await postLoginForm(browser, page, credentials)).status).toBe(403);
    expect((await postLoginForm(browser, page, { ...credentials, csrf: 'forged-token' })).status).toBe(403);
    // The same form with its own csrf field goes through, so the refusals were about the field.
    const done = await browser.submit(page, '/login', credentials, (u) => u.startsWith(REDIRECT));
    expect(new URL(done.url).searchParams.has('code')).toBe(true);
  });
});

describe('deactivated user', () => {
  it('can no longer refresh or sign in', async () => {
    const bob = await createUser(server, 'acme', 'bob');
    const tokens = await signInOffline(bob);
    await expectStatus(await server.admin(`/tenants/acme/users/${bob.id}`, { method: 'PATCH', body: { active: false } }), 200);

    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);

    const { browser, page } = await openLoginPage(config, { redirectUri: REDIRECT });
    const refused = await browser.submit(page, '/login', { username: bob.username, password: bob.password }, (u) => u.startsWith(REDIRECT));
    expect(refused.status).toBe(401);
    expect(loginError(refused.html)).toBe(GENERIC_FAILURE);
    const failures = await auditEvents(server, 'acme', 'signin.failure');
    expect(failures.find((e) => e.subject === `user:${bob.id}`)).toMatchObject({ details: { reason: 'inactive', username: 'bob' } });
  });
});
