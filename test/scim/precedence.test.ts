/**
 * Attribute precedence between sources: a user that directory sync owns keeps its attributes when SCIM
 * tries to change them (400 mutability, reported in the audit trail); the tenant can change the order.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase } from '../helpers/database.ts';
import { expectStatus } from '../helpers/fixtures.ts';
import { type TestServer } from '../helpers/server.ts';
import { patchOp, USER_SCHEMA, type ScimClient, startScimWorld, stopScimWorld, type ScimWorld } from './scim-client.ts';

let db: TestDatabase;
let server: TestServer;
let scim: ScimClient;
let world: ScimWorld | undefined;
let id = '';

/** Stands in for directory sync (another issue): the user came from LDAP and it owns `title`. */
async function markDirectoryOwned(userId: string): Promise<void> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query(`update users set source = 'directory:corp', attribute_sources = '{"title": "directory"}' where id = $1`, [userId]);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  world = await startScimWorld('acme');
  ({ db, server, scim } = world);
  const created = await scim.request('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'synced@acme.com', title: 'From LDAP' });
  id = String(created.body.id);
  await markDirectoryOwned(id);
});

afterAll(async () => {
  await stopScimWorld(world);
});

describe('attribute precedence', () => {
  it('refuses a SCIM change to a directory-owned attribute and reports it', async () => {
    const res = await scim.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'From SCIM' }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ scimType: 'mutability' });
    expect(String(res.body.detail)).toContain('title (directory)');
    expect((await scim.get(`/Users/${id}`)).body).toMatchObject({ title: 'From LDAP' });
    const events = (await expectStatus(await server.admin(`/tenants/acme/audit-events?type=identity.attribute_conflict`), 200)) as { items: { details: Record<string, unknown> }[] };
    expect(events.items[0]?.details).toMatchObject({ source: 'scim', outcome: 'rejected', conflicts: [{ attribute: 'title', owner: 'directory' }] });
  });

  it('treats attributes without a recorded owner, and the record itself, as owned by the user\'s source', async () => {
    expect((await scim.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'nickName', value: 'Syncy' }))).status).toBe(400);
    expect((await scim.request('DELETE', `/Users/${id}`)).status).toBe(400);
  });

  it('follows the tenant\'s order once changed', async () => {
    await expectStatus(await server.admin('/tenants/acme/attribute-precedence', { method: 'PUT', body: { order: ['scim', 'directory', 'local'] } }), 200);
    expect(await (await server.admin('/tenants/acme/attribute-precedence')).json()).toEqual({ order: ['scim', 'directory', 'local'] });
    const res = await scim.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'From SCIM' }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ title: 'From SCIM' });
    // A per-attribute order overrides the default one.
    await expectStatus(await server.admin('/tenants/acme/attribute-precedence', { method: 'PUT', body: { order: ['scim'], attributes: { title: ['directory', 'scim'] } } }), 200);
    await markDirectoryOwned(id);
    expect((await scim.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'Again' }))).status).toBe(400);
    expect((await scim.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'nickName', value: 'ok' }))).status).toBe(200);
  });
});
