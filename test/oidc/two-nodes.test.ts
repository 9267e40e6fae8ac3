/**
 * Two Portcullis nodes on one database behind one PUBLIC_URL, as behind a load balancer: a sign-in on
 * node 1, then (with node 1 gone) the code redeemed and the refresh token used on node 2. Nothing of the
 * flow may live in a node's memory, and both nodes' audit segments must verify as one trail.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditTrail } from '../helpers/audit.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, createUser, relyingParty, signInThroughBrowser, type CreatedClient, type CreatedUser } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const REDIRECT = 'https://app.example.test/callback';
let db: TestDatabase;
let node1: TestServer;
let node2: TestServer;
let client: CreatedClient;
let user: CreatedUser;

beforeAll(async () => {
  db = await createTestDatabase();
  node1 = await startTestServer({ databaseUrl: db.url });
  node2 = await startTestServer({ databaseUrl: db.url, publicUrl: node1.url });
  await createTenant(node1, 'acme');
  user = await createUser(node1, 'acme', 'ada');
  client = await createClient(node1, 'acme', { redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'] });
});

afterAll(async () => {
  await node1?.stop();
  await node2?.stop();
  await db?.drop();
});

/**
 * Sends every later request of `config` to node 2 instead of node 1, as a load balancer would after node 1
 * left; returns the paths that went there. Requests to any other address fail.
 */
function routeToNode2(config: oidc.Configuration): string[] {
  const requests: string[] = [];
  const publicHost = new URL(node1.url).host;
  config[oidc.customFetch] = (url, options) => {
    const target = new URL(url);
    if (target.host !== publicHost) throw new Error(`unexpected request to ${url}`);
    target.host = new URL(node2.url).host;
    requests.push(target.pathname);
    return fetch(target, options);
  };
  return requests;
}

describe('two nodes, one database', () => {
  it('redeems on node 2 a code issued on node 1, refreshes there, and keeps one verifiable audit trail', async () => {
    expect(node2.issuer('acme')).toBe(node1.issuer('acme'));
    const config = await relyingParty(node1, 'acme', client);
    const { callback, verifier, state } = await signInThroughBrowser(config, user, {
      redirectUri: REDIRECT,
      scope: 'openid profile offline_access',
      prompt: 'consent',
    });
    // Node 1 is gone: whatever the sign-in left behind must be in the database.
    await node1.stop();
    const requests = routeToNode2(config);

    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()?.sub).toBe(user.id);
    const jwks = createRemoteJWKSet(new URL(`${node2.url}/t/acme/jwks`));
    await jwtVerify(tokens.id_token!, jwks, { issuer: node1.issuer('acme'), audience: client.client_id });
    expect(await oidc.fetchUserInfo(config, tokens.access_token, user.id)).toMatchObject({ sub: user.id, preferred_username: 'ada' });

    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()?.sub).toBe(user.id);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(true);
    expect(requests.filter((p) => p === '/t/acme/token')).toHaveLength(2);

    const report = await verifyAuditTrail(node2, 'acme');
    expect(report).toMatchObject({ ok: true, problems: [] });

    // Each node appended to a segment of its own: the sign-in on node 1's, the tokens on node 2's.
    const client_ = new pg.Client({ connectionString: db.url });
    await client_.connect();
    try {
      const { rows } = await client_.query<{ type: string; chain_id: string; writer: string }>(
        `select e.type, e.chain_id, c.writer from audit_events e
           join audit_chains c on c.tenant_id = e.tenant_id and c.chain_id = e.chain_id
          where e.tenant_id = 'acme' and e.type in ('signin.success', 'token.issued')`,
      );
      const segmentOf = (type: string): Set<string> => new Set(rows.filter((r) => r.type === type).map((r) => r.chain_id));
      expect(segmentOf('signin.success').size).toBe(1);
      expect(segmentOf('token.issued').size).toBe(1);
      expect([...segmentOf('signin.success')][0]).not.toBe([...segmentOf('token.issued')][0]);
      expect(rows.every((r) => r.writer !== 'transactional')).toBe(true);
      const writers = await client_.query<{ n: string }>(
        `select count(*) as n from audit_chains where tenant_id = 'acme' and writer <> 'transactional'`,
      );
      expect(Number(writers.rows[0]?.n)).toBe(2);
    } finally {
      await client_.end();
    }
  });
});
