/**
 * Migrations run at every node's start: several nodes starting at once on an empty database must apply
 * each migration exactly once (kysely holds an advisory lock while migrating).
 */
import { tmpdir } from 'node:os';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.ts';
import { migrateToLatest, migrationsApplied } from '../../src/db/migrator.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
const handles: DatabaseHandle[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  for (let i = 0; i < 3; i++) {
    handles.push(await openDatabase({ url: database.url, dataDir: tmpdir(), poolSize: 2, connectTimeoutMs: 5000 }));
  }
});

afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
  await database?.drop();
});

describe('migrations', () => {
  it('apply once when three nodes migrate at the same moment', async () => {
    const results = await Promise.all(handles.map((h) => migrateToLatest(h.db)));
    // Exactly one node applied the foundation migration; the others found nothing pending.
    expect(results.flat().filter((name) => name.endsWith('_foundation'))).toHaveLength(1);
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from kysely_migration`.execute(handles[0]!.db);
    expect(Number(rows[0]?.n)).toBe(results.flat().length);
    for (const h of handles) expect(await migrationsApplied(h.db)).toBe(true);
  });

  it('create tenant-keyed tables only', async () => {
    const { rows } = await sql<{ table_name: string; first_key_column: string }>`
      select c.relname as table_name, a.attname as first_key_column
        from pg_index i
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]
       where i.indisprimary and n.nspname = 'public' and c.relname not like 'kysely_%'`.execute(handles[0]!.db);
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) expect({ table: row.table_name, key: row.first_key_column }).toEqual({ table: row.table_name, key: 'tenant_id' });
  });

  it('lead every index with tenant_id (the shard key)', async () => {
    const { rows } = await sql<{ index_name: string; first_column: string }>`
      select ic.relname as index_name, a.attname as first_column
        from pg_index i
        join pg_class c on c.oid = i.indrelid
        join pg_class ic on ic.oid = i.indexrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]
       where n.nspname = 'public' and c.relname not like 'kysely_%'`.execute(handles[0]!.db);
    expect(rows.length).toBeGreaterThan(15);
    for (const row of rows) expect({ index: row.index_name, first: row.first_column }).toEqual({ index: row.index_name, first: 'tenant_id' });
  });

  it('are a no-op the second time', async () => {
    expect(await migrateToLatest(handles[1]!.db)).toEqual([]);
  });
});
