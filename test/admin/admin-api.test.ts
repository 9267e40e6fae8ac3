/**
 * The admin API contract (DESIGN.md "Admin API"): tenants, clients and users through the real server,
 * lists with `{items, next}` keyset paging, the OpenAPI document, and a verifiable audit trail afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditTrail } from '../helpers/audit.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, createUser, expectStatus } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

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

interface Page<T> {
  items: T[];
  next: string | null;
}

/** Follows `next` from the first page to the last and returns every item in order. */
async function collect(path: string, limit: number): Promise<{ items: Record<string, unknown>[]; pages: number }> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    const page = (await expectStatus(await server.admin(`${path}?${query.toString()}`), 200)) as Page<Record<string, unknown>>;
    expect(page.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.items);
    cursor = page.next;
    pages += 1;
    if (pages > 50) throw new Error('paging does not end');
  } while (cursor);
  return { items, pages };
}

/** A client-credentials token request with HTTP Basic authentication, answered as a bare status. */
async function tokenStatus(tenant: string, clientId: string, secret: string): Promise<number> {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const res = await fetch(`${server.issuer(tenant)}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('tenants', () => {
  it('creates a tenant (201) and reads it back', async () => {
    const created = await expectStatus(await server.admin('/tenants', { body: { id: 'globex', displayName: 'Globex' } }), 201);
    expect(created).toMatchObject({ id: 'globex', displayName: 'Globex', issuer: server.issuer('globex') });
    expect(await expectStatus(await server.admin('/tenants/globex'), 200)).toMatchObject({ id: 'globex', displayName: 'Globex' });
    await expectStatus(await server.admin('/tenants/no-such-tenant'), 404);
  });

  it('refuses a second tenant with the same id (409)', async () => {
    expect(await expectStatus(await server.admin('/tenants', { body: { id: 'acme', displayName: 'Again' } }), 409)).toMatchObject({
      error: 'conflict',
    });
  });

  it('lists tenants in pages that return each tenant once', async () => {
    for (const id of ['page-a', 'page-b', 'page-c']) await createTenant(server, id);
    const { items, pages } = await collect('/tenants', 2);
    const ids = items.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['admin', 'acme', 'globex', 'page-a', 'page-b', 'page-c']));
    expect(pages).toBe(Math.ceil(ids.length / 2));
    const all = (await expectStatus(await server.admin('/tenants?limit=200'), 200)) as Page<{ id: string }>;
    expect(all.next).toBeNull();
    expect(all.items.map((t) => t.id)).toEqual(ids);
  });
});

describe('clients', () => {
  it('shows client_secret once, at registration', async () => {
    const created = await createClient(server, 'acme', { client_name: 'Worker', grant_types: ['client_credentials'] });
    expect(created.client_secret).toMatch(/^\S{32,}$/);

    const res = await server.admin(`/tenants/acme/clients/${created.client_id}`);
    const text = await res.text();
    expect(res.status).toBe(200);
    const fetched = JSON.parse(text) as Record<string, unknown>;
    expect(fetched).toMatchObject({ client_id: created.client_id, client_name: 'Worker', grant_types: ['client_credentials'] });
    expect(fetched).not.toHaveProperty('client_secret');
    expect(text).not.toContain(created.client_secret);

    const list = await (await server.admin('/tenants/acme/clients?limit=200')).text();
    expect(list).toContain(created.client_id);
    expect(list).not.toContain(created.client_secret);
    expect(list).not.toContain('client_secret"');
  });

  it('lists clients in pages that return each client once', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await createClient(server, 'acme', { redirect_uris: [`https://app${i}.example.test/cb`] })).client_id);
    const { items } = await collect('/tenants/acme/clients', 2);
    const listed = items.map((c) => c.client_id);
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual(expect.arrayContaining(ids));
  });

  it('changes a client with PATCH', async () => {
    const created = await createClient(server, 'acme', { client_name: 'Before', redirect_uris: ['https://before.example.test/cb'] });
    const patched = await expectStatus(
      await server.admin(`/tenants/acme/clients/${created.client_id}`, {
        method: 'PATCH',
        body: { client_name: 'After', redirect_uris: ['https://after.example.test/cb'] },
      }),
      200,
    );
    expect(patched).toMatchObject({ client_name: 'After', redirect_uris: ['https://after.example.test/cb'] });
    expect(patched).not.toHaveProperty('client_secret');
    expect(await expectStatus(await server.admin(`/tenants/acme/clients/${created.client_id}`), 200)).toMatchObject({
      client_name: 'After',
      redirect_uris: ['https://after.example.test/cb'],
    });
  });

  it('rotates the secret: the new one works at the token endpoint, the old one no longer does', async () => {
    const created = await createClient(server, 'acme', { grant_types: ['client_credentials'] });
    const oldSecret = created.client_secret!;
    expect(await tokenStatus('acme', created.client_id, oldSecret)).toBe(200);

    const rotated = (await expectStatus(
      await server.admin(`/tenants/acme/clients/${created.client_id}`, { method: 'PATCH', body: { rotate_secret: true } }),
      200,
    )) as { client_secret?: string };
    expect(rotated.client_secret).toBeTruthy();
    expect(rotated.client_secret).not.toBe(oldSecret);

    expect(await tokenStatus('acme', created.client_id, oldSecret)).toBe(401);
    expect(await tokenStatus('acme', created.client_id, rotated.client_secret!)).toBe(200);
    expect(await expectStatus(await server.admin(`/tenants/acme/clients/${created.client_id}`), 200)).not.toHaveProperty('client_secret');
  });

  it('deletes a client (204), after which it is gone (404) and cannot get tokens', async () => {
    const created = await createClient(server, 'acme', { grant_types: ['client_credentials'] });
    expect(await tokenStatus('acme', created.client_id, created.client_secret!)).toBe(200);
    await expectStatus(await server.admin(`/tenants/acme/clients/${created.client_id}`, { method: 'DELETE' }), 204);
    await expectStatus(await server.admin(`/tenants/acme/clients/${created.client_id}`), 404);
    await expectStatus(await server.admin(`/tenants/acme/clients/${created.client_id}`, { method: 'DELETE' }), 404);
    expect(await tokenStatus('acme', created.client_id, created.client_secret!)).toBe(401);
  });

  it('refuses a second client with the same client_id (409)', async () => {
    await createClient(server, 'acme', { client_id: 'fixed-id', redirect_uris: ['https://fixed.example.test/cb'] });
    await expectStatus(
      await server.admin('/tenants/acme/clients', { body: { client_id: 'fixed-id', redirect_uris: ['https://fixed.example.test/cb'] } }),
      409,
    );
  });
});

describe('users', () => {
  it('creates a user (201) and reads it back without secrets', async () => {
    const res = await server.admin('/tenants/acme/users', {
      body: { username: 'ada', email: 'ada@example.com', givenName: 'Ada', familyName: 'Lovelace', password: 'correct-horse-42!', active: true },
    });
    const text = await res.text();
    expect(res.status).toBe(201);
    expect(text).not.toContain('correct-horse-42!');
    const created = JSON.parse(text) as { id: string };
    const fetched = await expectStatus(await server.admin(`/tenants/acme/users/${created.id}`), 200);
    expect(fetched).toMatchObject({
      id: created.id,
      username: 'ada',
      email: 'ada@example.com',
      givenName: 'Ada',
      familyName: 'Lovelace',
      active: true,
      source: 'local',
      groups: [],
    });
    expect(JSON.stringify(fetched)).not.toMatch(/argon2|password_hash|correct-horse/);
  });

  it('refuses a duplicate username in any letter case, and a duplicate email (409)', async () => {
    await createUser(server, 'acme', 'linus', { email: 'linus@example.com' });
    for (const username of ['linus', 'LINUS', 'Linus']) {
      expect(
        await expectStatus(await server.admin('/tenants/acme/users', { body: { username, email: `${username}-other@example.com` } }), 409),
      ).toMatchObject({ error: 'conflict' });
    }
    await expectStatus(await server.admin('/tenants/acme/users', { body: { username: 'linus2', email: 'linus@example.com' } }), 409);
    await expectStatus(await server.admin('/tenants/acme/users', { body: { username: 'linus3', email: 'LINUS@example.com' } }), 409);
    // The same username is free in another tenant.
    await createTenant(server, 'initech');
    await createUser(server, 'initech', 'linus', { email: 'linus@example.com' });
  });

  it('searches users with ?q= over username, email and name', async () => {
    const grace = await createUser(server, 'acme', 'grace', { givenName: 'Grace', familyName: 'Hopper', email: 'amazing@navy.example' });
    for (const q of ['GRACE', 'hopp', 'navy.example']) {
      const page = (await expectStatus(await server.admin(`/tenants/acme/users?q=${encodeURIComponent(q)}`), 200)) as Page<{ id: string }>;
      expect(page.items.map((u) => u.id)).toEqual([grace.id]);
    }
    // LIKE wildcards are literal characters in a search.
    const wildcard = (await expectStatus(await server.admin('/tenants/acme/users?q=%25'), 200)) as Page<unknown>;
    expect(wildcard.items).toEqual([]);
  });

  it('lists users in pages that return each user once', async () => {
    for (const name of ['pa', 'pb', 'pc']) await createUser(server, 'acme', `page-${name}`);
    const { items } = await collect('/tenants/acme/users', 2);
    const ids = items.map((u) => u.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(items.map((u) => u.username)).toEqual(expect.arrayContaining(['page-pa', 'page-pb', 'page-pc']));
  });

  it('changes a user with PATCH and removes one with DELETE', async () => {
    const user = await createUser(server, 'acme', 'margaret');
    const patched = await expectStatus(
      await server.admin(`/tenants/acme/users/${user.id}`, { method: 'PATCH', body: { familyName: 'Hamilton', active: false } }),
      200,
    );
    expect(patched).toMatchObject({ id: user.id, username: 'margaret', familyName: 'Hamilton', active: false });
    expect(await expectStatus(await server.admin(`/tenants/acme/users/${user.id}`), 200)).toMatchObject({ familyName: 'Hamilton', active: false });

    await expectStatus(await server.admin(`/tenants/acme/users/${user.id}`, { method: 'DELETE' }), 204);
    await expectStatus(await server.admin(`/tenants/acme/users/${user.id}`), 404);
    await expectStatus(await server.admin(`/tenants/acme/users/${user.id}`, { method: 'DELETE' }), 404);
  });

  it("never reaches another tenant's user (404), and leaves it untouched", async () => {
    await createTenant(server, 'umbrella');
    const stranger = await createUser(server, 'umbrella', 'alice');
    await expectStatus(await server.admin(`/tenants/acme/users/${stranger.id}`), 404);
    await expectStatus(await server.admin(`/tenants/acme/users/${stranger.id}`, { method: 'PATCH', body: { givenName: 'Eve' } }), 404);
    await expectStatus(await server.admin(`/tenants/acme/users/${stranger.id}`, { method: 'DELETE' }), 404);
    expect(await expectStatus(await server.admin(`/tenants/umbrella/users/${stranger.id}`), 200)).toMatchObject({
      username: 'alice',
      givenName: 'Ada',
    });
  });
});

describe('OpenAPI document', () => {
  it('describes the admin API', async () => {
    const doc = (await expectStatus(await server.admin('/openapi.json'), 200)) as {
      openapi: string;
      servers: { url: string }[];
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers[0]?.url).toBe(`${server.url}/admin/api`);
    for (const path of ['/tenants', '/tenants/{tenant}', '/tenants/{tenant}/clients/{id}', '/tenants/{tenant}/users', '/tenants/{tenant}/audit-events']) {
      expect(doc.paths).toHaveProperty([path]);
    }
    expect(Object.keys(doc.paths['/tenants/{tenant}/users/{id}'] ?? {}).sort()).toEqual(['delete', 'get', 'patch']);
  });
});

describe('audit trail', () => {
  it('records the admin changes and still verifies', async () => {
    const res = await server.admin('/tenants/acme/audit-events?limit=200');
    const { items } = (await expectStatus(res, 200)) as Page<{ type: string; actor: string }>;
    const types = new Set(items.map((e) => e.type));
    for (const t of ['tenant.created', 'client.created', 'client.updated', 'client.deleted', 'user.created', 'user.updated', 'user.deleted']) {
      expect(types).toContain(t);
    }
    expect(items.filter((e) => e.type === 'client.deleted').every((e) => e.actor === 'admin:bootstrap')).toBe(true);
    for (const tenant of ['acme', 'umbrella', 'globex']) {
      const report = await verifyAuditTrail(server, tenant);
      expect(report).toMatchObject({ ok: true, problems: [] });
      expect(report.events).toBeGreaterThan(0);
    }
  });
});
