/**
 * Hostile input: filter injection (quotes, SQL fragments, deep nesting, very long filters), oversized
 * bodies, wrong content types, and another tenant's ids (404, never the other tenant's data).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createTenant } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createScimToken, GROUP_SCHEMA, patchOp, scimClient, USER_SCHEMA, type ScimClient } from './scim-client.ts';

let db: TestDatabase;
let server: TestServer;
let acme: ScimClient;
let globex: ScimClient;
let globexUser = '';
let globexGroup = '';

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  await createTenant(server, 'acme');
  await createTenant(server, 'globex');
  acme = scimClient(server, 'acme', (await createScimToken(server, 'acme')).token);
  globex = scimClient(server, 'globex', (await createScimToken(server, 'globex')).token);
  await acme.request('POST', '/Users', { schemas: [USER_SCHEMA], userName: "o'brien@acme.com" });
  await acme.request('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'plain@acme.com' });
  globexUser = String((await globex.request('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'secret@globex.com', title: 'Globex only' })).body.id);
  globexGroup = String((await globex.request('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Globex board' })).body.id);
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

async function userCount(): Promise<number> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>('select count(*)::text as n from users');
    return Number(rows[0]?.n);
  } finally {
    await c.end();
  }
}

describe('filter injection', () => {
  it('treats quotes and SQL fragments inside values as data', async () => {
    const before = await userCount();
    const cases: [string, number][] = [
      [String.raw`userName eq "o'brien@acme.com"`, 1],
      [String.raw`userName eq "x' or '1'='1"`, 0],
      [String.raw`userName eq "x\" or userName pr or \"a"`, 0],
      [String.raw`userName co "'; drop table users; --"`, 0],
      [String.raw`userName sw "%"`, 0],
      [String.raw`userName co "_"`, 0],
      [String.raw`userName eq "\u0027 or 1=1 --"`, 0],
      [String.raw`title eq "Globex only"`, 0],
    ];
    for (const [filter, expected] of cases) {
      const list = await acme.list(`/Users?filter=${encodeURIComponent(filter)}`);
      expect(list.totalResults, filter).toBe(expected);
    }
    expect(await userCount()).toBe(before);
  });

  it('refuses SQL outside values, unknown attributes with SQL in their names, and control characters', async () => {
    for (const filter of [
      'userName eq "a" ; drop table users',
      'userName eq "a" or 1=1',
      "userName) or (1=1 eq \"a\"",
      'u.username eq "a"',
      'userName eq "a" union select * from users',
      'userName eq "nul\u0000"',
      'emails[value eq "a" or true]',
      'userName eq "a" --',
    ]) {
      const res = await acme.get(`/Users?filter=${encodeURIComponent(filter)}`);
      expect(res.status, filter).toBe(400);
      expect(res.body).toMatchObject({ scimType: 'invalidFilter' });
    }
  });

  it('bounds nesting and length', async () => {
    const deep = `${'('.repeat(200)}userName eq "a"${')'.repeat(200)}`;
    const nots = `${'not ('.repeat(100)}userName pr${')'.repeat(100)}`;
    const long = Array.from({ length: 200 }, (_, i) => `userName eq "u${i}"`).join(' or ');
    const huge = `userName eq "${'x'.repeat(5_000)}"`;
    for (const filter of [deep, nots, long, huge]) {
      const res = await acme.get(`/Users?filter=${encodeURIComponent(filter)}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    }
    // In a SearchRequest body the filter is not bounded by the URL's length: the parser's limit applies.
    const search = await acme.request('POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: `userName eq "${'x'.repeat(50_000)}"`,
    });
    expect(search.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
  });
});

describe('bodies', () => {
  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const res = await acme.request('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'big@acme.com', title: 'x'.repeat(70 * 1024) });
    expect(res.status).toBe(413);
  });

  it('refuses a wrong content type with 415 and malformed JSON with 400 invalidSyntax', async () => {
    const form = await acme.request('POST', '/Users', 'userName=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(form.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '415' });
    const xml = await acme.request('PUT', '/Users/x', '<user/>', { 'content-type': 'text/xml' });
    expect(xml.status).toBe(415);
    const broken = await acme.request('POST', '/Users', '{"schemas": [', { 'content-type': 'application/json' });
    expect(broken.body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
    const notObject = await acme.request('POST', '/Users', '[1,2]');
    expect(notObject.body).toMatchObject({ status: '400' });
  });

  it('refuses unknown attributes, wrong types and control characters instead of dropping them', async () => {
    for (const body of [
      { schemas: [USER_SCHEMA], userName: 'a@acme.com', favouriteColour: 'blue' },
      { schemas: [USER_SCHEMA], userName: 'a@acme.com', active: 'maybe' },
      { schemas: [USER_SCHEMA], userName: 'a@acme.com', emails: [{ value: 'a@acme.com', primary: true }, { value: 'b@acme.com', primary: true }] },
      { schemas: [USER_SCHEMA], userName: 'evil\u0000name' },
      { schemas: [USER_SCHEMA], userName: 'has space' },
      { schemas: ['urn:evil'], userName: 'a@acme.com' },
      { schemas: [USER_SCHEMA] },
    ]) {
      const res = await acme.request('POST', '/Users', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('refuses PATCH on read-only attributes and malformed paths', async () => {
    const [user] = (await acme.list('/Users?count=1')).Resources;
    const id = String(user?.id);
    const ro = await acme.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'id', value: 'mine' }));
    expect(ro.body).toMatchObject({ status: '400', scimType: 'mutability' });
    const groups = await acme.request('PATCH', `/Users/${id}`, patchOp({ op: 'add', path: 'groups', value: [{ value: globexGroup }] }));
    expect(groups.body).toMatchObject({ scimType: 'mutability' });
    const bad = await acme.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'emails[type eq "work"', value: 'x' }));
    expect(bad.body).toMatchObject({ scimType: 'invalidPath' });
    const op = await acme.request('PATCH', `/Users/${id}`, patchOp({ op: 'merge', path: 'title', value: 'x' }));
    expect(op.body).toMatchObject({ scimType: 'invalidSyntax' });
    const none = await acme.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'emails[type eq "work" and value co "x"].value', value: 'y' }));
    expect(none.body).toMatchObject({ scimType: 'noTarget' });
    // All or nothing: the first operation is not kept when the second fails.
    const partial = await acme.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'kept?' }, { op: 'remove', path: 'userName' }));
    expect(partial.status).toBe(400);
    expect((await acme.get(`/Users/${id}`)).body).not.toHaveProperty('title', 'kept?');
  });
});

describe('tenant isolation', () => {
  it('answers another tenant\'s ids with 404 and never shows or changes its data', async () => {
    for (const [method, path, body] of [
      ['GET', `/Users/${globexUser}`, undefined],
      ['PUT', `/Users/${globexUser}`, { schemas: [USER_SCHEMA], userName: 'taken@acme.com' }],
      ['PATCH', `/Users/${globexUser}`, patchOp({ op: 'replace', path: 'active', value: false })],
      ['DELETE', `/Users/${globexUser}`, undefined],
      ['GET', `/Groups/${globexGroup}`, undefined],
      ['PATCH', `/Groups/${globexGroup}`, patchOp({ op: 'replace', path: 'displayName', value: 'pwned' })],
      ['DELETE', `/Groups/${globexGroup}`, undefined],
    ] as const) {
      const res = await acme.request(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.text).not.toContain('globex');
    }
    expect((await acme.list(`/Users?filter=${encodeURIComponent(`id eq "${globexUser}"`)}`)).totalResults).toBe(0);
    const [acmeUser] = (await acme.list('/Users?count=1')).Resources;
    // Another tenant's user as a group member or manager is unknown here.
    const group = await acme.request('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Mixed', members: [{ value: globexUser }] });
    expect(group.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    const manager = await acme.request('PATCH', `/Users/${String(acmeUser?.id)}`, patchOp({ op: 'add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', value: globexUser }));
    expect(manager.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    const still = await globex.get(`/Users/${globexUser}`);
    expect(still.body).toMatchObject({ userName: 'secret@globex.com', active: true, title: 'Globex only' });
  });

  it('answers unknown paths with a SCIM 404 and unknown tenants with 401', async () => {
    const res = await acme.get('/Nope');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
    expect((await acme.get('/Users/%E0%A4%A')).body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
    const other = scimClient(server, 'no-such-tenant', acme.token);
    expect((await other.get('/Users')).status).toBe(401);
  });
});
