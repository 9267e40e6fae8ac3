/**
 * Two requests redeem the same refresh token at once (a stolen token used in parallel with the real one).
 * Whatever the interleaving — each token request runs in one transaction and `consume` takes the row lock —
 * exactly one succeeds, the other gets invalid_grant, and the grant is revoked: the winner's new tokens die too.
 */
import * as oidc from 'openid-client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../helpers/audit.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, createUser, relyingParty, signInThroughBrowser, type CreatedUser } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const REDIRECT = 'https://app.example.test/callback';
let db: TestDatabase;
let server: TestServer;
let user: CreatedUser;
let config: oidc.Configuration;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url });
  await createTenant(server, 'race');
  user = await createUser(server, 'race', 'rita');
  const client = await createClient(server, 'race', { redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'] });
  config = await relyingParty(server, 'race', client);
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** portcullis_tokens_issued_total for refresh_token grants, from /metrics. */
async function refreshesCounted(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('portcullis_tokens_issued_total{grant_type="refresh_token"}'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function offlineRefreshToken(): Promise<string> {
  const { callback, verifier, state } = await signInThroughBrowser(config, user, {
    redirectUri: REDIRECT,
    scope: 'openid offline_access',
    prompt: 'consent',
  });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  return tokens.refresh_token!;
}

describe('concurrent refresh-token redemption', () => {
  it.each([1, 2, 3])('lets exactly one of two parallel redemptions win and then revokes the grant (round %i)', async () => {
    const refreshToken = await offlineRefreshToken();
    const outcomes = await Promise.allSettled([oidc.refreshTokenGrant(config, refreshToken), oidc.refreshTokenGrant(config, refreshToken)]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(((lost[0] as PromiseRejectedResult).reason as { error?: string }).error).toBe('invalid_grant');

    const winner = (won[0] as PromiseFulfilledResult<oidc.TokenEndpointResponse>).value;
    await expect(oidc.refreshTokenGrant(config, winner.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(config, winner.access_token)).active).toBe(false);
  });

  it('lets the later of two requests that both read the token unconsumed write nothing, and revokes the grant', async () => {
    const refreshToken = await offlineRefreshToken();
    const issuedBefore = (await auditEvents(server, 'race', 'token.issued')).length;
    const refreshesBefore = await refreshesCounted();
    // Hold the token's row so that both requests read it unconsumed and then queue on it to claim it.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query(`select 1 from oidc_payloads where tenant_id = 'race' and model = 'RefreshToken' and id = $1 for update`, [refreshToken]);
      const racing = Promise.allSettled([oidc.refreshTokenGrant(config, refreshToken), oidc.refreshTokenGrant(config, refreshToken)]);
      const until = Date.now() + 15_000;
      for (let waiting = 0; waiting < 2; ) {
        expect(Date.now(), 'both redemptions should queue on the token row').toBeLessThan(until);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const { rows } = await holder.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
        );
        waiting = rows[0]!.n;
      }
      await holder.query('commit');
      const outcomes = await racing;
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect((lost.reason as { error?: string }).error).toBe('invalid_grant');
      const winner = (outcomes.find((o) => o.status === 'fulfilled') as PromiseFulfilledResult<oidc.TokenEndpointResponse>).value;
      expect((await oidc.tokenIntrospection(config, winner.access_token)).active).toBe(false);
      await expect(oidc.refreshTokenGrant(config, winner.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      const reuse = await auditEvents(server, 'race', 'refresh_token.reuse');
      expect(reuse.map((e) => e.details)).toContainEqual(
        expect.objectContaining({ detail: 'already used by a concurrent request', grantRevoked: true }),
      );
      // The loser's answer was withdrawn, so only the winner's tokens are audited as issued.
      expect((await auditEvents(server, 'race', 'token.issued')).length).toBe(issuedBefore + 1);
      // And only they are counted in the metrics.
      expect(await refreshesCounted()).toBe(refreshesBefore + 1);
    } finally {
      await holder.end();
    }
  });
});
