/** Paging (RFC 7644 §3.4.2.4), sorting (§3.4.2.3) and attribute selection (§3.4.2.5), POST /.search. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_SCHEMA, type ScimClient, startScimWorld, stopScimWorld, type ScimWorld } from './scim-client.ts';

let scim: ScimClient;
let world: ScimWorld | undefined;
const USERS = 25;

const newUser = (n: number, prefix = 'user'): Record<string, unknown> => ({
  schemas: [USER_SCHEMA],
  userName: `${prefix}${String(n).padStart(3, '0')}@acme.com`,
  name: { givenName: `Given${String((n * 7) % USERS).padStart(2, '0')}`, familyName: 'Family' },
  emails: [{ value: `${prefix}${n}@acme.com`, type: 'work', primary: true }],
  title: n % 2 === 0 ? 'Even' : undefined,
});

beforeAll(async () => {
  world = await startScimWorld('acme');
  ({ scim } = world);
  for (let n = 0; n < USERS; n++) {
    const res = await scim.request('POST', '/Users', newUser(n));
    if (res.status !== 201) throw new Error(res.text);
  }
});

afterAll(async () => {
  await stopScimWorld(world);
});

describe('paging', () => {
  it('returns every user exactly once across pages, even while users are created and changed', async () => {
    const seen: string[] = [];
    let extra = 0;
    for (let start = 1; ; start += 10) {
      const page = await scim.list(`/Users?startIndex=${start}&count=10&filter=${encodeURIComponent('userName sw "user"')}`);
      seen.push(...page.Resources.map((r) => String(r.userName)));
      if (page.Resources.length < 10) break;
      // Concurrent writes between pages: a new user and a changed one.
      await scim.request('POST', '/Users', newUser(extra++, 'late'));
      const first = await scim.list('/Users?count=1');
      await scim.request('PATCH', `/Users/${String(first.Resources[0]?.id)}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'title', value: `changed-${start}` }],
      });
    }
    expect(seen).toHaveLength(USERS);
    expect(new Set(seen).size).toBe(USERS);
  });

  it('answers count=0 with totalResults only, and a startIndex past the end with no resources', async () => {
    const zero = await scim.list('/Users?count=0&filter=' + encodeURIComponent('userName sw "user"'));
    expect(zero).toMatchObject({ totalResults: USERS, itemsPerPage: 0, Resources: [] });
    const past = await scim.list('/Users?startIndex=1000&count=5');
    expect(past.Resources).toEqual([]);
    expect(past.startIndex).toBe(1000);
  });

  it('treats startIndex below 1 as 1 and refuses non-integers', async () => {
    expect((await scim.list('/Users?startIndex=-4&count=1')).startIndex).toBe(1);
    for (const q of ['count=abc', 'startIndex=1.5', 'count=1&count=2', 'sortOrder=sideways']) {
      const res = await scim.get(`/Users?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body).toMatchObject({ scimType: 'invalidValue' });
    }
  });
});

describe('sorting', () => {
  it('sorts by userName descending and by a sub-attribute, with id breaking ties', async () => {
    const filter = encodeURIComponent('userName sw "user"');
    const desc = await scim.list(`/Users?filter=${filter}&sortBy=userName&sortOrder=descending&count=100`);
    const names = desc.Resources.map((r) => String(r.userName));
    expect(names).toEqual([...names].sort().reverse());
    const byGiven = await scim.list(`/Users?filter=${filter}&sortBy=name.givenName&count=100`);
    const given = byGiven.Resources.map((r) => (r.name as { givenName: string }).givenName);
    expect(given).toEqual([...given].sort());
    const byTitle = await scim.list(`/Users?filter=${filter}&sortBy=title&count=100`);
    // Missing values sort last.
    expect(byTitle.Resources.at(-1)).not.toHaveProperty('title');
    expect((await scim.list(`/Users?filter=${filter}&sortBy=emails&count=3`)).Resources).toHaveLength(3);
  });

  it('refuses to sort by an unknown or multi-valued attribute', async () => {
    for (const sortBy of ['nope', 'phoneNumbers']) {
      const res = await scim.get(`/Users?sortBy=${sortBy}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ scimType: 'invalidValue' });
    }
  });
});

describe('attributes and excludedAttributes', () => {
  it('returns only the asked attributes, plus id and schemas', async () => {
    const list = await scim.list(`/Users?count=1&attributes=${encodeURIComponent('userName,name.givenName,urn:ietf:params:scim:schemas:core:2.0:User:emails.value')}`);
    const [user] = list.Resources;
    expect(Object.keys(user ?? {}).sort()).toEqual(['emails', 'id', 'name', 'schemas', 'userName']);
    expect(user?.name).toEqual({ givenName: expect.any(String) as unknown });
    expect(user?.emails).toEqual([{ value: expect.any(String) as unknown }]);
  });

  it('leaves out excluded attributes but never id', async () => {
    const [user] = (await scim.list('/Users?count=1&excludedAttributes=emails,meta,id,name.familyName')).Resources;
    expect(user).toHaveProperty('id');
    expect(user).not.toHaveProperty('emails');
    expect(user).not.toHaveProperty('meta');
    expect(user?.name).not.toHaveProperty('familyName');
  });

  it('applies to a single GET and refuses unknown names', async () => {
    const [first] = (await scim.list('/Users?count=1')).Resources;
    const one = await scim.get(`/Users/${String(first?.id)}?attributes=userName`);
    expect(Object.keys(one.body).sort()).toEqual(['id', 'schemas', 'userName']);
    const bad = await scim.get('/Users?attributes=notAnAttribute');
    expect(bad.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });
});

describe('POST /.search', () => {
  it('takes a SearchRequest body', async () => {
    const res = await scim.request('POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'title eq "Even"',
      attributes: ['userName'],
      sortBy: 'userName',
      startIndex: 1,
      count: 5,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ totalResults: 13, itemsPerPage: 5 });
  });
});
