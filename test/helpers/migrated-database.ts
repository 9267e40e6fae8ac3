/**
 * A fresh PostgreSQL database (test/helpers/database.ts), opened with the application's own client and
 * migrated to the latest schema: for suites that test repositories and the adapter without a server.
 */
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import type { Database } from '../../src/db/schema.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface MigratedDatabase {
  readonly test: TestDatabase;
  readonly db: Kysely<Database>;
  /** Another handle (its own pool) on the same database, as a second process would have. */
  open(poolSize?: number): Promise<DatabaseHandle>;
  /** Closes every handle opened here, then drops the database. */
  close(): Promise<void>;
}

export async function createMigratedDatabase(poolSize = 10): Promise<MigratedDatabase> {
  const test = await createTestDatabase();
  const handles: DatabaseHandle[] = [];
  const open = async (size = poolSize): Promise<DatabaseHandle> => {
    const handle = await openDatabase({ url: test.url, dataDir: tmpdir(), poolSize: size, connectTimeoutMs: 5_000 });
    handles.push(handle);
    return handle;
  };
  const first = await open();
  await migrateToLatest(first.db);
  return {
    test,
    db: first.db,
    open,
    async close() {
      await Promise.all(handles.map((h) => h.close()));
      await test.drop();
    },
  };
}

/** Inserts a bare tenant row (no keys, no audit event): enough for storage-level suites. */
export async function insertTenant(db: Kysely<Database>, tenantId: string): Promise<void> {
  await db.insertInto('tenants').values({ tenant_id: tenantId, display_name: tenantId.toUpperCase() }).execute();
}
