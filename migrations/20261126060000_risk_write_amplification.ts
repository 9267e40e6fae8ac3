/**
 * Fewer writes per sign-in (issue 3: the engine's cost):
 *
 * - `risk_assessments` goes. Every row duplicated the assessment's `risk.assessment` audit event (same
 *   id, level, score, contributions, policy rule, outcome, client, address; hash-chained there), and nothing
 *   read the table: admins read assessments through the audit API (DESIGN.md: "a risk assessment is an audit
 *   event"). It cost every assessed sign-in a heap row, two B-tree entries and a BRIN range.
 * - `signin_history`'s primary key becomes (tenant_id, user_id, at, id), which serves the engine's read of a
 *   user's newest sign-ins (a backward scan), so `signin_history_recent_ix`, the same columns without the id,
 *   goes: one B-tree entry less per sign-in. Nothing looks a history row up by id alone.
 *
 * Down restores both shapes; the assessments' table comes back empty (the audit trail holds them).
 * Never edit this file once landed: add a new migration instead.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists risk_assessments`.execute(db);
  await sql`alter table signin_history drop constraint signin_history_pk`.execute(db);
  await sql`alter table signin_history add constraint signin_history_pk primary key (tenant_id, user_id, at, id)`.execute(db);
  await sql`drop index if exists signin_history_recent_ix`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create index signin_history_recent_ix on signin_history (tenant_id, user_id, at desc)`.execute(db);
  await sql`alter table signin_history drop constraint signin_history_pk`.execute(db);
  await sql`alter table signin_history add constraint signin_history_pk primary key (tenant_id, user_id, id)`.execute(db);
  await sql`
    create table risk_assessments (
      tenant_id text not null,
      id uuid not null,
      at timestamptz not null,
      user_id uuid,
      username text not null,
      client_id text,
      ip text not null,
      level text not null check (level in ('low', 'medium', 'high')),
      score integer not null,
      outcome text not null,
      enforced boolean not null,
      policy_rule text not null,
      contributions jsonb not null,
      constraint risk_assessments_pk primary key (tenant_id, id)
    )`.execute(db);
  await sql`create index risk_assessments_user_ix on risk_assessments (tenant_id, user_id, at desc)`.execute(db);
  await sql`create index risk_assessments_at_brin on risk_assessments using brin (tenant_id, at)`.execute(db);
}
