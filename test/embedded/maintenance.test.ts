/**
 * The maintenance round on the embedded database (one connection): it must finish, not wait forever on a
 * connection its own transaction holds, and it must remove what expired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMaintenance } from '../../src/maintenance.ts';
import { createTenant } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(); // no databaseUrl: PGlite
  await createTenant(server, 'acme');
});

afterAll(async () => {
  await server?.stop();
});

describe('maintenance on PGlite', () => {
  it('completes a round and purges expired rows', async () => {
    const c = server.container;
    const db = c.database.db;
    expect(c.database.kind).toBe('pglite');
    await db
      .insertInto('oidc_payloads')
      .values({ tenant_id: 'acme', model: 'AccessToken', id: 'expired-1', payload: JSON.stringify({ grantId: 'g' }), expires_at: new Date(Date.now() - 60_000) })
      .execute();
    await db
      .insertInto('oidc_payloads')
      .values({ tenant_id: 'acme', model: 'AccessToken', id: 'live-1', payload: JSON.stringify({ grantId: 'g' }), expires_at: new Date(Date.now() + 600_000) })
      .execute();

    const maintenance = startMaintenance(
      {
        db,
        signingKeys: c.signingKeys,
        logger: c.logger,
        signIn: { history: c.signInHistory, counters: c.failureCounters },
      },
      3_600_000,
    );
    try {
      // A deadlock would never settle; the guard turns that into a failure instead of a hung suite.
      const outcome = await Promise.race([
        maintenance.runOnce().then(() => 'done'),
        new Promise((resolve) => setTimeout(() => resolve('stuck'), 15_000).unref()),
      ]);
      expect(outcome).toBe('done');
    } finally {
      maintenance.stop();
    }
    const ids = (await db.selectFrom('oidc_payloads').select('id').where('tenant_id', '=', 'acme').where('model', '=', 'AccessToken').execute()).map((r) => r.id);
    expect(ids).toContain('live-1');
    expect(ids).not.toContain('expired-1');
  });
});
