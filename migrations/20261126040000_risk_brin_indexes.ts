/**
 * The retention indexes of the sign-in history and of the source counters become BRIN indexes (issue 3).
 * As B-trees on (tenant_id, at) and (tenant_id, bucket_start) they competed with the indexes the risk
 * engine's reads need, and on tables not yet analyzed PostgreSQL's generic plans chose them: one user's recent
 * sign-ins were found by walking the whole tenant's history backwards by `at`, filtering on the user, and one
 * address's counters by reading every source's buckets in the window (thousands of rows to find a few).
 * The retention purges only need the old block ranges, which BRIN indexes on these append-ordered columns
 * find at a fraction of the size and write cost; and a BRIN index serves no ordered or per-key scan, so the
 * per-user index (`signin_history_recent_ix`) and the primary key (tenant, source, bucket, username) are the
 * only candidates left for the engine's reads. Both still lead with `tenant_id` (DESIGN.md).
 * Never edit this file once landed: add a new migration instead.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists signin_history_at_ix`.execute(db);
  await sql`create index signin_history_at_brin on signin_history using brin (tenant_id, at)`.execute(db);
  await sql`drop index if exists source_attempts_bucket_ix`.execute(db);
  await sql`create index source_attempts_bucket_brin on source_attempts using brin (tenant_id, bucket_start)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists source_attempts_bucket_brin`.execute(db);
  await sql`create index source_attempts_bucket_ix on source_attempts (tenant_id, bucket_start)`.execute(db);
  await sql`drop index if exists signin_history_at_brin`.execute(db);
  await sql`create index signin_history_at_ix on signin_history (tenant_id, at)`.execute(db);
}
