/**
 * Replays the requests Microsoft Entra ID's provisioning service sends, as its SCIM integration guide and
 * validator publish them ("Tutorial: Develop and plan provisioning for a SCIM endpoint"): look the user up
 * by a filter that finds nothing, create, read back, capitalised PATCH ops, string booleans, manager set
 * and cleared, soft delete (active false), groups with members added and removed, hard delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, GROUP_SCHEMA, patchOp, USER_SCHEMA, type Json, type ScimClient, startScimWorld, stopScimWorld, type ScimWorld } from './scim-client.ts';

let scim: ScimClient;
let world: ScimWorld | undefined;

beforeAll(async () => {
  world = await startScimWorld('contoso', 'Entra ID');
  ({ scim } = world);
});

afterAll(async () => {
  await stopScimWorld(world);
});

const USER_NAME = 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1';
const EXTERNAL_ID = '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef';

function entraUser(userName: string, externalId: string, email: string): Json {
  return {
    schemas: [USER_SCHEMA, ENTERPRISE],
    externalId,
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: email }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
  };
}

describe('Entra ID user provisioning', () => {
  let userId = '';
  let managerId = '';

  it('finds nothing with a userName filter before creating', async () => {
    const list = await scim.list(`/Users?filter=${encodeURIComponent(`userName eq "${USER_NAME}"`)}`);
    expect(list).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, Resources: [] });
  });

  it('creates the user (201, Location, ETag, meta)', async () => {
    const res = await scim.request('POST', '/Users', entraUser(USER_NAME, EXTERNAL_ID, 'Test_User_fd0ea13b@testuser.com'));
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    userId = String(res.body.id);
    expect(res.headers.get('location')).toBe(`${scim.base}/Users/${userId}`);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.body).toMatchObject({
      schemas: [USER_SCHEMA],
      userName: USER_NAME,
      externalId: EXTERNAL_ID,
      active: true,
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea13b@testuser.com' }],
      meta: { resourceType: 'User', location: `${scim.base}/Users/${userId}`, version: 'W/"1"' },
    });
    expect(res.body).not.toHaveProperty('password');
  });

  it('refuses a duplicate userName, whatever its case, with 409 uniqueness', async () => {
    const res = await scim.request('POST', '/Users', entraUser(USER_NAME.toUpperCase(), 'other', 'other@testuser.com'));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
  });

  it('reads the user back by id, by userName and by externalId', async () => {
    expect((await scim.get(`/Users/${userId}`)).body).toMatchObject({ id: userId, userName: USER_NAME });
    const byName = await scim.list(`/Users?filter=${encodeURIComponent(`userName eq "${USER_NAME.toLowerCase()}"`)}`);
    expect(byName.Resources.map((r) => r.id)).toEqual([userId]);
    const byExternal = await scim.list(`/Users?filter=${encodeURIComponent(`externalId eq "${EXTERNAL_ID}"`)}`);
    expect(byExternal.Resources.map((r) => r.id)).toEqual([userId]);
  });

  it('applies capitalised Replace ops with value-filtered paths', async () => {
    const res = await scim.request(
      'PATCH',
      `/Users/${userId}`,
      patchOp(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      emails: [{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }],
      name: { familyName: 'updatedFamilyName', givenName: 'givenName' },
      meta: { version: 'W/"2"' },
    });
  });

  it('applies a path-less Replace with dotted and URN-prefixed keys', async () => {
    const res = await scim.request(
      'PATCH',
      `/Users/${userId}`,
      patchOp({
        op: 'replace',
        value: {
          displayName: 'Updated Display',
          'name.givenName': 'Grace',
          [`${ENTERPRISE}:department`]: 'Engineering',
          [`${ENTERPRISE}:employeeNumber`]: '701984',
          'addresses[type eq "work"].locality': 'Redmond',
        },
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      schemas: [USER_SCHEMA, ENTERPRISE],
      displayName: 'Updated Display',
      name: { givenName: 'Grace' },
      addresses: [{ type: 'work', locality: 'Redmond' }],
      [ENTERPRISE]: { department: 'Engineering', employeeNumber: '701984' },
    });
  });

  it('changes the userName with a Replace', async () => {
    const res = await scim.request('PATCH', `/Users/${userId}`, patchOp({ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' }));
    expect(res.body).toMatchObject({ userName: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' });
  });

  it('sets the manager with an Add of a bare id, and clears it with a Remove', async () => {
    const manager = await scim.request('POST', '/Users', entraUser('Manager_1@testuser.com', 'mgr-1', 'manager1@testuser.com'));
    managerId = String(manager.body.id);
    const set = await scim.request('PATCH', `/Users/${userId}`, patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: managerId }));
    expect(set.body[ENTERPRISE]).toMatchObject({ manager: { value: managerId, $ref: `${scim.base}/Users/${managerId}` } });
    const byManager = await scim.list(`/Users?filter=${encodeURIComponent(`${ENTERPRISE}:manager.value eq "${managerId}"`)}`);
    expect(byManager.Resources.map((r) => r.id)).toEqual([userId]);
    const cleared = await scim.request('PATCH', `/Users/${userId}`, patchOp({ op: 'Remove', path: `${ENTERPRISE}:manager` }));
    expect(cleared.status).toBe(200);
    expect(cleared.body[ENTERPRISE]).not.toHaveProperty('manager');
  });

  it('soft-deletes with active "False" (a string boolean) and reactivates with "True"', async () => {
    const off = await scim.request('PATCH', `/Users/${userId}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    expect(off.body).toMatchObject({ active: false });
    const filtered = await scim.list(`/Users?filter=${encodeURIComponent('active eq false')}`);
    expect(filtered.Resources.map((r) => r.id)).toEqual([userId]);
    const on = await scim.request('PATCH', `/Users/${userId}`, patchOp({ op: 'Replace', value: { active: 'True' } }));
    expect(on.body).toMatchObject({ active: true });
  });

  it('manages a group: create, find, rename, members added and removed in one request', async () => {
    const empty = await scim.list(`/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Group_1"')}`);
    expect(empty.totalResults).toBe(0);
    const created = await scim.request('POST', '/Groups', { schemas: [GROUP_SCHEMA], externalId: 'grp-ext-1', displayName: 'Group_1', meta: { resourceType: 'Group' } });
    expect(created.status).toBe(201);
    const groupId = String(created.body.id);
    expect(created.body).toMatchObject({ displayName: 'Group_1', externalId: 'grp-ext-1', members: [] });

    const byId = await scim.list(`/Groups?excludedAttributes=members&filter=${encodeURIComponent(`id eq "${groupId}"`)}`);
    expect(byId.Resources).toHaveLength(1);
    expect(byId.Resources[0]).not.toHaveProperty('members');

    const renamed = await scim.request('PATCH', `/Groups/${groupId}`, patchOp({ op: 'Replace', path: 'displayName', value: 'Group_1_renamed' }));
    expect(renamed.status).toBe(204);

    const add = await scim.request(
      'PATCH',
      `/Groups/${groupId}`,
      patchOp({ op: 'Add', path: 'members', value: [{ $ref: null, value: userId }, { $ref: null, value: managerId }] }),
    );
    expect(add.status).toBe(204);
    const both = await scim.list(`/Groups?filter=${encodeURIComponent(`id eq "${groupId}" and members[value eq "${userId}"]`)}`);
    expect(both.totalResults).toBe(1);

    const swap = await scim.request(
      'PATCH',
      `/Groups/${groupId}`,
      patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: managerId }] }, { op: 'Add', path: 'members', value: [{ value: userId }] }),
    );
    expect(swap.status).toBe(204);
    const group = await scim.get(`/Groups/${groupId}`);
    expect(group.body).toMatchObject({ displayName: 'Group_1_renamed', members: [{ value: userId, type: 'User', display: 'Updated Display' }] });
    const user = await scim.get(`/Users/${userId}`);
    expect(user.body).toMatchObject({ groups: [{ value: groupId, display: 'Group_1_renamed', type: 'direct' }] });

    expect((await scim.request('DELETE', `/Groups/${groupId}`)).status).toBe(204);
    expect((await scim.get(`/Groups/${groupId}`)).status).toBe(404);
  });

  it('deletes the user (204), after which it is 404', async () => {
    expect((await scim.request('DELETE', `/Users/${userId}`)).status).toBe(204);
    const gone = await scim.get(`/Users/${userId}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
  });
});
