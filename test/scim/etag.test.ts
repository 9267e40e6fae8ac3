/** ETags (RFC 7644 §3.14): meta.version as a weak ETag, If-Match → 412, If-None-Match → 304, no lost updates. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_SCHEMA, patchOp, USER_SCHEMA, type ScimClient, startScimWorld, stopScimWorld, type ScimWorld } from './scim-client.ts';

let scim: ScimClient;
let world: ScimWorld | undefined;
let id = '';

beforeAll(async () => {
  world = await startScimWorld('acme');
  ({ scim } = world);
  id = String((await scim.request('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'etag@acme.com' })).body.id);
});

afterAll(async () => {
  await stopScimWorld(world);
});

describe('ETags', () => {
  it('sends meta.version as the ETag header and answers If-None-Match with 304', async () => {
    const res = await scim.get(`/Users/${id}`);
    const etag = res.headers.get('etag');
    expect(etag).toBe('W/"1"');
    expect((res.body.meta as { version: string }).version).toBe(etag);
    const same = await scim.get(`/Users/${id}`, { 'if-none-match': etag ?? '' });
    expect(same.status).toBe(304);
    expect(same.text).toBe('');
    expect((await scim.get(`/Users/${id}`, { 'if-none-match': 'W/"99"' })).status).toBe(200);
  });

  it('refuses a PATCH, PUT or DELETE with a stale If-Match (412), accepts the current one', async () => {
    const stale = await scim.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'x' }), { 'if-match': 'W/"7"' });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '412' });
    const fresh = await scim.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'x' }), { 'if-match': 'W/"1"' });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('etag')).toBe('W/"2"');
    const put = await scim.request('PUT', `/Users/${id}`, { schemas: [USER_SCHEMA], userName: 'etag@acme.com' }, { 'if-match': 'W/"1"' });
    expect(put.status).toBe(412);
    const del = await scim.request('DELETE', `/Users/${id}`, undefined, { 'if-match': '"1"' });
    expect(del.status).toBe(412);
    expect((await scim.get(`/Users/${id}`)).status).toBe(200);
  });

  it('does not bump the version when nothing changed', async () => {
    const before = await scim.get(`/Users/${id}`);
    const again = await scim.request('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'x' }));
    expect(again.headers.get('etag')).toBe(before.headers.get('etag'));
  });

  it('loses no update when many PATCHes race on one user', async () => {
    const before = Number(/\d+/.exec((await scim.get(`/Users/${id}`)).headers.get('etag') ?? '')?.[0]);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        scim.request('PATCH', `/Users/${id}`, patchOp({ op: 'add', path: 'phoneNumbers', value: [{ value: `+1 555 010${i}`, type: 'work' }] })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    const after = await scim.get(`/Users/${id}`);
    expect(after.body.phoneNumbers).toHaveLength(8);
    expect(after.headers.get('etag')).toBe(`W/"${before + 8}"`);
  });

  it('bumps a group version when its members change', async () => {
    const g = await scim.request('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'etag-group' });
    expect(g.headers.get('etag')).toBe('W/"1"');
    const patched = await scim.request('PATCH', `/Groups/${String(g.body.id)}`, patchOp({ op: 'add', path: 'members', value: [{ value: id }] }));
    expect(patched.headers.get('etag')).toBe('W/"2"');
    await scim.request('DELETE', `/Users/${id}`);
    expect((await scim.get(`/Groups/${String(g.body.id)}`)).headers.get('etag')).toBe('W/"3"');
  });
});
