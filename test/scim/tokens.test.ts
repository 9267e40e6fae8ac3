/**
 * Who may call SCIM: tokens made through the admin API (hashed, one tenant, revocable, last use recorded)
 * and client-credentials access tokens with scope `scim`; everything else is 401 with the SCIM error body.
 */
import * as oidc from 'openid-client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, expectStatus, relyingParty } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createScimToken, scimClient, USER_SCHEMA } from './scim-client.ts';

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  await createTenant(server, 'acme');
  await createTenant(server, 'globex');
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe('SCIM tokens', () => {
  it('are shown once, stored hashed, listed without the secret, and record their last use', async () => {
    const { id, token } = await createScimToken(server, 'acme', 'Okta');
    expect(token).toMatch(/^pcs_[A-Za-z0-9_-]{43}$/);
    const before = (await expectStatus(await server.admin('/tenants/acme/scim-tokens'), 200)) as { items: Record<string, unknown>[] };
    expect(before.items).toEqual([expect.objectContaining({ id, description: 'Okta', lastUsedAt: null, revokedAt: null, createdBy: 'admin:bootstrap' })]);
    expect(JSON.stringify(before)).not.toContain(token);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ token_hash: string }>('select token_hash from scim_tokens where id = $1', [id]);
      expect(rows[0]?.token_hash).toMatch(/^sha256:/);
      expect(rows[0]?.token_hash).not.toContain(token);
    } finally {
      await client.end();
    }
    expect((await scimClient(server, 'acme', token).list('/Users')).totalResults).toBe(0);
    const after = (await expectStatus(await server.admin('/tenants/acme/scim-tokens'), 200)) as { items: { lastUsedAt: string | null }[] };
    expect(after.items[0]?.lastUsedAt).toEqual(expect.any(String));
  });

  it('stop working once revoked, and are scoped to their tenant', async () => {
    const { id, token } = await createScimToken(server, 'acme');
    expect((await scimClient(server, 'globex', token).get('/Users')).status).toBe(401);
    expect((await scimClient(server, 'acme', token).get('/Users')).status).toBe(200);
    expect((await server.admin(`/tenants/acme/scim-tokens/${id}`, { method: 'DELETE' })).status).toBe(204);
    const res = await scimClient(server, 'acme', token).get('/Users');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
    expect((await server.admin(`/tenants/acme/scim-tokens/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('refuse a missing, malformed or unknown bearer with 401', async () => {
    const base = `${server.url}/t/acme/scim/v2/Users`;
    for (const authorization of [undefined, 'Basic Zm9vOmJhcg==', 'Bearer ', 'Bearer pcs_unknown']) {
      const res = await fetch(base, { headers: authorization ? { authorization } : {} });
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
      expect(await res.json()).toMatchObject({ status: '401' });
    }
  });

  it('audit who made and revoked them', async () => {
    const events = (await expectStatus(await server.admin('/tenants/acme/audit-events?limit=100'), 200)) as { items: { type: string }[] };
    const types = events.items.map((e) => e.type);
    expect(types).toContain('scim.token_created');
    expect(types).toContain('scim.token_revoked');
  });
});

describe('client-credentials access tokens', () => {
  it('work with scope scim and act as scim-client:{clientId}', async () => {
    const client = await createClient(server, 'acme', { client_name: 'HR feed', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'scim' });
    const config = await relyingParty(server, 'acme', client);
    const { access_token } = await oidc.clientCredentialsGrant(config, { scope: 'scim' });
    const scim = scimClient(server, 'acme', access_token);
    const created = await scim.request('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'hr-feed-user' });
    expect(created.status).toBe(201);
    const events = (await expectStatus(await server.admin(`/tenants/acme/audit-events?subject=user:${String(created.body.id)}`), 200)) as {
      items: { type: string; actor: string }[];
    };
    expect(events.items[0]).toMatchObject({ type: 'user.created', actor: `scim-client:${client.client_id}` });
    // The same token means nothing to another tenant.
    expect((await scimClient(server, 'globex', access_token).get('/Users')).status).toBe(401);
  });

  it('without scope scim are refused', async () => {
    const client = await createClient(server, 'acme', { client_name: 'Other', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    const config = await relyingParty(server, 'acme', client);
    const { access_token } = await oidc.clientCredentialsGrant(config);
    const res = await scimClient(server, 'acme', access_token).get('/Users');
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ status: '403' });
  });
});
