/**
 * Passkeys (WebAuthn credentials) and their single-use ceremony challenges (issue 3). Passkeys live in
 * their own table rather than in `mfa_factors`: they carry a public key, a sign counter and backup flags
 * instead of a sealed secret, and a user has several. Every primary key and index leads with `tenant_id`.
 * Never edit this file once landed: add a new migration instead.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // credential_id: base64url as the browser sends it; unique per tenant (the lookup of a username-less
  // sign-in). device_type: simplewebauthn's credentialDeviceType ('multiDevice' = backup eligible).
  await db.schema
    .createTable('passkeys')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('credential_id', 'text', (c) => c.notNull())
    .addColumn('public_key', 'bytea', (c) => c.notNull())
    .addColumn('sign_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('aaguid', 'text', (c) => c.notNull())
    .addColumn('device_type', 'text', (c) => c.notNull().check(sql`device_type in ('singleDevice', 'multiDevice')`))
    .addColumn('backed_up', 'boolean', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .addPrimaryKeyConstraint('passkeys_pk', ['tenant_id', 'user_id', 'id'])
    .addForeignKeyConstraint('passkeys_user_fk', ['tenant_id', 'user_id'], 'users', ['tenant_id', 'id'], (f) => f.onDelete('cascade'))
    .execute();
  await sql`create unique index passkeys_credential_uq on passkeys (tenant_id, credential_id)`.execute(db);

  // Ceremony challenges: consumed by one DELETE … RETURNING, so each answers exactly one verification.
  // binding: what the challenge was issued to (an interaction uid, an account session), checked on use.
  await db.schema
    .createTable('webauthn_challenges')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('challenge', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull().check(sql`purpose in ('registration', 'authentication')`))
    .addColumn('binding', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('webauthn_challenges_pk', ['tenant_id', 'challenge'])
    .execute();
  await sql`create index webauthn_challenges_expiry_ix on webauthn_challenges (tenant_id, expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webauthn_challenges').ifExists().execute();
  await db.schema.dropTable('passkeys').ifExists().execute();
}
