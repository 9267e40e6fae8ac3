/**
 * Deactivation over SCIM takes effect at once for sign-in: the user's refresh token stops working, a new
 * sign-in is refused, and a CAEP session-revoked event names the SCIM token as the actor. DELETE alike.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, expectStatus, relyingParty, signInThroughBrowser, type CreatedClient } from '../helpers/fixtures.ts';
import { loginError, openLoginPage } from '../helpers/login.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createScimToken, patchOp, scimClient, USER_SCHEMA, type ScimClient } from './scim-client.ts';

const REDIRECT = 'https://app.example.test/callback';
let db: TestDatabase;
let server: TestServer;
let scim: ScimClient;
let tokenId = '';
let client: CreatedClient;
let config: oidc.Configuration;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  await createTenant(server, 'acme');
  const token = await createScimToken(server, 'acme', 'Entra ID');
  tokenId = token.id;
  scim = scimClient(server, 'acme', token.token);
  client = await createClient(server, 'acme', { client_name: 'Acme Web', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'] });
  config = await relyingParty(server, 'acme', client);
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

async function provisionAndSignIn(userName: string): Promise<{ id: string; password: string; refresh: string }> {
  const password = 'Correct-Horse-42!';
  const res = await scim.request('POST', '/Users', { schemas: [USER_SCHEMA], userName, password, emails: [{ value: userName, primary: true }] });
  expect(res.status).toBe(201);
  const { callback, verifier, state } = await signInThroughBrowser(config, { username: userName, password }, {
    redirectUri: REDIRECT,
    scope: 'openid offline_access',
    prompt: 'consent',
  });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  expect(tokens.refresh_token).toBeTruthy();
  // The refresh token works before the change.
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  return { id: String(res.body.id), password, refresh: refreshed.refresh_token! };
}

async function expectSignInRefused(username: string, password: string): Promise<void> {
  const { browser, page } = await openLoginPage(config, { redirectUri: REDIRECT });
  const refused = await browser.submit(page, '/login', { username, password }, (u) => u.startsWith(REDIRECT));
  expect(refused.url.startsWith(REDIRECT)).toBe(false);
  expect(refused.status).toBe(401);
  expect(loginError(refused.html)).toBeTruthy();
}

describe('deactivation over SCIM', () => {
  it('ends the refresh token and refuses a new sign-in at once', async () => {
    const user = await provisionAndSignIn('leaver@acme.com');
    const off = await scim.request('PATCH', `/Users/${user.id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    expect(off.status).toBe(200);
    await expect(oidc.refreshTokenGrant(config, user.refresh)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expectSignInRefused('leaver@acme.com', user.password);

    const events = (await expectStatus(await server.admin(`/tenants/acme/audit-events?subject=user:${user.id}&limit=50`), 200)) as {
      items: { type: string; actor: string; details: Record<string, unknown> }[];
    };
    const caep = events.items.find((e) => e.type === 'caep.session_revoked');
    expect(caep).toMatchObject({ actor: `scim:${tokenId}`, details: { reason: 'user.deactivated', event: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked' } });
    expect(events.items.find((e) => e.type === 'user.updated')).toMatchObject({ actor: `scim:${tokenId}`, details: { changed: ['active'] } });
  });

  it('does the same for DELETE, and audits without secrets', async () => {
    const user = await provisionAndSignIn('deleted@acme.com');
    expect((await scim.request('DELETE', `/Users/${user.id}`)).status).toBe(204);
    await expect(oidc.refreshTokenGrant(config, user.refresh)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expectSignInRefused('deleted@acme.com', user.password);
    const res = await server.admin(`/tenants/acme/audit-events?subject=user:${user.id}&limit=50`);
    const text = await res.text();
    expect(text).toContain('caep.session_revoked');
    expect(text).toContain('"passwordSet":true');
    expect(text).not.toContain(user.password);
  });
});
