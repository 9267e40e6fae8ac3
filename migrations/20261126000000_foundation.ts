/**
 * Foundation schema. Every table leads its primary key and its indexes with `tenant_id`, the shard key
 * (DESIGN.md "Process model and scale"); ids are UUIDv7 made by the application.
 * Never edit this file once landed: add a new migration instead.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('keys_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addPrimaryKeyConstraint('settings_pk', ['tenant_id', 'key'])
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.tenant_id').onDelete('cascade'))
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('email_verified', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('given_name', 'text')
    .addColumn('family_name', 'text')
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('password_hash', 'text')
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('local'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('users_pk', ['tenant_id', 'id'])
    .execute();
  await sql`create unique index users_username_uq on users (tenant_id, lower(username))`.execute(db);
  await sql`create unique index users_email_uq on users (tenant_id, lower(email)) where email is not null`.execute(db);

  await db.schema
    .createTable('groups')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.tenant_id').onDelete('cascade'))
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('local'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('groups_pk', ['tenant_id', 'id'])
    .execute();
  await sql`create unique index groups_name_uq on groups (tenant_id, lower(name))`.execute(db);

  // A member is a user or a nested group (member_kind 'user' | 'group').
  await db.schema
    .createTable('group_members')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('group_id', 'uuid', (c) => c.notNull())
    .addColumn('member_kind', 'text', (c) => c.notNull().check(sql`member_kind in ('user', 'group')`))
    .addColumn('member_id', 'uuid', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('group_members_pk', ['tenant_id', 'group_id', 'member_kind', 'member_id'])
    .addForeignKeyConstraint('group_members_group_fk', ['tenant_id', 'group_id'], 'groups', ['tenant_id', 'id'], (f) =>
      f.onDelete('cascade'),
    )
    .execute();
  await sql`create index group_members_member_ix on group_members (tenant_id, member_kind, member_id)`.execute(db);

  await db.schema
    .createTable('clients')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.tenant_id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('metadata', 'jsonb', (c) => c.notNull())
    .addColumn('secret_hash', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('clients_pk', ['tenant_id', 'client_id'])
    .execute();

  // APIs (RFC 8707 resource indicators) whose access tokens are JWTs (RFC 9068) verifiable offline.
  await db.schema
    .createTable('resource_servers')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.tenant_id').onDelete('cascade'))
    .addColumn('identifier', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('scopes', 'jsonb', (c) => c.notNull())
    .addColumn('access_token_ttl', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('resource_servers_pk', ['tenant_id', 'identifier'])
    .execute();

  // Data keys of the envelope scheme, each wrapped by a master key (kid names which one).
  await db.schema
    .createTable('data_keys')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('wrapped', 'text', (c) => c.notNull())
    .addColumn('master_kid', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('data_keys_pk', ['tenant_id', 'id'])
    .execute();

  // Signing keys: the private JWK is a JWE under a data key. status: active | retired.
  await db.schema
    .createTable('signing_keys')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.tenant_id').onDelete('cascade'))
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'retired')`))
    .addColumn('private_jwe', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('retired_at', 'timestamptz')
    .addColumn('publish_until', 'timestamptz')
    .addPrimaryKeyConstraint('signing_keys_pk', ['tenant_id', 'kid'])
    .execute();

  // oidc-provider's models in one table (sessions, grants, codes, tokens, interactions…).
  await db.schema
    .createTable('oidc_payloads')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('consumed_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .addPrimaryKeyConstraint('oidc_payloads_pk', ['tenant_id', 'model', 'id'])
    .execute();
  await sql`create index oidc_payloads_grant_ix on oidc_payloads (tenant_id, (payload->>'grantId')) where payload ? 'grantId'`.execute(db);
  await sql`create index oidc_payloads_uid_ix on oidc_payloads (tenant_id, (payload->>'uid')) where model = 'Session'`.execute(db);
  await sql`create index oidc_payloads_user_code_ix on oidc_payloads (tenant_id, (payload->>'userCode')) where payload ? 'userCode'`.execute(db);
  await sql`create index oidc_payloads_account_ix on oidc_payloads (tenant_id, (payload->>'accountId')) where payload ? 'accountId'`.execute(db);
  await sql`create index oidc_payloads_expiry_ix on oidc_payloads (tenant_id, expires_at) where expires_at is not null`.execute(db);

  // Audit trail: per-writer hash-chained segments; see src/audit/README.md for the scheme.
  await db.schema
    .createTable('audit_chains')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('chain_id', 'uuid', (c) => c.notNull())
    .addColumn('writer', 'text', (c) => c.notNull())
    .addColumn('head_seq', 'bigint', (c) => c.notNull())
    .addColumn('head_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('audit_chains_pk', ['tenant_id', 'chain_id'])
    .execute();
  await db.schema
    .createTable('audit_events')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('chain_id', 'uuid', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('actor', 'text')
    .addColumn('subject', 'text')
    .addColumn('ip', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_events_pk', ['tenant_id', 'id'])
    .addUniqueConstraint('audit_events_chain_uq', ['tenant_id', 'chain_id', 'seq'])
    .execute();
  await sql`create index audit_events_type_ix on audit_events (tenant_id, type, id desc)`.execute(db);
  await sql`create index audit_events_subject_ix on audit_events (tenant_id, subject, id desc)`.execute(db);
  // Append-only: the database itself refuses UPDATE and DELETE on audit rows (tenant deletion excepted by
  // truncating through the owner). Tampering by a superuser is what the hash chain detects.
  await sql`
    create function audit_events_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_events is append-only';
    end $$`.execute(db);
  await sql`
    create trigger audit_events_no_update before update or delete on audit_events
    for each row execute function audit_events_append_only()`.execute(db);

  // Fixed-window counters for rate limits when Redis is not configured.
  await db.schema
    .createTable('rate_limit_counters')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limit_counters_pk', ['tenant_id', 'bucket', 'window_start'])
    .execute();
  await sql`create index rate_limit_counters_window_ix on rate_limit_counters (tenant_id, window_start)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'rate_limit_counters',
    'audit_events',
    'audit_chains',
    'oidc_payloads',
    'signing_keys',
    'data_keys',
    'clients',
    'resource_servers',
    'group_members',
    'groups',
    'users',
    'settings',
    'tenants',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`drop function if exists audit_events_append_only`.execute(db);
}
