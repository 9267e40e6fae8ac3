/**
 * Group commit of requests' held-back writes (src/oidc/payload-write-batcher.ts) on a real PostgreSQL:
 * concurrent requests share statements, every write commits before its promise resolves, writes to one row
 * keep their order, and a row PostgreSQL refuses fails only its own request.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import { PayloadWriteBatcher, type PayloadWrites } from '../../src/oidc/payload-write-batcher.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';

const T = 'batch-a';
const U = 'batch-b';
let m: MigratedDatabase;
let db: Kysely<Database>;
/** Statements the batcher sent. */
let statements = 0;

beforeAll(async () => {
  m = await createMigratedDatabase();
  await insertTenant(m.db, T);
  await insertTenant(m.db, U);
  const pool = new pg.Pool({ connectionString: m.test.url, max: 4 });
  pool.on('error', () => undefined);
  db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query' || event.level === 'error') statements++;
    },
  });
});

afterAll(async () => {
  await db?.destroy();
  await m?.close();
});

const token = (tenantId: string, id: string, payload: Record<string, unknown> = { grantId: 'g' }): PayloadWrites => ({
  tenantId,
  upserts: [{ model: 'AccessToken', id, payload, expiresAt: new Date(Date.now() + 60_000), consumedAt: null }],
  deletes: [],
});

async function payloadOf(tenantId: string, id: string): Promise<Record<string, unknown> | undefined> {
  const row = await m.db
    .selectFrom('oidc_payloads')
    .select('payload')
    .where('tenant_id', '=', tenantId)
    .where('model', '=', 'AccessToken')
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.payload;
}

describe('payload write batcher', () => {
  it('commits every write before it resolves, in fewer statements than writes under load', async () => {
    const batcher = new PayloadWriteBatcher(db);
    statements = 0;
    const ids = Array.from({ length: 60 }, (_, i) => `at-${i}`);
    await Promise.all(ids.map((id, i) => batcher.write(token(i % 2 ? T : U, id, { grantId: id }))));
    for (const [i, id] of ids.entries()) expect(await payloadOf(i % 2 ? T : U, id)).toEqual({ grantId: id });
    expect(statements).toBeLessThan(ids.length / 2);
  });

  it('keeps the order of writes to one row, even when they arrive together', async () => {
    const batcher = new PayloadWriteBatcher(db);
    await Promise.all([1, 2, 3, 4].map((n) => batcher.write(token(T, 'same-row', { grantId: 'g', n }))));
    expect(await payloadOf(T, 'same-row')).toEqual({ grantId: 'g', n: 4 });
  });

  it('applies deletes beside upserts of other requests', async () => {
    const batcher = new PayloadWriteBatcher(db);
    await batcher.write(token(T, 'doomed'));
    await Promise.all([
      batcher.write({ tenantId: T, upserts: [], deletes: [{ model: 'AccessToken', id: 'doomed' }] }),
      batcher.write(token(T, 'kept')),
    ]);
    expect(await payloadOf(T, 'doomed')).toBeUndefined();
    expect(await payloadOf(T, 'kept')).toBeDefined();
  });

  it('fails only the request whose row PostgreSQL refuses', async () => {
    const batcher = new PayloadWriteBatcher(db);
    // jsonb cannot hold a NUL character: the statement carrying this row fails.
    const results = await Promise.allSettled([
      batcher.write(token(T, 'before-bad')),
      batcher.write(token(T, 'bad', { grantId: 'g', name: 'nul\u0000here' })),
      batcher.write(token(T, 'after-bad')),
      batcher.write(token(T, 'after-bad-2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(await payloadOf(T, 'bad')).toBeUndefined();
    expect(await payloadOf(T, 'after-bad')).toBeDefined();
    expect(await payloadOf(T, 'after-bad-2')).toBeDefined();
  });

  it('keeps tenants apart: the same id in two tenants is two rows', async () => {
    const batcher = new PayloadWriteBatcher(db);
    await Promise.all([batcher.write(token(T, 'shared-id', { grantId: 'a' })), batcher.write(token(U, 'shared-id', { grantId: 'b' }))]);
    expect(await payloadOf(T, 'shared-id')).toEqual({ grantId: 'a' });
    expect(await payloadOf(U, 'shared-id')).toEqual({ grantId: 'b' });
  });
});
