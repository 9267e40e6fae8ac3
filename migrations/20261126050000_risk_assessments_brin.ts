/**
 * The retention index of stored risk assessments becomes a BRIN index (issue 3), as the sign-in history's
 * and the source counters' did (20261126040000_risk_brin_indexes.ts): only the retention purge reads
 * assessments by time, and it needs the old block ranges of an append-ordered column, which a BRIN index
 * finds at a fraction of a B-tree's size and write cost (every allowed sign-in inserts an assessment).
 * Never edit this file once landed: add a new migration instead.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists risk_assessments_at_ix`.execute(db);
  await sql`create index risk_assessments_at_brin on risk_assessments using brin (tenant_id, at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists risk_assessments_at_brin`.execute(db);
  await sql`create index risk_assessments_at_ix on risk_assessments (tenant_id, at)`.execute(db);
}
