/**
 * The main relying-party journey with openid-client as the other party: discovery, authorization code +
 * PKCE through the real login form, ID token checked against the JWKS, userinfo, refresh with rotation,
 * revocation, introspection, RP-initiated logout.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, createUser, relyingParty, signInThroughBrowser, type CreatedClient, type CreatedUser } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const REDIRECT = 'https://app.example.test/callback';
let db: TestDatabase;
let server: TestServer;
let client: CreatedClient;
let user: CreatedUser;
let config: oidc.Configuration;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  await createTenant(server, 'acme');
  user = await createUser(server, 'acme', 'ada');
  client = await createClient(server, 'acme', {
    client_name: 'Acme Web',
    redirect_uris: [REDIRECT],
    post_logout_redirect_uris: ['https://app.example.test/bye'],
    grant_types: ['authorization_code', 'refresh_token'],
  });
  config = await relyingParty(server, 'acme', client);
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe('authorization code + PKCE', () => {
  it('publishes discovery for the tenant issuer', () => {
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(server.issuer('acme'));
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.token_endpoint).toBe(`${server.issuer('acme')}/token`);
  });

  it('signs in through the login form and returns verifiable tokens', async () => {
    const { callback, verifier, state } = await signInThroughBrowser(config, user, {
      redirectUri: REDIRECT,
      scope: 'openid profile email offline_access',
      prompt: 'consent',
    });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const claims = tokens.claims();
    expect(claims?.sub).toBe(user.id);
    // RFC 8176: a password, and the risk engine took part (rba); single-factor acr (src/mfa/amr.ts).
    expect(claims?.amr).toEqual(['pwd', 'rba']);
    expect(claims?.acr).toBe('urn:portcullis:acr:1fa');

    // The ID token's signature against the published JWKS (not just what openid-client checks).
    const jwks = createRemoteJWKSet(new URL(`${server.issuer('acme')}/jwks`));
    const verified = await jwtVerify(tokens.id_token!, jwks, { issuer: server.issuer('acme'), audience: client.client_id });
    expect(verified.protectedHeader.alg).toBe('ES256');

    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info).toMatchObject({ sub: user.id, preferred_username: 'ada', email: 'ada@example.com', given_name: 'Ada' });

    // Refresh with rotation: a new refresh token each time.
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()?.sub).toBe(user.id);

    // Introspection, then revocation.
    const active = await oidc.tokenIntrospection(config, refreshed.access_token);
    expect(active.active).toBe(true);
    expect(active.sub).toBe(user.id);
    await oidc.tokenRevocation(config, refreshed.access_token);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);
  });

  it('ends the session with RP-initiated logout', async () => {
    const { callback, verifier, state, browser } = await signInThroughBrowser(config, user, { redirectUri: REDIRECT });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const logout = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'https://app.example.test/bye',
    });
    const confirm = await browser.open(logout.toString());
    expect(confirm.html).toContain('Sign out');
    const done = await browser.submit(confirm, '/session/end/confirm', { logout: 'yes' }, (u) => u.startsWith('https://app.example.test/bye'));
    expect(done.url.startsWith('https://app.example.test/bye')).toBe(true);

    // The session is gone: a new authorization request shows the login form again.
    const again = await browser.open(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      }).toString(),
      {},
      (u) => u.startsWith(REDIRECT),
    );
    expect(again.html).toContain('name="password"');
  });

  it('records sign-in and token events in the audit trail', async () => {
    const res = await server.admin('/tenants/acme/audit-events?limit=200');
    const { items } = (await res.json()) as { items: { type: string }[] };
    const types = new Set(items.map((e) => e.type));
    for (const t of ['signin.success', 'token.issued', 'logout', 'user.created', 'client.created']) expect(types).toContain(t);
  });
});
