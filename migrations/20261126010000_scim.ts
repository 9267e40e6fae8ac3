/**
 * SCIM 2.0 provisioning (RFC 7643/7644): external ids, the SCIM attributes that have no column of their own
 * (jsonb), a version counter per resource (the weak ETag), which source owns which attribute, the bearer
 * tokens of provisioning clients, and each tenant's attribute precedence between sources.
 * Every primary key and index leads with tenant_id (the shard key). Never edit once landed.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('external_id', 'text')
    // SCIM attributes beyond the columns (name parts, phone numbers, addresses, enterprise extension, …).
    .addColumn('scim', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    // Bumped by every change in the same UPDATE: meta.version is W/"<version>".
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
    // Attribute name → source kind that last wrote it ('scim', 'directory', 'local').
    .addColumn('attribute_sources', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await sql`create index users_external_id_ix on users (tenant_id, external_id) where external_id is not null`.execute(db);

  await db.schema
    .alterTable('groups')
    .addColumn('external_id', 'text')
    .addColumn('scim', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
    .execute();
  await sql`create index groups_external_id_ix on groups (tenant_id, external_id) where external_id is not null`.execute(db);
  // Members of a group in id order (SCIM lists them; the primary key starts with member_kind).
  await sql`create index group_members_group_ix on group_members (tenant_id, group_id, member_id)`.execute(db);

  // Bearer tokens for a tenant's SCIM API: only the SHA-256 digest is stored.
  await db.schema
    .createTable('scim_tokens')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.tenant_id').onDelete('cascade'))
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addPrimaryKeyConstraint('scim_tokens_pk', ['tenant_id', 'id'])
    .execute();
  await sql`create unique index scim_tokens_hash_uq on scim_tokens (tenant_id, token_hash)`.execute(db);

  // Which source wins an attribute per tenant: { "default": ["directory", "scim", "local"], "attributes": {…} }.
  await db.schema
    .createTable('attribute_precedence')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.tenant_id').onDelete('cascade'))
    .addColumn('document', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('attribute_precedence_pk', ['tenant_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('attribute_precedence').ifExists().execute();
  await db.schema.dropTable('scim_tokens').ifExists().execute();
  await sql`drop index if exists group_members_group_ix`.execute(db);
  await sql`drop index if exists groups_external_id_ix`.execute(db);
  await sql`drop index if exists users_external_id_ix`.execute(db);
  await db.schema.alterTable('groups').dropColumn('external_id').dropColumn('scim').dropColumn('version').execute();
  await db.schema
    .alterTable('users')
    .dropColumn('external_id')
    .dropColumn('scim')
    .dropColumn('version')
    .dropColumn('attribute_sources')
    .execute();
}
