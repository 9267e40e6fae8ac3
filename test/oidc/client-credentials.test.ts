/**
 * The client-credentials grant with openid-client: opaque tokens, RFC 9068 JWT access tokens for registered
 * APIs (RFC 8707 resource indicators) verified offline against the JWKS, key rotation, and the per-client
 * and per-IP rate limits.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, createUser, expectStatus, relyingParty, type CreatedClient } from '../helpers/fixtures.ts';
import { openLoginPage } from '../helpers/login.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const API = 'https://api.example.test';
let db: TestDatabase;
let server: TestServer;
let client: CreatedClient;
let config: oidc.Configuration;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  await createTenant(server, 'acme');
  client = await createClient(server, 'acme', { client_name: 'Acme worker', grant_types: ['client_credentials'] });
  config = await relyingParty(server, 'acme', client);
  await expectStatus(
    await server.admin('/tenants/acme/resource-servers', { body: { identifier: API, name: 'API', scopes: ['read', 'write'] } }),
    201,
  );
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

async function apiToken(scope = 'read'): Promise<string> {
  const tokens = await oidc.clientCredentialsGrant(config, { scope, resource: API });
  return tokens.access_token;
}

async function publishedKids(): Promise<string[]> {
  const jwks = (await expectStatus(await fetch(`${server.issuer('acme')}/jwks`), 200)) as { keys: JWK[] };
  return jwks.keys.map((k) => k.kid ?? '');
}

/**
 * The rate limits count in fixed one-minute windows of the wall clock. A burst that straddled a window
 * boundary would be counted in two windows, so start it well inside one (this waits, it does not retry).
 */
async function startOfQuietWindow(): Promise<void> {
  const intoWindow = Date.now() % 60_000;
  if (intoWindow > 55_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoWindow + 50));
}

describe('client credentials', () => {
  it('issues an opaque access token without a resource', async () => {
    const tokens = await oidc.clientCredentialsGrant(config);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.access_token.split('.')).toHaveLength(1);
    const introspection = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(introspection.active).toBe(true);
    expect(introspection.client_id).toBe(client.client_id);
  });

  it('issues an RFC 9068 JWT for a registered resource, verifiable offline', async () => {
    const token = await apiToken('read write');
    expect(decodeProtectedHeader(token).typ).toBe('at+jwt');
    const jwks = createRemoteJWKSet(new URL(`${server.issuer('acme')}/jwks`));
    const { payload } = await jwtVerify(token, jwks, { issuer: server.issuer('acme'), audience: API, typ: 'at+jwt' });
    expect(payload.client_id).toBe(client.client_id);
    expect(String(payload.scope).split(' ').sort()).toEqual(['read', 'write']);
    expect(payload.sub).toBe(client.client_id);
    expect(typeof payload.jti).toBe('string');
  });

  it('refuses an unknown resource with invalid_target', async () => {
    await expect(
      oidc.clientCredentialsGrant(config, { scope: 'read', resource: 'https://unknown.example.test' }),
    ).rejects.toMatchObject({ error: 'invalid_target', status: 400 });
  });

  it('keeps tokens signed before a key rotation verifiable and signs new ones with a new key', async () => {
    const before = await apiToken();
    const oldKid = decodeProtectedHeader(before).kid;
    expect(oldKid).toBeTruthy();

    const rotated = (await expectStatus(await server.admin('/tenants/acme/keys/rotate', { body: {} }), 200)) as { active: string[] };
    expect(rotated.active).not.toContain(oldKid);

    const after = await apiToken();
    const newKid = decodeProtectedHeader(after).kid;
    expect(newKid).toBeTruthy();
    expect(newKid).not.toBe(oldKid);
    expect(rotated.active).toContain(newKid);
    expect(await publishedKids()).toEqual(expect.arrayContaining([oldKid, newKid]));

    // A relying party that fetches the JWKS only now still verifies the token signed before the rotation.
    const jwks = createRemoteJWKSet(new URL(`${server.issuer('acme')}/jwks`));
    for (const token of [before, after]) {
      const { payload } = await jwtVerify(token, jwks, { issuer: server.issuer('acme'), audience: API, typ: 'at+jwt' });
      expect(payload.client_id).toBe(client.client_id);
    }
  });
});

describe('rate limits', () => {
  let limited: TestServer;

  beforeAll(async () => {
    limited = await startTestServer({
      databaseUrl: db.url,
      env: { RATE_LIMIT_CLIENT_PER_MINUTE: '5', RATE_LIMIT_LOGIN_PER_MINUTE: '3' },
    });
    await createTenant(limited, 'limited');
  });

  afterAll(async () => {
    await limited?.stop();
  });

  it('answers the 6th token request of a client in a minute with 429 and Retry-After', async () => {
    const worker = await createClient(limited, 'limited', { grant_types: ['client_credentials'] });
    const basic = Buffer.from(`${worker.client_id}:${worker.client_secret ?? ''}`).toString('base64');
    const tokenRequest = (): Promise<Response> =>
      fetch(`${limited.issuer('limited')}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
    await startOfQuietWindow();
    for (let i = 1; i <= 5; i++) await expectStatus(await tokenRequest(), 200);
    const sixth = await tokenRequest();
    expect(await expectStatus(sixth, 429)).toMatchObject({ error: 'too_many_requests' });
    const retryAfter = Number(sixth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('answers the 4th login post from one IP in a minute with 429 and Retry-After', async () => {
    const redirectUri = 'https://app.example.test/callback';
    const web = await createClient(limited, 'limited', { redirect_uris: [redirectUri] });
    const user = await createUser(limited, 'limited', 'carol');
    const { browser, page } = await openLoginPage(await relyingParty(limited, 'limited', web), { redirectUri });
    await startOfQuietWindow();
    let current = page;
    for (let i = 1; i <= 3; i++) {
      current = await browser.submit(current, '/login', { username: user.username, password: 'wrong-password' });
      expect(current.status).toBe(401);
    }
    const fourth = await browser.submit(current, '/login', { username: user.username, password: user.password });
    expect(fourth.status).toBe(429);
    const retryAfter = Number(fourth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });
});
