/**
 * The admin API against callers it must refuse: no or wrong credentials, and hostile input. Every refusal
 * answers `{error, error_description}` with the fitting status, never 500, and writes nothing.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, createUser, expectStatus, relyingParty } from '../helpers/fixtures.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../helpers/server.ts';

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  await createTenant(server, 'acme');
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

interface ErrorBody {
  error: string;
  error_description: string;
}

/** Expects the admin API's error shape with `status`; returns it. */
async function expectError(res: Response, status: number): Promise<ErrorBody> {
  const body = (await expectStatus(res, status)) as ErrorBody;
  expect(typeof body.error).toBe('string');
  expect(typeof body.error_description).toBe('string');
  return body;
}

/** A request with a raw body and any headers (server.admin always sends JSON with the admin token). */
function raw(path: string, init: { method?: string; body?: string; headers?: Record<string, string> }): Promise<Response> {
  return fetch(`${server.url}/admin/api${path}`, {
    method: init.method ?? 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...init.headers },
    body: init.body,
  });
}

async function userCount(tenant: string): Promise<number> {
  const page = (await expectStatus(await server.admin(`/tenants/${tenant}/users?limit=200`), 200)) as { items: unknown[] };
  return page.items.length;
}

async function auditCount(tenant: string): Promise<number> {
  const page = (await expectStatus(await server.admin(`/tenants/${tenant}/audit-events?limit=200`), 200)) as { items: unknown[] };
  return page.items.length;
}

describe('authentication', () => {
  it.each([
    ['no Authorization header', {}],
    ['a wrong bearer token', { authorization: 'Bearer not-the-admin-token-0123456789' }],
    ['an empty bearer token', { authorization: 'Bearer ' }],
    ['the right token under the Basic scheme', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }],
    ['the right token as a bare Basic credential', { authorization: `Basic ${ADMIN_TOKEN}` }],
    ['the right token without a scheme', { authorization: ADMIN_TOKEN }],
  ])('refuses %s with 401', async (_name, headers: Record<string, string>) => {
    const body = await expectError(await fetch(`${server.url}/admin/api/tenants`, { headers }), 401);
    expect(body.error).toBe('unauthorized');
  });

  it('does not take the token from the query string', async () => {
    await expectError(await fetch(`${server.url}/admin/api/tenants?access_token=${ADMIN_TOKEN}`), 401);
  });

  it('writes nothing for an unauthenticated change', async () => {
    const user = await createUser(server, 'acme', 'keeper');
    const before = await auditCount('acme');
    await expectError(await server.admin('/tenants', { body: { id: 'intruder', displayName: 'Intruder' }, token: null }), 401);
    await expectError(await server.admin('/tenants/acme/users', { body: { username: 'intruder' }, token: 'wrong-token-0123456789abcdef' }), 401);
    await expectError(await server.admin(`/tenants/acme/users/${user.id}`, { method: 'DELETE', token: null }), 401);
    await expectStatus(await server.admin('/tenants/intruder'), 404);
    await expectStatus(await server.admin(`/tenants/acme/users/${user.id}`), 200);
    expect(await auditCount('acme')).toBe(before);
  });

  it('accepts an admin-tenant access token only with the admin scope', async () => {
    const operator = await createClient(server, 'admin', { grant_types: ['client_credentials'], scope: 'admin' });
    const operatorConfig = await relyingParty(server, 'admin', operator);
    const withScope = await oidc.clientCredentialsGrant(operatorConfig, { scope: 'admin' });
    const withoutScope = await oidc.clientCredentialsGrant(operatorConfig);
    await expectStatus(await server.admin('/tenants', { token: withScope.access_token }), 200);
    await expectError(await server.admin('/tenants', { token: withoutScope.access_token }), 401);

    // Another tenant's token is never an admin token.
    const worker = await createClient(server, 'acme', { grant_types: ['client_credentials'] });
    const foreign = await oidc.clientCredentialsGrant(await relyingParty(server, 'acme', worker));
    await expectError(await server.admin('/tenants', { token: foreign.access_token }), 401);
  });
});

describe('hostile input', () => {
  it('answers malformed JSON with 400 and writes nothing', async () => {
    const before = await userCount('acme');
    const body = await expectError(
      await raw('/tenants/acme/users', { body: '{"username": "mallory", "password": ', headers: { 'content-type': 'application/json' } }),
      400,
    );
    expect(body.error).toBe('invalid_request');
    await expectError(await raw('/tenants', { body: '{"id": "broken"', headers: { 'content-type': 'application/json' } }), 400);
    // JSON that is not an object (strict parsing) is refused too.
    await expectError(await raw('/tenants', { body: '"broken"', headers: { 'content-type': 'application/json' } }), 400);
    expect(await userCount('acme')).toBe(before);
    await expectStatus(await server.admin('/tenants/broken'), 404);
  });

  it('answers a body over the limit with 413 and writes nothing', async () => {
    const before = await userCount('acme');
    const huge = JSON.stringify({ username: 'mallory', givenName: 'x'.repeat(100 * 1024) });
    const body = await expectError(await raw('/tenants/acme/users', { body: huge, headers: { 'content-type': 'application/json' } }), 413);
    expect(body.error).toBe('request_too_large');
    expect(await userCount('acme')).toBe(before);
  });

  it('answers a body that is not JSON with 415 and writes nothing', async () => {
    const before = await userCount('acme');
    const json = JSON.stringify({ username: 'mallory' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      await expectError(await raw('/tenants/acme/users', { body: json, headers: { 'content-type': type } }), 415);
    }
    await expectError(await raw('/tenants/acme/users', { body: json }), 415);
    expect(await userCount('acme')).toBe(before);
  });

  it('refuses unknown fields (400) instead of dropping them', async () => {
    await expectError(await server.admin('/tenants', { body: { id: 'extra', displayName: 'Extra', plan: 'enterprise' } }), 400);
    await expectError(await server.admin('/tenants/acme/users', { body: { username: 'mallory', isAdmin: true } }), 400);
    await expectError(
      await server.admin('/tenants/acme/clients', { body: { redirect_uris: ['https://x.example.test/cb'], client_secret: 'chosen-by-caller' } }),
      400,
    );
    await expectStatus(await server.admin('/tenants/extra'), 404);
    expect(
      ((await expectStatus(await server.admin('/tenants/acme/users?q=mallory'), 200)) as { items: unknown[] }).items,
    ).toEqual([]);
  });

  it.each([['../x'], ['ACME'], ['a'.repeat(64)], ['-acme'], ['acme-'], ['ac me'], [''], ['acme\u0000'], ['t/../../admin']])(
    'refuses the tenant id %j (400)',
    async (id) => {
      await expectError(await server.admin('/tenants', { body: { id, displayName: 'Bad' } }), 400);
    },
  );

  it('accepts the longest valid tenant id (63 characters)', async () => {
    await createTenant(server, 'a'.repeat(63));
  });

  it.each([['two words'], ['tab\tname'], ['new\nline'], ['nul\u0000byte'], ['bell\u0007'], ['rtl\u202Eadmin'], [' ']])(
    'refuses the username %j (400)',
    async (username) => {
      await expectError(await server.admin('/tenants/acme/users', { body: { username } }), 400);
    },
  );

  it('refuses a bad username in PATCH too', async () => {
    const user = await createUser(server, 'acme', 'renamed');
    await expectError(await server.admin(`/tenants/acme/users/${user.id}`, { method: 'PATCH', body: { username: 'has space' } }), 400);
    expect(await expectStatus(await server.admin(`/tenants/acme/users/${user.id}`), 200)).toMatchObject({ username: 'renamed' });
  });

  it.each([
    ['/tenants/acme/users?cursor=garbage'],
    ['/tenants/acme/users?cursor=%00'],
    ['/tenants/acme/audit-events?cursor=garbage'],
    ['/tenants/acme/audit-events?since=yesterday'],
    ['/tenants?cursor=%00'],
    ['/tenants/acme/clients?cursor=%00'],
    ['/tenants?cursor=' + 'x'.repeat(300)],
    ['/tenants?limit=abc'],
    ['/tenants?limit=0'],
    ['/tenants?limit=100000'],
    ['/tenants/acme/users?limit=-1'],
  ])('answers the query %s with 400, not 500', async (path) => {
    const body = await expectError(await server.admin(path), 400);
    expect(body.error).toBe('invalid_request');
  });

  it.each([['/tenants/%00'], ['/tenants/acme/users/%00'], ['/tenants/acme/clients/%00'], ['/tenants/acme/users/not-a-uuid']])(
    'answers the path %s without a server error',
    async (path) => {
      const res = await server.admin(path);
      await res.arrayBuffer();
      expect([400, 404]).toContain(res.status);
    },
  );
});

describe('hostile input to the API, scope, key and provisioning settings endpoints', () => {
  const auditOf = async (type: string): Promise<unknown[]> =>
    ((await expectStatus(await server.admin(`/tenants/acme/audit-events?type=${type}&limit=200`), 200)) as { items: unknown[] }).items;

  it('refuses bad resource servers with 400, deletes only known ones, and audits every change', async () => {
    const bad: unknown[] = [
      {},
      { identifier: 'not a url', name: 'API' },
      { identifier: 'https://api.example.test/#frag', name: 'API' },
      { identifier: 'https://api.example.test', name: '' },
      { identifier: 'https://api.example.test', name: 'API', scopes: ['has space'] },
      { identifier: 'https://api.example.test', name: 'API', scopes: ['read"quote'] },
      { identifier: 'https://api.example.test', name: 'API', accessTokenTtl: 5 },
      { identifier: 'https://api.example.test', name: 'API', accessTokenTtl: 'forever' },
      { identifier: 'https://api.example.test', name: 'API', extra: true },
    ];
    for (const body of bad) await expectError(await server.admin('/tenants/acme/resource-servers', { body }), 400);
    expect(await auditOf('resource_server.created')).toHaveLength(0);

    const good = { identifier: 'https://hostile.example.test', name: 'API', scopes: ['read'] };
    await expectStatus(await server.admin('/tenants/acme/resource-servers', { body: good }), 201);
    await expectError(await server.admin('/tenants/acme/resource-servers', { body: good }), 409);
    await expectError(await server.admin('/tenants/acme/resource-servers', { method: 'DELETE' }), 400);
    await expectError(await server.admin('/tenants/acme/resource-servers?identifier=https%3A%2F%2Fnope.example.test', { method: 'DELETE' }), 404);
    await expectStatus(await server.admin(`/tenants/acme/resource-servers?identifier=${encodeURIComponent(good.identifier)}`, { method: 'DELETE' }), 204);
    expect(await auditOf('resource_server.created')).toHaveLength(1);
    expect(await auditOf('resource_server.deleted')).toHaveLength(1);
  });

  it('refuses a bad key rotation request without rotating', async () => {
    for (const body of [{ publishForSeconds: -1 }, { publishForSeconds: 'soon' }, { publishForSeconds: 31 * 24 * 3600 }, { other: 1 }]) {
      await expectError(await server.admin('/tenants/acme/keys/rotate', { body }), 400);
    }
    expect(await auditOf('keys.rotated')).toHaveLength(0);
  });

  it('refuses bad attribute-precedence documents, and audits a good one', async () => {
    for (const body of [{}, { order: [] }, { order: 'scim' }, { order: ['scim'], attributes: { title: [] } }, { order: ['scim'], extra: 1 }]) {
      await expectError(await server.admin('/tenants/acme/attribute-precedence', { method: 'PUT', body }), 400);
    }
    expect(await auditOf('attribute_precedence.updated')).toHaveLength(0);
    await expectStatus(await server.admin('/tenants/acme/attribute-precedence', { method: 'PUT', body: { order: ['scim', 'directory'] } }), 200);
    expect(await auditOf('attribute_precedence.updated')).toHaveLength(1);
  });

  it('refuses bad SCIM token requests with the standard errors', async () => {
    for (const body of [{}, { description: '' }, { description: 'x'.repeat(201) }, { description: 'ok', token: 'chosen-by-caller' }]) {
      await expectError(await server.admin('/tenants/acme/scim-tokens', { body }), 400);
    }
    await expectError(await server.admin('/tenants/acme/scim-tokens/not-a-uuid', { method: 'DELETE' }), 404);
    await expectError(await server.admin('/tenants/acme/scim-tokens/01900000-0000-7000-8000-000000000000', { method: 'DELETE' }), 404);
    await expectError(await server.admin('/tenants/acme/scim-tokens?cursor=garbage'), 400);
  });
});
