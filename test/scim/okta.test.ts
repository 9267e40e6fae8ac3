/**
 * Replays the requests Okta's SCIM 2.0 provisioning sends, as its "SCIM 2.0 protocol reference" and
 * Runscope/Okta SCIM spec tests publish them: paged lookups with startIndex/count, create with a password
 * and `groups: []`, GET by id, PUT for every profile update, deactivation by PATCH `{"active": false}`
 * without a path, groups renamed by a path-less replace carrying the id, members added and removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_SCHEMA, patchOp, USER_SCHEMA, type Json, type ScimClient, startScimWorld, stopScimWorld, type ScimWorld } from './scim-client.ts';

let scim: ScimClient;
let world: ScimWorld | undefined;

beforeAll(async () => {
  world = await startScimWorld('okta-org', 'Okta');
  ({ scim } = world);
});

afterAll(async () => {
  await stopScimWorld(world);
});

const oktaUser: Json = {
  schemas: [USER_SCHEMA],
  userName: 'test.user@okta.local',
  name: { givenName: 'Test', familyName: 'User' },
  emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
  displayName: 'Test User',
  locale: 'en-US',
  externalId: '00ujl29u0le5T6Aj10h7',
  groups: [],
  password: '1mz050nq-Secret',
  active: true,
};

describe('Okta user provisioning', () => {
  let id = '';
  let user: Json = {};

  it('checks with a paged filter, then creates (groups: [] is read-only and ignored)', async () => {
    const none = await scim.list(`/Users?filter=${encodeURIComponent('userName eq "test.user@okta.local"')}&startIndex=1&count=100`);
    expect(none).toMatchObject({ totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
    const res = await scim.request('POST', '/Users', oktaUser);
    expect(res.status).toBe(201);
    id = String(res.body.id);
    user = res.body;
    expect(res.body).toMatchObject({ userName: 'test.user@okta.local', displayName: 'Test User', locale: 'en-US', active: true });
    expect(res.body).not.toHaveProperty('password');
  });

  it('answers a lookup by id and a random id with 404', async () => {
    expect((await scim.get(`/Users/${id}`)).body).toMatchObject({ id, name: { givenName: 'Test', familyName: 'User' } });
    const missing = await scim.get('/Users/010101ab-0000-7000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: '404' });
  });

  it('pages through users with startIndex and count', async () => {
    for (const n of [1, 2]) {
      await scim.request('POST', '/Users', { ...oktaUser, userName: `page.user${n}@okta.local`, externalId: `ext-${n}`, emails: [{ primary: true, value: `page${n}@okta.local`, type: 'work' }] });
    }
    const page = await scim.list('/Users?startIndex=1&count=2');
    expect(page).toMatchObject({ totalResults: 3, startIndex: 1, itemsPerPage: 2 });
    const rest = await scim.list('/Users?startIndex=3&count=2');
    expect(rest).toMatchObject({ totalResults: 3, startIndex: 3, itemsPerPage: 1 });
  });

  it('updates the profile with PUT (the whole resource, as Okta sends it)', async () => {
    const put = { ...user, name: { givenName: 'Another', familyName: 'User' }, phoneNumbers: [{ value: '+1 555 0100', type: 'mobile' }] };
    const res = await scim.request('PUT', `/Users/${id}`, put);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: { givenName: 'Another', familyName: 'User' }, phoneNumbers: [{ value: '+1 555 0100', type: 'mobile' }] });
    expect(res.body.meta).toMatchObject({ version: 'W/"2"' });
    // PUT replaces: an attribute left out is cleared.
    const { locale: _locale, ...withoutLocale } = res.body;
    const cleared = await scim.request('PUT', `/Users/${id}`, withoutLocale);
    expect(cleared.body).not.toHaveProperty('locale');
  });

  it('deactivates with a path-less PATCH replace and reactivates with PUT', async () => {
    const off = await scim.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { active: false } }));
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ active: false });
    const on = await scim.request('PUT', `/Users/${id}`, { ...user, active: true });
    expect(on.body).toMatchObject({ active: true });
  });
});

describe('Okta group push', () => {
  it('creates, renames (path-less replace with id), adds and removes members, replaces with PUT, deletes', async () => {
    const users = await scim.list('/Users?count=3');
    const [a, b] = users.Resources.map((r) => String(r.id));
    const created = await scim.request('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Test SCIMv2', members: [] });
    expect(created.status).toBe(201);
    const gid = String(created.body.id);
    const found = await scim.list(`/Groups?filter=${encodeURIComponent('displayName eq "Test SCIMv2"')}&startIndex=1&count=100`);
    expect(found.Resources.map((r) => r.id)).toEqual([gid]);

    const renamed = await scim.request('PATCH', `/Groups/${gid}`, patchOp({ op: 'replace', value: { id: gid, displayName: 'Test SCIMv2 renamed' } }));
    expect(renamed.status).toBe(204);

    const add = await scim.request('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: [{ value: a, display: 'test.user@okta.local' }, { value: b }] }));
    expect(add.status).toBe(204);
    const remove = await scim.request('PATCH', `/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq "${a}"]` }));
    expect(remove.status).toBe(204);
    // Removing again is not an error.
    expect((await scim.request('PATCH', `/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq "${a}"]` }))).status).toBe(204);
    const after = await scim.get(`/Groups/${gid}`);
    expect(after.body).toMatchObject({ displayName: 'Test SCIMv2 renamed', members: [{ value: b, type: 'User' }] });

    const put = await scim.request('PUT', `/Groups/${gid}`, { schemas: [GROUP_SCHEMA], id: gid, displayName: 'Test SCIMv2 renamed', members: [{ value: a }] });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ members: [{ value: a }] });
    expect((put.body.members as Json[]).length).toBe(1);

    expect((await scim.request('DELETE', `/Groups/${gid}`)).status).toBe(204);
    expect((await scim.get(`/Groups/${gid}`)).status).toBe(404);
  });
});
