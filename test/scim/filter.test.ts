/**
 * The filter grammar of RFC 7644 §3.4.2.2 against real PostgreSQL: a table of filters and the users each
 * must return, for Users and Groups; malformed or unsupported filters are 400 invalidFilter, never an
 * empty list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../helpers/fixtures.ts';
import { type TestServer } from '../helpers/server.ts';
import { ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, type ScimClient, startScimWorld, stopScimWorld, type ScimWorld } from './scim-client.ts';

let server: TestServer;
let scim: ScimClient;
let world: ScimWorld | undefined;
const ids: Record<string, string> = {};
let groupId = '';

beforeAll(async () => {
  world = await startScimWorld('acme');
  ({ server, scim } = world);
  const post = async (key: string, body: Record<string, unknown>): Promise<void> => {
    const res = await scim.request('POST', '/Users', { schemas: [USER_SCHEMA, ENTERPRISE], ...body });
    if (res.status !== 201) throw new Error(res.text);
    ids[key] = String(res.body.id);
  };
  await post('alice', {
    userName: 'alice@acme.com',
    externalId: 'ext-alice',
    title: 'Engineer',
    name: { givenName: 'Alice', familyName: 'Anders' },
    emails: [
      { value: 'alice@acme.com', type: 'work', primary: true },
      { value: 'alice@home.org', type: 'home' },
    ],
    [ENTERPRISE]: { department: 'Eng' },
  });
  await post('bob', {
    userName: 'bob@acme.com',
    title: 'Manager',
    active: false,
    name: { givenName: 'Bob', familyName: 'Brown' },
    emails: [{ value: 'bob@acme.com', type: 'work' }],
    [ENTERPRISE]: { department: 'Sales', manager: { value: ids.alice } },
  });
  await post('carol', {
    userName: 'carol@example.org',
    name: { givenName: 'Carol', familyName: 'Clark' },
    emails: [{ value: 'carol@example.org', type: 'work' }],
    phoneNumbers: [{ value: '+1 555 0101', type: 'mobile' }],
    [ENTERPRISE]: { department: 'Eng' },
  });
  // A user made through the admin API: only the email column, no SCIM document.
  ids.dave = (await createUser(server, 'acme', 'dave@acme.com', { email: 'dave@acme.com', givenName: 'Dave', familyName: 'Lovelace' })).id;
  const group = await scim.request('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: [{ value: ids.alice }, { value: ids.carol }] });
  groupId = String(group.body.id);
  await scim.request('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Empty' });
});

afterAll(async () => {
  await stopScimWorld(world);
});

async function usersMatching(filter: string): Promise<string[]> {
  const list = await scim.list(`/Users?filter=${encodeURIComponent(filter)}`);
  expect(list.totalResults).toBe(list.Resources.length);
  return list.Resources.map((r) => Object.entries(ids).find(([, id]) => id === r.id)?.[0] ?? String(r.id)).sort();
}

describe('user filters', () => {
  const table: [string | (() => string), string[]][] = [
    ['userName eq "ALICE@acme.com"', ['alice']],
    ['USERNAME Eq "bob@acme.com"', ['bob']],
    ['userName ne "alice@acme.com"', ['bob', 'carol', 'dave']],
    ['userName co "@ACME"', ['alice', 'bob', 'dave']],
    ['userName sw "b"', ['bob']],
    ['userName ew ".org"', ['carol']],
    [`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "carol@example.org"`, ['carol']],
    ['title pr', ['alice', 'bob']],
    ['not (title pr)', ['carol', 'dave']],
    ['title eq "engineer"', ['alice']],
    ['title ne "Engineer"', ['bob', 'carol', 'dave']],
    ['externalId eq "ext-alice"', ['alice']],
    ['externalId eq "EXT-ALICE"', []],
    ['emails[type eq "work" and value co "@acme.com"]', ['alice', 'bob', 'dave']],
    ['emails[type eq "home"]', ['alice']],
    ['emails.value ew "home.org"', ['alice']],
    ['emails co "example"', ['carol']],
    ['emails pr', ['alice', 'bob', 'carol', 'dave']],
    ['phoneNumbers[type eq "mobile"]', ['carol']],
    ['active eq false', ['bob']],
    ['active eq true and (title eq "Engineer" or name.givenName sw "car")', ['alice', 'carol']],
    ['name.familyName gt "B"', ['bob', 'carol', 'dave']],
    ['name.familyName le "brown"', ['alice', 'bob']],
    [`${ENTERPRISE}:department eq "Eng"`, ['alice', 'carol']],
    [() => `${ENTERPRISE}:manager.value eq "${ids.alice}"`, ['bob']],
    [() => `id eq "${ids.bob}"`, ['bob']],
    ['id eq "not-a-uuid"', []],
    [() => `groups.value eq "${groupId}"`, ['alice', 'carol']],
    ['meta.created gt "2000-01-01T00:00:00Z"', ['alice', 'bob', 'carol', 'dave']],
    ['meta.lastModified lt "2000-01-01T00:00:00Z"', []],
    ['meta.resourceType eq "User"', ['alice', 'bob', 'carol', 'dave']],
    ['not (userName eq "alice@acme.com") and not (userName eq "bob@acme.com")', ['carol', 'dave']],
    ['((userName eq "alice@acme.com")) or userName eq "carol@example.org"', ['alice', 'carol']],
    ['userName eq "alice@acme.com" or userName eq "bob@acme.com" and title eq "Nobody"', ['alice']],
    ['displayName eq null', ['alice', 'bob', 'carol', 'dave']],
  ];
  it.each(table.map(([f, expected]) => [typeof f === 'function' ? f.toString() : f, f, expected] as const))('%s', async (_label, f, expected) => {
    expect(await usersMatching(typeof f === 'function' ? f() : f)).toEqual(expected);
  });
});

describe('group filters', () => {
  it('selects groups by displayName and members', async () => {
    const names = async (filter: string): Promise<string[]> =>
      (await scim.list(`/Groups?filter=${encodeURIComponent(filter)}`)).Resources.map((r) => String(r.displayName)).sort();
    expect(await names('displayName sw "eng"')).toEqual(['Engineering']);
    expect(await names(`members.value eq "${ids.alice}"`)).toEqual(['Engineering']);
    expect(await names(`members[value eq "${ids.bob}"]`)).toEqual([]);
    expect(await names('members pr')).toEqual(['Engineering']);
    expect(await names('not (members pr)')).toEqual(['Empty']);
    expect(await names('members[type eq "User"]')).toEqual(['Engineering']);
  });
});

describe('malformed or unsupported filters', () => {
  const bad = [
    'userName',
    'userName eq',
    'userName eq bob',
    'foo eq "x"',
    'userName xx "a"',
    '(userName eq "a"',
    'userName eq "a")',
    'emails[type eq "work"',
    'emails[value eq "a"] and emails[type eq "b"][x eq "y"]',
    'password eq "secret"',
    'active gt true',
    'active eq "yes"',
    'meta.created gt "yesterday"',
    'name eq "x"',
    'userName eq "a" and',
    'urn:unknown:schema:attr eq "x"',
    'userName eq "unterminated',
    'emails[type eq "work" and value[x eq "y"]]',
    'not userName eq "a"',
    '',
  ];
  it.each(bad)('%j is 400 invalidFilter', async (filter) => {
    const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidFilter' });
  });

  it('refuses a filter on an attribute Groups do not have', async () => {
    const res = await scim.get(`/Groups?filter=${encodeURIComponent('userName eq "x"')}`);
    expect(res.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
  });
});
