/**
 * Two requests redeem the same refresh token at once (a stolen token used in parallel with the real one).
 * Whatever the interleaving — each token request runs in one transaction and `consume` takes the row lock —
 * exactly one succeeds, the other gets invalid_grant, and the grant is revoked: the winner's new tokens die too.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
