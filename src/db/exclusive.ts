/**
 * Runs background work on one node at a time: a transaction-scoped PostgreSQL advisory lock is tried,
 * and a node that does not get it skips this round. The lock ends with the transaction, even on a crash.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Returns whether `work` ran. `lockKey` is any integer agreed on by every node for this job. `work` gets
 * the transaction and must use it (the embedded database has a single connection).
 */
export async function runExclusive(
  db: Kysely<Database>,
  lockKey: number,
  work: (trx: Transaction<Database>) => Promise<void>,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${lockKey}) as locked`.execute(trx);
    if (!rows[0]?.locked) return false;
    await work(trx);
    return true;
  });
}
