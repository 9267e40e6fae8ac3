/**
 * Passkeys go through the same sign-in pipeline as passwords, in real Chromium with a CDP virtual
 * authenticator: a username-less passkey sign-in is assessed (`risk.assessment`, `rba` in amr), a deny list
 * refuses it, and a phishing-resistant step-up after a password is answered with the passkey. The server
 * trusts the loopback proxy (TRUST_PROXY=loopback), so the browser's `X-Forwarded-For` is the client IP.
 */
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../helpers/audit.ts';
import { launchChromium, startCallbackServer, type CallbackServer, type ChromiumSession } from '../helpers/chromium.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, createUser, expectStatus, relyingParty, type CreatedClient, type CreatedUser } from '../helpers/fixtures.ts';
import { freePort, startTestServer, type TestServer } from '../helpers/server.ts';

const DENIED_IP = '198.51.100.23';
let REDIRECT = '';
let callback: CallbackServer | undefined;
let db: TestDatabase;
let server: TestServer;
let chrome: ChromiumSession;
let page: Page;
let base: string;
let ada: CreatedUser;
let client: CreatedClient;
let config: oidc.Configuration;
/** The form body Chromium posted for the passkey step-up (for the replay case). */
let stepUpAssertion: string | undefined;

beforeAll(async () => {
  callback = await startCallbackServer();
  REDIRECT = callback.url;
  const port = await freePort();
  base = `http://localhost:${port}`;
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url, port, publicUrl: base, env: { TRUST_PROXY: 'loopback' } });
  await createTenant(server, 'acme');
  ada = await createUser(server, 'acme', 'ada');
  client = await createClient(server, 'acme', { client_name: 'Acme Web', redirect_uris: [REDIRECT], grant_types: ['authorization_code'] });
  config = await relyingParty(server, 'acme', client);
  chrome = await launchChromium();
  page = chrome.page;
  page.setDefaultTimeout(15_000);
  page.on('request', (request) => {
    const body = request.method() === 'POST' && request.url().endsWith('/step-up') ? (request.postData() ?? '') : '';
    if (body.includes('method=passkey')) stepUpAssertion = body;
  });

  // Ada signs in to her account page with her password and adds a passkey (device-bound: `hwk`).
  await page.goto(`${base}/t/acme/account`);
  await signInWithPassword();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  await page.goto(`${base}/t/acme/account/passkeys`);
  await page.getByLabel('Passkey name').fill('Laptop');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.locator('.passkey', { hasText: 'Laptop' }).waitFor();
});

afterAll(async () => {
  await chrome?.close();
  await callback?.close();
  await server?.stop();
  await db?.drop();
});

async function signInWithPassword(): Promise<void> {
  await page.getByLabel('Username or email').fill(ada.username);
  await page.getByLabel('Password').fill(ada.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function putPolicy(policy: unknown): Promise<void> {
  await expectStatus(await server.admin('/tenants/acme/policy', { method: 'PUT', body: policy }), 200);
}

/** Opens the client's authorization request with prompt=login: the login page, whatever the session. */
async function startAuthorization(): Promise<{ verifier: string; state: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    prompt: 'login',
  });
  await page.goto(url.toString());
  await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
  return { verifier, state };
}

async function idTokenClaims(flow: { verifier: string; state: string }): Promise<oidc.IDToken | undefined> {
  await page.waitForURL((u) => u.toString().startsWith(REDIRECT));
  const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
  return tokens.claims();
}

describe('passkeys in the risk pipeline (Chromium)', () => {
  it('assesses a username-less passkey sign-in: risk.assessment recorded, rba in amr with hwk and mfa', async () => {
    const flow = await startAuthorization();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const claims = await idTokenClaims(flow);
    expect(claims?.sub).toBe(ada.id);
    expect(claims?.amr).toEqual(expect.arrayContaining(['hwk', 'user', 'mfa', 'rba']));
    expect(claims?.acr).toBe('phrh');

    const success = (await auditEvents(server, 'acme', 'signin.success')).find((e) => e.details.method === 'passkey');
    expect(success?.subject).toBe(`user:${ada.id}`);
    const assessmentId = success?.details.assessmentId;
    expect(typeof assessmentId).toBe('string');
    const assessments = await auditEvents(server, 'acme', 'risk.assessment');
    const assessment = assessments.find((e) => e.details.assessmentId === assessmentId);
    expect(assessment?.subject).toBe(`user:${ada.id}`);
    expect(assessment?.details.clientId).toBe(client.client_id);
  });

  it('answers a phishing-resistant step-up after a password with the passkey: amr pwd, hwk, mfa', async () => {
    await putPolicy({ clients: { [client.client_id]: { requiredAcr: 'phr' } } });
    const flow = await startAuthorization();
    await signInWithPassword();
    await page.getByRole('heading', { name: "Confirm it's you" }).waitFor();
    expect(await page.locator('#passkey-required').textContent()).toContain('needs a passkey');
    expect(await page.locator('input[name=code]').count()).toBe(0);
    // The options pass through the test on their way to the page (read before the page navigates away).
    let requested: { userVerification?: string; allowCredentials?: { id: string }[] } = {};
    await page.route('**/step-up/passkey/options', async (route) => {
      const response = await route.fetch();
      requested = (await response.json()) as typeof requested;
      await route.fulfill({ response });
    });
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    const claims = await idTokenClaims(flow);
    await page.unrouteAll();
    expect(requested.userVerification).toBe('required');
    const [credential] = await chrome.credentials();
    expect(requested.allowCredentials?.map((c) => c.id)).toEqual([Buffer.from(credential?.credentialId ?? '', 'base64').toString('base64url')]);
    expect(claims?.sub).toBe(ada.id);
    expect(claims?.amr).toEqual(expect.arrayContaining(['pwd', 'hwk', 'mfa', 'rba']));
    expect(claims?.acr).toBe('phrh');

    const [stepUp] = await auditEvents(server, 'acme', 'signin.step_up.success');
    expect(stepUp?.details.method).toBe('passkey');
    const success = (await auditEvents(server, 'acme', 'signin.success')).find((e) => e.details.method === 'password+passkey');
    expect(success?.details.acr).toBe('phrh');
  });

  it('refuses a replayed step-up assertion (its challenge was consumed)', async () => {
    expect(stepUpAssertion).toBeDefined();
    await startAuthorization();
    await signInWithPassword();
    await page.getByRole('heading', { name: "Confirm it's you" }).waitFor();
    const csrf = (await page.locator('#passkey-form input[name=csrf]').getAttribute('value')) ?? '';
    const action = (await page.locator('#passkey-form').getAttribute('action')) ?? '';
    const form = { csrf, method: 'passkey', response: new URLSearchParams(stepUpAssertion ?? '').get('response') ?? '' };
    const replay = await page.request.post(new URL(action, base).toString(), { form, maxRedirects: 0 });
    expect(replay.status()).toBe(401);
    expect(await replay.text()).toContain('That passkey didn&#39;t work');
    const failures = await auditEvents(server, 'acme', 'signin.step_up.failure');
    expect(failures.some((e) => e.details.method === 'passkey' && e.details.reason === 'challenge')).toBe(true);
    await putPolicy({});
  });

  it('denies a passkey sign-in from a network on the deny list', async () => {
    await putPolicy({ deny: { networks: ['198.51.100.0/24'] } });
    await chrome.context.setExtraHTTPHeaders({ 'x-forwarded-for': DENIED_IP });
    try {
      await startAuthorization();
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.getByRole('heading', { name: 'Sign-in not allowed' }).waitFor();
      expect(page.url().startsWith(REDIRECT)).toBe(false);
    } finally {
      await chrome.context.setExtraHTTPHeaders({});
      await putPolicy({});
    }
    const denied = (await auditEvents(server, 'acme', 'signin.denied')).find((e) => e.details.method === 'passkey');
    expect(denied?.subject).toBe(`user:${ada.id}`);
    expect(denied?.ip).toBe(DENIED_IP);
    expect(denied?.details.policyRule).toBe('deny.networks');
  });

  it('refuses the passkey of a deactivated user', async () => {
    await expectStatus(await server.admin(`/tenants/acme/users/${ada.id}`, { method: 'PATCH', body: { active: false } }), 200);
    await startAuthorization();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.locator('#login-error').waitFor();
    expect(page.url().startsWith(REDIRECT)).toBe(false);
    const failures = await auditEvents(server, 'acme', 'signin.failure');
    expect(failures.some((e) => e.details.method === 'passkey' && e.details.reason === 'inactive' && e.subject === `user:${ada.id}`)).toBe(true);
  });
});
