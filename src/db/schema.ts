/** Row types of every table, as kysely sees them. The migrations in /migrations are the source of truth. */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;
/** bigint columns arrive as strings from pg and as numbers or strings from PGlite. */
type BigIntColumn = ColumnType<string, string | number | bigint, string | number | bigint>;

export interface TenantsTable {
  tenant_id: string;
  display_name: string;
  keys_version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SettingsTable {
  tenant_id: string;
  key: string;
  value: Json<unknown>;
}

export interface UsersTable {
  tenant_id: string;
  id: string;
  username: string;
  email: string | null;
  email_verified: Generated<boolean>;
  given_name: string | null;
  family_name: string | null;
  active: Generated<boolean>;
  password_hash: string | null;
  source: Generated<string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GroupsTable {
  tenant_id: string;
  id: string;
  name: string;
  description: string | null;
  source: Generated<string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GroupMembersTable {
  tenant_id: string;
  group_id: string;
  member_kind: 'user' | 'group';
  member_id: string;
  created_at: Timestamp;
}

export interface ClientsTable {
  tenant_id: string;
  client_id: string;
  metadata: Json<Record<string, unknown>>;
  secret_hash: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ResourceServersTable {
  tenant_id: string;
  identifier: string;
  name: string;
  scopes: Json<string[]>;
  access_token_ttl: number;
  created_at: Timestamp;
}

export interface DataKeysTable {
  tenant_id: string;
  id: string;
  wrapped: string;
  master_kid: string;
  created_at: Timestamp;
}

export interface SigningKeysTable {
  tenant_id: string;
  kid: string;
  alg: string;
  status: 'active' | 'retired';
  private_jwe: string;
  public_jwk: Json<Record<string, unknown>>;
  created_at: Timestamp;
  retired_at: Timestamp | null;
  publish_until: Timestamp | null;
}

export interface OidcPayloadsTable {
  tenant_id: string;
  model: string;
  id: string;
  payload: Json<Record<string, unknown>>;
  consumed_at: Timestamp | null;
  expires_at: Timestamp | null;
}

export interface AuditChainsTable {
  tenant_id: string;
  chain_id: string;
  writer: string;
  head_seq: BigIntColumn;
  head_hash: string;
  created_at: Timestamp;
}

export interface AuditEventsTable {
  tenant_id: string;
  id: string;
  chain_id: string;
  seq: BigIntColumn;
  type: string;
  at: Timestamp;
  actor: string | null;
  subject: string | null;
  ip: string | null;
  details: Json<Record<string, unknown>>;
  prev_hash: string;
  hash: string;
}

export interface RateLimitCountersTable {
  tenant_id: string;
  bucket: string;
  window_start: Timestamp;
  hits: number;
}

export interface Database {
  tenants: TenantsTable;
  settings: SettingsTable;
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  clients: ClientsTable;
  resource_servers: ResourceServersTable;
  data_keys: DataKeysTable;
  signing_keys: SigningKeysTable;
  oidc_payloads: OidcPayloadsTable;
  audit_chains: AuditChainsTable;
  audit_events: AuditEventsTable;
  rate_limit_counters: RateLimitCountersTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type GroupRow = Selectable<GroupsTable>;
export type ClientRow = Selectable<ClientsTable>;
export type TenantRow = Selectable<TenantsTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type ResourceServerRow = Selectable<ResourceServersTable>;
