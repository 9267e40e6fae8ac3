/**
 * Risk engine and MFA storage (issue 3): sign-in history, devices, failure and spray counters, risk
 * assessments, sign-in policies, TOTP factors and recovery codes. Every primary key and every index leads
 * with `tenant_id`, the shard key (DESIGN.md "Process model and scale").
 * Never edit this file once landed: add a new migration instead.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Per-user risk profile: how much history the engine has learned, and the admin "compromised" mark.
  await db.schema
    .createTable('risk_profiles')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('sign_ins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('first_sign_in_at', 'timestamptz')
    .addColumn('last_sign_in_at', 'timestamptz')
    .addColumn('compromised_at', 'timestamptz')
    .addColumn('compromised_reason', 'text')
    .addPrimaryKeyConstraint('risk_profiles_pk', ['tenant_id', 'user_id'])
    .addForeignKeyConstraint('risk_profiles_user_fk', ['tenant_id', 'user_id'], 'users', ['tenant_id', 'id'], (f) => f.onDelete('cascade'))
    .execute();

  // Successful sign-ins (after every step-up), the baseline for novelty and travel signals.
  await db.schema
    .createTable('signin_history')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('asn', 'integer')
    .addColumn('country', 'text')
    .addColumn('latitude', 'double precision')
    .addColumn('longitude', 'double precision')
    .addColumn('accuracy_km', 'double precision')
    .addColumn('device_id', 'uuid')
    .addColumn('assessment_id', 'uuid')
    .addPrimaryKeyConstraint('signin_history_pk', ['tenant_id', 'user_id', 'id'])
    .addForeignKeyConstraint('signin_history_user_fk', ['tenant_id', 'user_id'], 'users', ['tenant_id', 'id'], (f) => f.onDelete('cascade'))
    .execute();
  await sql`create index signin_history_recent_ix on signin_history (tenant_id, user_id, at desc)`.execute(db);
  await sql`create index signin_history_at_ix on signin_history (tenant_id, at)`.execute(db);

  // Browsers known per user; the id travels in the signed device cookie.
  await db.schema
    .createTable('devices')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('user_agent_family', 'text', (c) => c.notNull())
    .addColumn('last_ip', 'text', (c) => c.notNull())
    .addColumn('last_network', 'text', (c) => c.notNull())
    .addColumn('sign_ins', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('passkey_bound', 'boolean', (c) => c.notNull().defaultTo(false))
    .addPrimaryKeyConstraint('devices_pk', ['tenant_id', 'user_id', 'id'])
    .addForeignKeyConstraint('devices_user_fk', ['tenant_id', 'user_id'], 'users', ['tenant_id', 'id'], (f) => f.onDelete('cascade'))
    .execute();

  // Consecutive password failures per username (existing or not, so lockout does not reveal accounts).
  await db.schema
    .createTable('account_failures')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('consecutive', 'integer', (c) => c.notNull())
    .addColumn('first_failure_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_failure_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('account_failures_pk', ['tenant_id', 'username'])
    .execute();
  await sql`create index account_failures_last_ix on account_failures (tenant_id, last_failure_at)`.execute(db);

  // Attempts per source (ip:…, net:…/24 or /64, asn:…) per username per one-minute bucket: sliding-window
  // failure counts, distinct usernames failed (spray) and failure ratios (stuffing).
  await db.schema
    .createTable('source_attempts')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('bucket_start', 'timestamptz', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('successes', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('source_attempts_pk', ['tenant_id', 'source', 'bucket_start', 'username'])
    .execute();
  await sql`create index source_attempts_bucket_ix on source_attempts (tenant_id, bucket_start)`.execute(db);

  // Every assessment with its evidence (also an audit event of type risk.assessment).
  await db.schema
    .createTable('risk_assessments')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('user_id', 'uuid')
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text')
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull().check(sql`level in ('low', 'medium', 'high')`))
    .addColumn('score', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('enforced', 'boolean', (c) => c.notNull())
    .addColumn('policy_rule', 'text', (c) => c.notNull())
    .addColumn('contributions', 'jsonb', (c) => c.notNull())
    .addPrimaryKeyConstraint('risk_assessments_pk', ['tenant_id', 'id'])
    .execute();
  await sql`create index risk_assessments_user_ix on risk_assessments (tenant_id, user_id, at desc)`.execute(db);
  await sql`create index risk_assessments_at_ix on risk_assessments (tenant_id, at)`.execute(db);

  // One sign-in policy document per tenant (per-client overrides inside it).
  await db.schema
    .createTable('risk_policies')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.tenant_id').onDelete('cascade'))
    .addColumn('document', 'jsonb', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('risk_policies_pk', ['tenant_id'])
    .execute();

  // Second factors. kind: totp (passkeys come later). status: pending until confirmed by one code.
  // last_step: the last accepted TOTP time step; a code is accepted only if its step is greater.
  await db.schema
    .createTable('mfa_factors')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('totp')`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'active')`))
    .addColumn('secret_jwe', 'text', (c) => c.notNull())
    .addColumn('last_step', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addPrimaryKeyConstraint('mfa_factors_pk', ['tenant_id', 'user_id', 'id'])
    .addForeignKeyConstraint('mfa_factors_user_fk', ['tenant_id', 'user_id'], 'users', ['tenant_id', 'id'], (f) => f.onDelete('cascade'))
    .execute();
  await sql`create unique index mfa_factors_one_totp_uq on mfa_factors (tenant_id, user_id, kind) where status = 'active'`.execute(db);

  // Recovery codes: SHA-256 digests of 80-bit random codes, each usable once.
  await db.schema
    .createTable('mfa_recovery_codes')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addPrimaryKeyConstraint('mfa_recovery_codes_pk', ['tenant_id', 'user_id', 'code_hash'])
    .addForeignKeyConstraint('mfa_recovery_codes_user_fk', ['tenant_id', 'user_id'], 'users', ['tenant_id', 'id'], (f) =>
      f.onDelete('cascade'),
    )
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'mfa_recovery_codes',
    'mfa_factors',
    'risk_policies',
    'risk_assessments',
    'source_attempts',
    'account_failures',
    'devices',
    'signin_history',
    'risk_profiles',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
