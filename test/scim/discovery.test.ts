/** Discovery (RFC 7644 §4) served from scim/*.json, read-only (405), /Me, and SCIM 404s. */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, relyingParty, signInThroughBrowser } from '../helpers/fixtures.ts';
import { type TestServer } from '../helpers/server.ts';
import { scimClient, USER_SCHEMA, type Json, type ScimClient, startScimWorld, stopScimWorld, type ScimWorld } from './scim-client.ts';

let server: TestServer;
let scim: ScimClient;
let world: ScimWorld | undefined;

beforeAll(async () => {
  world = await startScimWorld('acme');
  ({ server, scim } = world);
});

afterAll(async () => {
  await stopScimWorld(world);
});

describe('discovery', () => {
  it('serves ServiceProviderConfig with absolute locations', async () => {
    const res = await scim.get('/ServiceProviderConfig');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({
      patch: { supported: true },
      filter: { supported: true, maxResults: 1000 },
      sort: { supported: true },
      etag: { supported: true },
      meta: { resourceType: 'ServiceProviderConfig', location: `${scim.base}/ServiceProviderConfig` },
    });
  });

  it('lists ResourceTypes and Schemas and serves each by id, case-insensitively', async () => {
    const types = await scim.list('/ResourceTypes');
    expect(types.Resources.map((r) => r.id)).toEqual(['User', 'Group']);
    expect((await scim.get('/ResourceTypes/user')).body).toMatchObject({ id: 'User', endpoint: '/Users', schemaExtensions: [{ schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false }] });
    const schemas = await scim.list('/Schemas');
    expect(schemas.Resources.map((r) => r.id)).toEqual([USER_SCHEMA, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', 'urn:ietf:params:scim:schemas:core:2.0:Group']);
    const user = await scim.get(`/Schemas/${USER_SCHEMA.toUpperCase()}`);
    const userName = (user.body.attributes as Json[]).find((a) => a.name === 'userName');
    expect(userName).toMatchObject({ required: true, caseExact: false, uniqueness: 'server' });
    expect((await scim.get('/Schemas/urn:nope')).status).toBe(404);
  });

  it('answers writes with 405', async () => {
    for (const path of ['/ServiceProviderConfig', '/ResourceTypes', '/Schemas', `/Schemas/${USER_SCHEMA}`]) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const res = await scim.request(method, path, method === 'DELETE' ? undefined : {});
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '405' });
      }
    }
    expect((await scim.request('POST', '/Users/x', {})).status).toBe(405);
  });
});

describe('/Me', () => {
  it('returns the signed-in user for the user\'s access token, and 501 for a provisioning token', async () => {
    const REDIRECT = 'https://app.example.test/cb';
    await scim.request('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'me@acme.com', password: 'Correct-Horse-42!', displayName: 'Me Myself' });
    const client = await createClient(server, 'acme', { client_name: 'App', redirect_uris: [REDIRECT], grant_types: ['authorization_code'] });
    const config = await relyingParty(server, 'acme', client);
    const { callback, verifier, state } = await signInThroughBrowser(config, { username: 'me@acme.com', password: 'Correct-Horse-42!' }, { redirectUri: REDIRECT, scope: 'openid' });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const me = scimClient(server, 'acme', tokens.access_token);
    const res = await me.get('/Me');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ userName: 'me@acme.com', displayName: 'Me Myself' });
    expect(res.headers.get('location')).toBe(`${scim.base}/Users/${String(res.body.id)}`);
    // The user's token opens /Me only.
    expect((await me.get('/Users')).status).toBe(403);
    expect((await me.request('PATCH', '/Me', {})).status).toBe(501);
    expect((await scim.get('/Me')).status).toBe(501);
  });
});
