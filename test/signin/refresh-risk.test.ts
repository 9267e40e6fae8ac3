/**
 * Refresh-token use is assessed like a sign-in: a refresh from an impossible location (from a public
 * client, i.e. the user's own device), for a disabled user or for an account marked compromised fails with
 * invalid_grant and revokes the grant. The RP's token requests carry X-Forwarded-For through
 * openid-client's customFetch.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createUser, expectStatus, relyingParty, type CreatedClient } from '../helpers/fixtures.ts';
import { auditEvents, browserAt, IPS, passwordSignIn, REDIRECT, redeem, startWorld, type SignInWorld } from './fixture.ts';

let world: SignInWorld;
/** A public client (a native or browser app): its refreshes come from the user's device. */
let app: SignInWorld;
let rpAddress: string = IPS.paris;

function throughProxy(rp: oidc.Configuration): oidc.Configuration {
  rp[oidc.customFetch] = (url, options) => fetch(url, { ...options, headers: { ...options.headers, 'x-forwarded-for': rpAddress } });
  return rp;
}

beforeAll(async () => {
  world = await startWorld('refresh');
  world = { ...world, rp: throughProxy(await relyingParty(world.server, world.tenant, world.client)) };
  const publicClient: CreatedClient = await createClient(world.server, world.tenant, {
    client_id: 'app',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
  });
  app = { ...world, client: publicClient, rp: throughProxy(await relyingParty(world.server, world.tenant, publicClient)) };
});

afterAll(async () => {
  await world?.stop();
});

async function offlineTokens(on: SignInWorld, username: string): Promise<{ userId: string; refreshToken: string }> {
  const user = await createUser(on.server, on.tenant, username);
  rpAddress = IPS.paris;
  const flow = await passwordSignIn(on, browserAt(IPS.paris), user, { scope: 'openid offline_access', prompt: 'consent' });
  const tokens = await redeem(on, flow);
  if (!tokens.refresh_token) throw new Error('no refresh token');
  return { userId: user.id, refreshToken: tokens.refresh_token };
}

async function refreshError(on: SignInWorld, refreshToken: string): Promise<string | undefined> {
  try {
    await oidc.refreshTokenGrant(on.rp, refreshToken);
    return undefined;
  } catch (error) {
    return (error as { error?: string }).error ?? String(error);
  }
}

describe('refresh-token risk', () => {
  it('refreshes from where the user signed in', async () => {
    const { userId, refreshToken } = await offlineTokens(app, 'homer');
    rpAddress = IPS.paris2;
    const refreshed = await oidc.refreshTokenGrant(app.rp, refreshToken);
    expect(refreshed.access_token).toBeTruthy();
    // The account the risk check read is the one the new ID token speaks for.
    expect(refreshed.claims()).toMatchObject({ sub: userId });
  });

  it('fails a refresh from an impossible location and revokes the grant', async () => {
    const { userId, refreshToken } = await offlineTokens(app, 'ivan');
    rpAddress = IPS.paris;
    const rotated = await oidc.refreshTokenGrant(app.rp, refreshToken);
    rpAddress = IPS.sydney;
    expect(await refreshError(app, rotated.refresh_token ?? '')).toBe('invalid_grant');
    // The grant is gone: the token fails from Paris too, and the access token is no longer active.
    rpAddress = IPS.paris;
    expect(await refreshError(app, rotated.refresh_token ?? '')).toBe('invalid_grant');
    expect((await oidc.tokenIntrospection(app.rp, rotated.access_token)).active).toBe(false);

    const [denied] = await auditEvents(world, 'refresh_token.denied', `user:${userId}`);
    expect(denied?.details).toMatchObject({ reason: 'risk', grantRevoked: true });
    expect(denied?.details.codes).toContain('impossible_travel');
    const [assessment] = await auditEvents(world, 'risk.assessment', `user:${userId}`);
    expect(assessment?.ip).toBe(IPS.sydney);
    // The denial names an assessment that was kept.
    expect(denied?.details.assessmentId).toBe(assessment?.details.assessmentId);
  });

  it("records, but does not act on, a confidential client's refresh from its far-away servers", async () => {
    const { userId, refreshToken } = await offlineTokens(world, 'wendy');
    rpAddress = IPS.sydney;
    const refreshed = await oidc.refreshTokenGrant(world.rp, refreshToken);
    expect(refreshed.access_token).toBeTruthy();
    const [assessment] = await auditEvents(world, 'risk.assessment', `user:${userId}`);
    expect(assessment?.ip).toBe(IPS.sydney);
    expect((assessment?.details.contributions as { code: string }[]).map((c) => c.code)).toContain('impossible_travel');
  });

  it('fails a refresh for an account marked compromised', async () => {
    const { userId, refreshToken } = await offlineTokens(world, 'carl');
    await world.server.container.signInHistory.markCompromised(world.tenant, userId, new Date(), 'test');
    rpAddress = IPS.paris;
    expect(await refreshError(world, refreshToken)).toBe('invalid_grant');
    const [denied] = await auditEvents(world, 'refresh_token.denied', `user:${userId}`);
    expect(denied?.details.codes).toContain('account_compromised');
  });

  it('fails a refresh after the user was disabled', async () => {
    const { userId, refreshToken } = await offlineTokens(world, 'dora');
    await expectStatus(await world.server.admin(`/tenants/${world.tenant}/users/${userId}`, { method: 'PATCH', body: { active: false } }), 200);
    rpAddress = IPS.paris;
    expect(await refreshError(world, refreshToken)).toBe('invalid_grant');
  });
});
