/** Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, and the advertised limits enforced with 413. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_SCHEMA, PATCH_OP, USER_SCHEMA, type Json, type ScimClient, startScimWorld, stopScimWorld, type ScimWorld } from './scim-client.ts';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
let scim: ScimClient;
let world: ScimWorld | undefined;

beforeAll(async () => {
  world = await startScimWorld('acme');
  ({ scim } = world);
});

afterAll(async () => {
  await stopScimWorld(world);
});

const user = (userName: string): Json => ({ schemas: [USER_SCHEMA], userName });
type Result = { method: string; bulkId?: string; status: string; location?: string; version?: string; response?: Json };

describe('Bulk', () => {
  it('resolves bulkId references, also forward ones, in paths and data', async () => {
    const res = await scim.request('POST', '/Bulk', {
      schemas: [BULK],
      Operations: [
        // The group refers to users that later operations create.
        { method: 'POST', path: '/Groups', bulkId: 'g1', data: { schemas: [GROUP_SCHEMA], displayName: 'Bulk team', members: [{ type: 'User', value: 'bulkId:u1' }, { value: 'bulkId:u2' }] } },
        { method: 'POST', path: '/Users', bulkId: 'u1', data: user('bulk1@acme.com') },
        { method: 'POST', path: '/Users', bulkId: 'u2', data: user('bulk2@acme.com') },
        { method: 'PATCH', path: '/Users/bulkId:u1', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse']);
    const ops = res.body.Operations as Result[];
    expect(ops.map((o) => [o.bulkId, o.status])).toEqual([
      ['g1', '201'],
      ['u1', '201'],
      ['u2', '201'],
      [undefined, '200'],
    ]);
    const group = await scim.get(new URL(ops[0]?.location ?? '').pathname.replace(/^.*\/scim\/v2/, ''));
    const memberIds = (group.body.members as Json[]).map((m) => m.value).sort();
    const userIds = [ops[1], ops[2]].map((o) => o?.location?.split('/').pop()).sort();
    expect(memberIds).toEqual(userIds);
    expect(ops[0]?.version).toBe('W/"1"');
  });

  it('reports failures per operation and stops after failOnErrors', async () => {
    const res = await scim.request('POST', '/Bulk', {
      schemas: [BULK],
      failOnErrors: 1,
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'dup', data: user('bulk1@acme.com') },
        { method: 'POST', path: '/Users', bulkId: 'never', data: user('never@acme.com') },
      ],
    });
    const ops = res.body.Operations as Result[];
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ bulkId: 'dup', status: '409', response: { scimType: 'uniqueness', status: '409' } });
    expect((await scim.list(`/Users?filter=${encodeURIComponent('userName eq "never@acme.com"')}`)).totalResults).toBe(0);
  });

  it('goes on past errors without failOnErrors; references to failed or unknown operations fail with 409', async () => {
    const res = await scim.request('POST', '/Bulk', {
      schemas: [BULK],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'bad', data: user('has spaces') },
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP_SCHEMA], displayName: 'G', members: [{ value: 'bulkId:bad' }] } },
        { method: 'DELETE', path: '/Users/bulkId:nowhere' },
        { method: 'DELETE', path: '/Users/01900000-0000-7000-8000-000000000000' },
        { method: 'POST', path: '/Users', bulkId: 'ok', data: user('fine@acme.com') },
      ],
    });
    const ops = res.body.Operations as Result[];
    expect(ops.map((o) => o.status)).toEqual(['400', '409', '409', '404', '201']);
    expect(ops[0]?.response).toMatchObject({ scimType: 'invalidValue' });
  });

  it('fails circular references', async () => {
    const res = await scim.request('POST', '/Bulk', {
      schemas: [BULK],
      Operations: [
        { method: 'POST', path: '/Groups', bulkId: 'a', data: { schemas: [GROUP_SCHEMA], displayName: 'A', members: [{ value: 'bulkId:b' }] } },
        { method: 'POST', path: '/Groups', bulkId: 'b', data: { schemas: [GROUP_SCHEMA], displayName: 'B', members: [{ value: 'bulkId:a' }] } },
      ],
    });
    expect((res.body.Operations as Result[]).map((o) => o.status)).toEqual(['409', '409']);
  });

  it('advertises its limits and enforces them with 413', async () => {
    const config = await scim.get('/ServiceProviderConfig');
    const bulk = config.body.bulk as { maxOperations: number; maxPayloadSize: number };
    expect(bulk).toMatchObject({ supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
    const tooMany = await scim.request('POST', '/Bulk', {
      schemas: [BULK],
      Operations: Array.from({ length: bulk.maxOperations + 1 }, (_, i) => ({ method: 'DELETE', path: `/Users/x${i}` })),
    });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toMatchObject({ status: '413' });
    // Larger than a normal request may be, yet within maxPayloadSize: accepted.
    const big = await scim.request('POST', '/Bulk', {
      schemas: [BULK],
      Operations: [{ method: 'POST', path: '/Users', bulkId: 'big', data: { ...user('big@acme.com'), title: 'x'.repeat(2000), x509Certificates: Array.from({ length: 40 }, () => ({ value: 'A'.repeat(2000) })) } }],
    });
    expect(big.status).toBe(200);
    const tooBig = await scim.request('POST', '/Bulk', { schemas: [BULK], Operations: [], padding: 'x'.repeat(bulk.maxPayloadSize + 1) });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toMatchObject({ status: '413' });
  });

  it('refuses a body that is not a BulkRequest', async () => {
    const res = await scim.request('POST', '/Bulk', { schemas: ['urn:nope'], Operations: [] });
    expect(res.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    expect((await scim.get('/Bulk')).status).toBe(405);
  });
});
