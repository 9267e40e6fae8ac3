/**
 * An administrator marks an account compromised through the admin API: its tokens die at once (CAEP
 * session-revoked event), every new sign-in is denied with a plain reason, and clearing the mark lets the
 * user in again. Bad input and unknown users get the admin API's standard errors.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, expectStatus, type CreatedUser } from '../helpers/fixtures.ts';
import { atCallback, auditEvents, browserAt, IPS, passwordSignIn, redeem, startWorld, type SignInWorld } from './fixture.ts';

let world: SignInWorld;
let user: CreatedUser;

beforeAll(async () => {
  world = await startWorld('breach');
  user = await createUser(world.server, world.tenant, 'mallory');
});

afterAll(async () => {
  await world?.stop();
});

const mark = (body: unknown, id = user.id): Promise<Response> =>
  world.server.admin(`/tenants/${world.tenant}/users/${id}/compromised`, { method: 'PUT', body });

describe('marking an account compromised', () => {
  it('revokes its tokens at once, denies new sign-ins, and lets the user in again once cleared', async () => {
    const flow = await passwordSignIn(world, browserAt(IPS.paris), user, { scope: 'openid offline_access', prompt: 'consent' });
    const tokens = await redeem(world, flow);
    expect(tokens.refresh_token).toBeTruthy();

    expect(await expectStatus(await mark({ compromised: true, reason: 'password found in a breach corpus' }), 200)).toEqual({
      compromised: true,
      reason: 'password found in a breach corpus',
    });
    await expect(oidc.refreshTokenGrant(world.rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(world.rp, tokens.access_token)).active).toBe(false);
    const [revoked] = await auditEvents(world, 'caep.session_revoked', `user:${user.id}`);
    expect(revoked?.details).toMatchObject({ reason: 'user.compromised' });
    expect(await auditEvents(world, 'user.marked_compromised', `user:${user.id}`)).toHaveLength(1);

    const denied = await passwordSignIn(world, browserAt(IPS.paris), user);
    expect(atCallback(denied.page.url)).toBe(false);
    expect(denied.page.html).not.toMatch(/score|points/i);

    await expectStatus(await mark({ compromised: false }), 200);
    const again = await passwordSignIn(world, browserAt(IPS.paris), user);
    expect(atCallback(again.page.url)).toBe(true);
  });

  it('refuses bad bodies and unknown users with the standard errors, changing nothing', async () => {
    for (const body of [{}, { compromised: 'yes' }, { compromised: true, extra: 1 }, { compromised: true, reason: 'x'.repeat(501) }]) {
      const res = await mark(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    }
    expect((await mark({ compromised: true }, '01900000-0000-7000-8000-000000000000')).status).toBe(404);
    expect((await mark({ compromised: true }, 'not-a-uuid')).status).toBe(404);
    expect(await auditEvents(world, 'user.marked_compromised', `user:${user.id}`)).toHaveLength(1);
  });
});
