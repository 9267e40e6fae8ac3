/**
 * Refresh-token use is assessed like a sign-in: a refresh from an impossible location, for a disabled user
 * or for an account marked compromised fails with invalid_grant and revokes the grant. The RP's token
 * requests carry X-Forwarded-For through openid-client's customFetch.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, expectStatus, relyingParty } from '../helpers/fixtures.ts';
import { auditEvents, browserAt, IPS, passwordSignIn, redeem, startWorld, type SignInWorld } from './fixture.ts';

let world: SignInWorld;
let rpAddress: string = IPS.paris;

beforeAll(async () => {
  world = await startWorld('refresh');
  const rp = await relyingParty(world.server, world.tenant, world.client);
  rp[oidc.customFetch] = (url, options) => fetch(url, { ...options, headers: { ...options.headers, 'x-forwarded-for': rpAddress } });
  world = { ...world, rp };
});

afterAll(async () => {
  await world?.stop();
});

async function offlineTokens(username: string): Promise<{ userId: string; refreshToken: string }> {
  const user = await createUser(world.server, world.tenant, username);
  rpAddress = IPS.paris;
  const flow = await passwordSignIn(world, browserAt(IPS.paris), user, { scope: 'openid offline_access', prompt: 'consent' });
  const tokens = await redeem(world, flow);
  if (!tokens.refresh_token) throw new Error('no refresh token');
  return { userId: user.id, refreshToken: tokens.refresh_token };
}

async function refreshError(refreshToken: string): Promise<string | undefined> {
  try {
    await oidc.refreshTokenGrant(world.rp, refreshToken);
    return undefined;
  } catch (error) {
    return (error as { error?: string }).error ?? String(error);
  }
}

describe('refresh-token risk', () => {
  it('refreshes from where the user signed in', async () => {
    const { refreshToken } = await offlineTokens('homer');
    rpAddress = IPS.paris2;
    const refreshed = await oidc.refreshTokenGrant(world.rp, refreshToken);
    expect(refreshed.access_token).toBeTruthy();
  });

  it('fails a refresh from an impossible location and revokes the grant', async () => {
    const { userId, refreshToken } = await offlineTokens('ivan');
    rpAddress = IPS.paris;
    const rotated = await oidc.refreshTokenGrant(world.rp, refreshToken);
    rpAddress = IPS.sydney;
    expect(await refreshError(rotated.refresh_token ?? '')).toBe('invalid_grant');
    // The grant is gone: the token fails from Paris too, and the access token is no longer active.
    rpAddress = IPS.paris;
    expect(await refreshError(rotated.refresh_token ?? '')).toBe('invalid_grant');
    expect((await oidc.tokenIntrospection(world.rp, rotated.access_token)).active).toBe(false);

    const [denied] = await auditEvents(world, 'refresh_token.denied', `user:${userId}`);
    expect(denied?.details).toMatchObject({ reason: 'risk', grantRevoked: true });
    expect(denied?.details.codes).toContain('impossible_travel');
    const [assessment] = await auditEvents(world, 'risk.assessment', `user:${userId}`);
    expect(assessment?.ip).toBe(IPS.sydney);
  });

  it('fails a refresh for an account marked compromised', async () => {
    const { userId, refreshToken } = await offlineTokens('carl');
    await world.server.container.signInHistory.markCompromised(world.tenant, userId, new Date(), 'test');
    rpAddress = IPS.paris;
    expect(await refreshError(refreshToken)).toBe('invalid_grant');
    const [denied] = await auditEvents(world, 'refresh_token.denied', `user:${userId}`);
    expect(denied?.details.codes).toContain('account_compromised');
  });

  it('fails a refresh after the user was disabled', async () => {
    const { userId, refreshToken } = await offlineTokens('dora');
    await expectStatus(await world.server.admin(`/tenants/${world.tenant}/users/${userId}`, { method: 'PATCH', body: { active: false } }), 200);
    rpAddress = IPS.paris;
    expect(await refreshError(refreshToken)).toBe('invalid_grant');
  });
});
