/**
 * GET/PUT /admin/api/tenants/{t}/policy and POST …/users/{id}/mfa/reset through src/admin/policy-routes.ts,
 * mounted as the admin tenant router mounts it (admin already authenticated there), over real HTTP.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyRoutes } from '../../src/admin/policy-routes.ts';
import { AuditRepository } from '../../src/audit/audit-repository.ts';
import { jsonErrorHandler } from '../../src/http/errors.ts';
import { IdentityEvents } from '../../src/identity/identity-events.ts';
import { UserRepository } from '../../src/identity/user-repository.ts';
import { UserService } from '../../src/identity/user-service.ts';
import { CompromiseService } from '../../src/risk/compromise-service.ts';
import { PolicyService } from '../../src/risk/policy-service.ts';
import { createMfaFixture, type MfaFixture } from '../mfa/fixture.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';
import { createFixture, insertUser, type Fixture } from './fixture.ts';

let m: MigratedDatabase;
let f: Fixture;
let mfa: MfaFixture;
let server: Server;
let base: string;

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, 'one');
  await insertTenant(m.db, 'two');
  f = createFixture(m.db);
  mfa = createMfaFixture(m.db);
  const users = new UserService(m.db, new UserRepository(m.db), f.audit, new IdentityEvents(() => undefined));
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    req.admin = { actor: 'admin:test' };
    next();
  });
  const compromise = new CompromiseService(f.history, f.audit, new IdentityEvents(() => undefined), f.clock);
  app.use('/admin/api/tenants/:tenant', policyRoutes({ policies: new PolicyService(m.db, f.policies, f.audit), mfaReset: mfa.reset, users, compromise }));
  app.use(jsonErrorHandler(pino({ level: 'silent' })));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/api/tenants`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await f?.audit.close();
  await mfa?.audit.close();
  await m?.close();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('sign-in policy API', () => {
  it('answers the documented defaults before any policy is stored', async () => {
    const { status, json } = await call('GET', '/one/policy');
    expect(status).toBe(200);
    expect(json).toMatchObject({
      mode: 'enforce',
      levels: { medium: 30, high: 60 },
      actions: { low: 'allow', medium: 'step-up', high: 'step-up-phishing-resistant' },
      deny: { countries: [], networks: [] },
      trustedNetworks: [],
      clients: {},
    });
  });

  it('stores a document, answers it normalised, audits the change', async () => {
    const put = await call('PUT', '/one/policy', {
      mode: 'report-only',
      deny: { countries: ['ru', 'KP'], networks: ['192.0.2.0/24', '2001:db8::/32'] },
      trustedNetworks: ['10.0.0.0/8'],
      clients: { payroll: { requiredAcr: 'phr', actions: { low: 'step-up', medium: 'step-up-phishing-resistant', high: 'deny' } } },
    });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ mode: 'report-only', deny: { countries: ['RU', 'KP'] } });
    const get = await call('GET', '/one/policy');
    expect(get.json).toEqual(put.json);
    const events = await new AuditRepository(m.db).list('one', { type: 'policy.updated', limit: 5 });
    expect(events.items[0]).toMatchObject({ actor: 'admin:test', subject: 'tenant:one' });
  });

  it("never shows or applies one tenant's policy to another", async () => {
    await call('PUT', '/one/policy', { deny: { countries: ['FR'] } });
    const two = await call('GET', '/two/policy');
    expect(two.json).toMatchObject({ mode: 'enforce', deny: { countries: [] } });
  });

  it('names every invalid field in plain words', async () => {
    const { status, json } = await call('PUT', '/one/policy', {
      mode: 'audit',
      levels: { medium: 50, high: 40 },
      deny: { countries: ['France'], networks: ['10.0.0.0/33'] },
      trustedNetworks: ['office'],
      clients: { app: { requiredAcr: 'gold' } },
      colour: 'blue',
    });
    expect(status).toBe(400);
    expect(json.error).toBe('invalid_request');
    const d = String(json.error_description);
    expect(d).toContain('mode: must be "enforce" or "report-only"');
    expect(d).toContain('levels.high: high must be greater than medium');
    expect(d).toContain('deny.countries.0: must be an ISO 3166-1 alpha-2 country code, such as "FR"');
    expect(d).toContain('deny.networks.0: must be an IP network in CIDR notation');
    expect(d).toContain('trustedNetworks.0: must be an IP network in CIDR notation');
    expect(d).toContain('clients.app.requiredAcr: must be one of');
    expect(d).toMatch(/colour/);
    // Nothing was stored.
    expect((await call('GET', '/one/policy')).json).toMatchObject({ deny: { countries: ['FR'] } });
  });
});

describe('MFA reset API', () => {
  it("resets an existing user's factors and refuses unknown users and other tenants' users", async () => {
    const user = await insertUser(m.db, 'one', 'xena');
    await mfa.recovery.regenerate('one', user, { actor: 'user:xena' });
    expect(await call('POST', `/two/users/${user}/mfa/reset`)).toMatchObject({ status: 404 });
    expect(await call('POST', '/one/users/00000000-0000-7000-8000-000000000001/mfa/reset')).toMatchObject({ status: 404 });
    expect(await call('POST', '/one/users/not-a-uuid/mfa/reset')).toMatchObject({ status: 404 });
    expect(await mfa.recovery.remaining('one', user)).toBe(10);
    const ok = await call('POST', `/one/users/${user}/mfa/reset`);
    expect(ok).toEqual({ status: 200, json: { factorsRemoved: 0, recoveryCodesRemoved: 10 } });
  });
});
