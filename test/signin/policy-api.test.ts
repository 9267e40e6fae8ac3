/**
 * GET/PUT /admin/api/tenants/{t}/policy through the real admin API: invalid documents are refused with the
 * field named, the stored policy comes back with defaults, and one tenant's policy never applies to another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createTenant, createUser, expectStatus, relyingParty } from '../helpers/fixtures.ts';
import { atCallback, browserAt, IPS, passwordSignIn, putPolicy, REDIRECT, startWorld, type SignInWorld } from './fixture.ts';

let world: SignInWorld;

beforeAll(async () => {
  world = await startWorld('alpha');
  await createTenant(world.server, 'beta');
});

afterAll(async () => {
  await world?.stop();
});

describe('policy API', () => {
  it('answers the defaults for a tenant that never set one', async () => {
    const policy = (await expectStatus(await world.server.admin('/tenants/beta/policy'), 200)) as Record<string, unknown>;
    expect(policy).toMatchObject({ mode: 'enforce', deny: { countries: [], networks: [] }, trustedNetworks: [], clients: {} });
  });

  it.each([
    [{ mode: 'audit' }, 'mode'],
    [{ deny: { countries: ['France'] } }, 'deny.countries.0'],
    [{ deny: { networks: ['10.0.0.0/33'] } }, 'deny.networks.0'],
    [{ trustedNetworks: ['not-a-network'] }, 'trustedNetworks.0'],
    [{ levels: { medium: 50, high: 40 } }, 'levels.high'],
    [{ clients: { web: { requiredAcr: 'gold' } } }, 'clients.web.requiredAcr'],
    [{ unknownField: true }, 'unknownField'],
  ])('refuses %j naming %s', async (body, field) => {
    const res = await world.server.admin('/tenants/alpha/policy', { method: 'PUT', body });
    expect(res.status).toBe(400);
    const error = (await res.json()) as { error: string; error_description: string };
    expect(error.error).toBe('invalid_request');
    expect(error.error_description).toContain(field);
  });

  it('requires the admin token', async () => {
    expect((await world.server.admin('/tenants/alpha/policy', { token: null })).status).toBe(401);
    expect((await world.server.admin('/tenants/alpha/policy', { method: 'PUT', body: {}, token: null })).status).toBe(401);
  });

  it("never applies one tenant's policy to another tenant", async () => {
    await putPolicy(world, { deny: { countries: ['AU'] } });
    const betaClient = await createClient(world.server, 'beta', { client_id: 'web', redirect_uris: [REDIRECT] });
    const beta = { ...world, tenant: 'beta', client: betaClient, rp: await relyingParty(world.server, 'beta', betaClient) };
    const alphaUser = await createUser(world.server, 'alpha', 'zed');
    const betaUser = await createUser(world.server, 'beta', 'zed');

    const denied = await passwordSignIn(world, browserAt(IPS.sydney), alphaUser);
    expect(denied.page.status).toBe(403);
    const allowed = await passwordSignIn(beta, browserAt(IPS.sydney), betaUser);
    expect(atCallback(allowed.page.url)).toBe(true);
    const betaPolicy = (await expectStatus(await world.server.admin('/tenants/beta/policy'), 200)) as { deny: { countries: string[] } };
    expect(betaPolicy.deny.countries).toEqual([]);
  });
});
