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
  /** SCIM (migration 20261126010000_scim). */
  external_id: ColumnType<string | null, string | null | undefined, string | null>;
  scim: ColumnType<Record<string, unknown>, string | undefined, string>;
  version: ColumnType<string | number, string | number | bigint | undefined, string | number | bigint>;
  attribute_sources: ColumnType<Record<string, string>, string | undefined, string>;
}

export interface GroupsTable {
  tenant_id: string;
  id: string;
  name: string;
  description: string | null;
  source: Generated<string>;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** SCIM (migration 20261126010000_scim). */
  external_id: ColumnType<string | null, string | null | undefined, string | null>;
  scim: ColumnType<Record<string, unknown>, string | undefined, string>;
  version: ColumnType<string | number, string | number | bigint | undefined, string | number | bigint>;
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

export interface ScimTokensTable {
  tenant_id: string;
  id: string;
  description: string;
  token_hash: string;
  created_by: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface AttributePrecedenceTable {
  tenant_id: string;
  document: Json<Record<string, unknown>>;
  updated_at: Timestamp;
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
  scim_tokens: ScimTokensTable;
  attribute_precedence: AttributePrecedenceTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type GroupRow = Selectable<GroupsTable>;
export type ClientRow = Selectable<ClientsTable>;
export type TenantRow = Selectable<TenantsTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type ResourceServerRow = Selectable<ResourceServersTable>;
export type ScimTokenRow = Selectable<ScimTokensTable>;

// Risk engine and MFA (migrations/20261126020000_risk_mfa.ts).

export interface RiskProfilesTable {
  tenant_id: string;
  user_id: string;
  sign_ins: Generated<number>;
  first_sign_in_at: Timestamp | null;
  last_sign_in_at: Timestamp | null;
  compromised_at: Timestamp | null;
  compromised_reason: string | null;
}

export interface SigninHistoryTable {
  tenant_id: string;
  user_id: string;
  id: string;
  at: Timestamp;
  ip: string;
  network: string;
  asn: number | null;
  country: string | null;
  latitude: number | null;
  longitude: number | null;
  accuracy_km: number | null;
  device_id: string | null;
  assessment_id: string | null;
}

export interface DevicesTable {
  tenant_id: string;
  user_id: string;
  id: string;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  user_agent_family: string;
  last_ip: string;
  last_network: string;
  sign_ins: Generated<number>;
  passkey_bound: Generated<boolean>;
}

export interface AccountFailuresTable {
  tenant_id: string;
  username: string;
  consecutive: number;
  first_failure_at: Timestamp;
  last_failure_at: Timestamp;
}

export interface SourceAttemptsTable {
  tenant_id: string;
  source: string;
  bucket_start: Timestamp;
  username: string;
  failures: Generated<number>;
  successes: Generated<number>;
}

export interface RiskPoliciesTable {
  tenant_id: string;
  document: Json<Record<string, unknown>>;
  version: Generated<number>;
  updated_at: Timestamp;
}

export interface MfaFactorsTable {
  tenant_id: string;
  user_id: string;
  id: string;
  kind: 'totp';
  status: 'pending' | 'active';
  secret_jwe: string;
  last_step: BigIntColumn | null;
  created_at: Timestamp;
  confirmed_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

export interface MfaRecoveryCodesTable {
  tenant_id: string;
  user_id: string;
  code_hash: string;
  created_at: Timestamp;
  used_at: Timestamp | null;
}

export interface Database {
  risk_profiles: RiskProfilesTable;
  signin_history: SigninHistoryTable;
  devices: DevicesTable;
  account_failures: AccountFailuresTable;
  source_attempts: SourceAttemptsTable;
  risk_policies: RiskPoliciesTable;
  mfa_factors: MfaFactorsTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
}

// Passkeys (migrations/20261126030000_passkeys.ts).

export interface PasskeysTable {
  tenant_id: string;
  user_id: string;
  id: string;
  credential_id: string;
  public_key: Buffer;
  sign_count: BigIntColumn;
  transports: Json<string[]>;
  name: string;
  aaguid: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
}

export interface WebauthnChallengesTable {
  tenant_id: string;
  challenge: string;
  purpose: 'registration' | 'authentication';
  binding: string;
  user_id: string | null;
  expires_at: Timestamp;
}

export interface Database {
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
}
