/**
 * The risk engine's round trips, each one SQL statement:
 *
 *   readSignals   everything precheck or assess reads (account run, source windows, known device, and for
 *                 assess the profile and the places of recent sign-ins), as scalar subqueries of one SELECT
 *   learnSignIn   what complete() writes: device upsert, history row, profile count and the account's
 *                 failure reset, as data-modifying CTEs of one statement (all or nothing, like one transaction)
 *
 * The SQL matches the single-purpose repository methods (DeviceRepository, SignInHistory,
 * PostgresFailureCounters), which share the builders below.
 */
import { sql, type Kysely, type QueryCreator, type RawBuilder } from 'kysely';
import type { Insertable } from 'kysely';
import type { Database, RiskAssessmentsTable } from '../../db/schema.ts';
import type { DeviceRecord, DeviceSighting } from './device-repository.ts';
import { accountKey, bucketOf, type AccountFailures, type SourceStats, type SourceWindows } from './failure-counters.ts';
import type { RiskProfile, SignInRecord } from './history-repository.ts';

export interface SignalsQuery {
  readonly tenantId: string;
  readonly username: string;
  /** The account run counts only when its last failure is at or after this. */
  readonly resetBefore: Date;
  /** Empty: no source read (trusted network). */
  readonly sources: readonly string[];
  readonly windows: SourceWindows;
  /**
   * The device of a valid cookie, looked up for this user: by id, or (before the password check) for the user
   * the typed username names, found in the same statement.
   */
  readonly device?: DeviceLookup;
  /**
   * The user's profile and recent sign-ins (assess only): of the last `limit` since `since`, the newest of each
   * place (network, ASN, country, coordinates), newest first.
   */
  readonly history?: {
    /** The user, or (before the password check, when only the typed username is known) their username. */
    readonly user: { readonly id: string } | { readonly username: string };
    readonly limit: number;
    readonly since: Date;
  };
}

/** A device of a valid cookie, for a user known by id or by the username typed. */
export type DeviceLookup = { readonly userId: string; readonly deviceId: string } | { readonly username: string; readonly deviceId: string };

export interface Signals {
  /** The user whose profile and history were read (by id, or found by username; undefined: none). */
  readonly userId?: string;
  readonly account: AccountFailures;
  readonly sources: SourceStats[];
  readonly knownDevice: DeviceRecord | undefined;
  readonly profile: RiskProfile;
  readonly recent: SignInRecord[];
}

/** json columns: pg parses them; timestamps arrive as ISO 8601 strings with an offset. */
interface SignalsRow {
  user_id: string | null;
  account: { consecutive: number; last_failure_at: string } | null;
  sources: { source: string; failures: number; successes: number; distinct_failed: number; recent_failures: number }[] | null;
  device: {
    id: string;
    first_seen_at: string;
    last_seen_at: string;
    user_agent_family: string;
    last_ip: string;
    last_network: string;
    sign_ins: number;
    passkey_bound: boolean;
  } | null;
  profile: { sign_ins: number; first_sign_in_at: string | null; compromised_at: string | null; compromised_reason: string | null } | null;
  recent:
    | {
        at: string;
        ip: string;
        network: string;
        asn: number | null;
        country: string | null;
        latitude: number | null;
        longitude: number | null;
        accuracy_km: number | null;
        device_id: string | null;
      }[]
    | null;
}

const NULL_JSON = sql<null>`null::json`;
const opt = <T>(value: T | null): T | undefined => value ?? undefined;

export async function readSignals(db: Kysely<Database>, q: SignalsQuery): Promise<Signals> {
  const { rows } = await sql<SignalsRow>`
    select
      ${userIdOf(q)} as user_id,
      (select case when last_failure_at >= ${q.resetBefore}
                   then json_build_object('consecutive', consecutive, 'last_failure_at', last_failure_at) end
         from account_failures
        where tenant_id = ${q.tenantId} and username = ${accountKey(q.username)}) as account,
      ${sourcesJson(q)} as sources,
      ${deviceJson(q)} as device,
      ${profileJson(q)} as profile,
      ${recentJson(q)} as recent
  `.execute(db);
  const row = rows[0];
  if (!row) throw new Error('readSignals: no row');
  return {
    ...(row.user_id === null ? {} : { userId: row.user_id }),
    account: row.account ? { consecutive: row.account.consecutive, lastFailureAt: new Date(row.account.last_failure_at) } : { consecutive: 0 },
    sources: q.sources.map((source) => {
      const r = row.sources?.find((s) => s.source === source);
      return {
        source,
        failures: r?.failures ?? 0,
        successes: r?.successes ?? 0,
        distinctUsernamesFailed: r?.distinct_failed ?? 0,
        recentFailures: r?.recent_failures ?? 0,
      };
    }),
    knownDevice: row.device
      ? {
          id: row.device.id,
          firstSeenAt: new Date(row.device.first_seen_at),
          lastSeenAt: new Date(row.device.last_seen_at),
          userAgentFamily: row.device.user_agent_family,
          lastIp: row.device.last_ip,
          lastNetwork: row.device.last_network,
          signIns: row.device.sign_ins,
          passkeyBound: row.device.passkey_bound,
        }
      : undefined,
    profile: row.profile
      ? {
          signIns: row.profile.sign_ins,
          firstSignInAt: row.profile.first_sign_in_at === null ? undefined : new Date(row.profile.first_sign_in_at),
          compromised: row.profile.compromised_at ? { at: new Date(row.profile.compromised_at), reason: row.profile.compromised_reason } : undefined,
        }
      : { signIns: 0 },
    recent: (row.recent ?? []).map((r) => ({
      at: new Date(r.at),
      ip: r.ip,
      network: r.network,
      asn: opt(r.asn),
      country: opt(r.country),
      latitude: opt(r.latitude),
      longitude: opt(r.longitude),
      accuracyKm: opt(r.accuracy_km),
      deviceId: opt(r.device_id),
    })),
  };
}

/**
 * Same windows as PostgresFailureCounters.sources. One aggregate per source, each an index range of its own
 * (tenant, source, window) on the primary key: no sort, and no rows of other sources read.
 */
function sourcesJson(q: SignalsQuery): RawBuilder<unknown> {
  if (q.sources.length === 0) return NULL_JSON;
  const { spraySince, throttleSince } = q.windows;
  const since = spraySince < throttleSince ? spraySince : throttleSince;
  return sql`(select json_agg(s) from (
      select wanted.source, a.failures, a.successes, a.distinct_failed, a.recent_failures
        from unnest(${sql.val([...q.sources])}::text[]) as wanted(source)
        cross join lateral (
          select coalesce(sum(failures) filter (where bucket_start >= ${spraySince}), 0)::int as failures,
                 coalesce(sum(successes) filter (where bucket_start >= ${spraySince}), 0)::int as successes,
                 count(distinct username) filter (where failures > 0 and bucket_start >= ${spraySince})::int as distinct_failed,
                 coalesce(sum(failures) filter (where bucket_start >= ${throttleSince}), 0)::int as recent_failures
            from source_attempts
           where tenant_id = ${q.tenantId} and source = wanted.source and bucket_start >= ${since}) a) s)`;
}

function deviceJson(q: SignalsQuery): RawBuilder<unknown> {
  if (!q.device) return NULL_JSON;
  const owner = 'userId' in q.device ? userIdBy(q.tenantId, { id: q.device.userId }) : userIdBy(q.tenantId, { username: q.device.username });
  return sql`(select row_to_json(d) from (
      select id, first_seen_at, last_seen_at, user_agent_family, last_ip, last_network, sign_ins, passkey_bound
        from devices
       where tenant_id = ${q.tenantId} and user_id = ${owner} and id = ${q.device.deviceId}) d)`;
}

/** The history's user id: the given one, or the user with that username (as UserRepository.findByUsername). */
function userIdOf(q: SignalsQuery): RawBuilder<unknown> {
  if (!q.history) return sql`null::uuid`;
  return userIdBy(q.tenantId, q.history.user);
}

function userIdBy(tenantId: string, user: { readonly id: string } | { readonly username: string }): RawBuilder<unknown> {
  if ('id' in user) return sql`${user.id}::uuid`;
  return sql`(select id from users where tenant_id = ${tenantId} and lower(username) = ${user.username.toLowerCase()})`;
}

function profileJson(q: SignalsQuery): RawBuilder<unknown> {
  if (!q.history) return NULL_JSON;
  return sql`(select json_build_object('sign_ins', sign_ins, 'first_sign_in_at', first_sign_in_at,
                                       'compromised_at', compromised_at, 'compromised_reason', compromised_reason)
                from risk_profiles
               where tenant_id = ${q.tenantId} and user_id = ${userIdOf(q)})`;
}

/**
 * Where the user signed in lately: of the last `limit` sign-ins since `since`, the newest of each place
 * (network, ASN, country and coordinates), newest first. The rules ask only whether a network, ASN or country
 * was seen and where the newest located sign-in was, and these rows answer that exactly: the newest located
 * sign-in is the newest of its own place. A user who signs in from one place reads one row, not 50.
 */
function recentJson(q: SignalsQuery): RawBuilder<unknown> {
  if (!q.history) return NULL_JSON;
  const h = q.history;
  return sql`(select json_agg(r order by r.at desc) from (
      select distinct on (network, asn, country, latitude, longitude, accuracy_km)
             at, ip, network, asn, country, latitude, longitude, accuracy_km, device_id
        from (select at, ip, network, asn, country, latitude, longitude, accuracy_km, device_id
                from signin_history
               where tenant_id = ${q.tenantId} and user_id = ${userIdOf(q)} and at >= ${h.since}
               order by at desc
               limit ${h.limit}) last
       order by network, asn, country, latitude, longitude, accuracy_km, at desc) r)`;
}

/** Records a completed sign-in on the device: one upsert (sets the passkey binding, never clears it). */
export function deviceUpsert(db: QueryCreator<Database>, tenantId: string, userId: string, s: DeviceSighting) {
  return db
    .insertInto('devices')
    .values({
      tenant_id: tenantId,
      user_id: userId,
      id: s.id,
      first_seen_at: s.at,
      last_seen_at: s.at,
      user_agent_family: s.userAgentFamily,
      last_ip: s.ip,
      last_network: s.network,
      sign_ins: 1,
      passkey_bound: s.passkeyBound,
    })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'user_id', 'id']).doUpdateSet({
        last_seen_at: sql<Date>`greatest(devices.last_seen_at, excluded.last_seen_at)`,
        user_agent_family: s.userAgentFamily,
        last_ip: s.ip,
        last_network: s.network,
        sign_ins: sql<number>`devices.sign_ins + 1`,
        passkey_bound: sql<boolean>`devices.passkey_bound or excluded.passkey_bound`,
      }),
    );
}

export function historyInsert(db: QueryCreator<Database>, tenantId: string, userId: string, id: string, assessmentId: string | null, record: SignInRecord) {
  return db.insertInto('signin_history').values({
    tenant_id: tenantId,
    user_id: userId,
    id,
    assessment_id: assessmentId,
    at: record.at,
    ip: record.ip,
    network: record.network,
    asn: record.asn ?? null,
    country: record.country ?? null,
    latitude: record.latitude ?? null,
    longitude: record.longitude ?? null,
    accuracy_km: record.accuracyKm ?? null,
    device_id: record.deviceId ?? null,
  });
}

/** Counts a learned sign-in in the user's profile. */
export function profileCount(db: QueryCreator<Database>, tenantId: string, userId: string, at: Date) {
  return db
    .insertInto('risk_profiles')
    .values({ tenant_id: tenantId, user_id: userId, sign_ins: 1, first_sign_in_at: at, last_sign_in_at: at })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'user_id']).doUpdateSet({
        sign_ins: sql<number>`risk_profiles.sign_ins + 1`,
        first_sign_in_at: sql<Date>`coalesce(risk_profiles.first_sign_in_at, excluded.first_sign_in_at)`,
        last_sign_in_at: sql<Date>`greatest(risk_profiles.last_sign_in_at, excluded.last_sign_in_at)`,
      }),
    );
}

/** Rows per source and minute that successful sign-ins are counted in (see `sourceAttempts`). */
const SUCCESS_SHARDS = 8;

/**
 * The row key a success is counted under: `*0` … `*7`, chosen by the account key. Successes are only ever
 * summed (the denominator of a source's failure ratio), so they need no username: a source's window then
 * holds one row per failing username but at most eight rows a minute for its successes, however many people
 * sign in behind it (an office or carrier NAT), and concurrent sign-ins from one address rarely wait for the
 * same row. A real username that looks like a shard key only shares a row's sums, which stay right.
 */
function successShard(username: string): string {
  const key = accountKey(username);
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return `*${h % SUCCESS_SHARDS}`;
}

/**
 * One attempt per source in the current one-minute bucket: a failure under the account's key (distinct
 * usernames failed are counted from these rows), a success under its shard (`successShard`).
 */
export function sourceAttempts(db: QueryCreator<Database>, tenantId: string, username: string, sources: readonly string[], at: Date, column: 'failures' | 'successes') {
  const bucket = bucketOf(at);
  const user = column === 'successes' ? successShard(username) : accountKey(username);
  return db
    .insertInto('source_attempts')
    .values(sources.map((source) => ({ tenant_id: tenantId, source, bucket_start: bucket, username: user, [column]: 1 })))
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'source', 'bucket_start', 'username']).doUpdateSet({
        [column]: sql<number>`source_attempts.${sql.ref(column)} + 1`,
      }),
    );
}

export interface Learned {
  readonly tenantId: string;
  readonly userId: string;
  readonly username: string;
  readonly historyId: string;
  readonly assessmentId: string | null;
  readonly record: SignInRecord;
  readonly sighting: DeviceSighting;
  /** The sign-in's assessment, when it was not stored yet: written by the same statement. */
  readonly assessment?: { readonly row: Insertable<RiskAssessmentsTable>; readonly successes?: SuccessCount };
}

/** Successful first factors to count for the sources of a sign-in. */
export interface SuccessCount {
  readonly username: string;
  readonly sources: readonly string[];
  readonly at: Date;
}

/**
 * complete()'s writes in one statement: device, history, profile, and the account's failure run reset; with
 * `assessment`, the assessment row and its sources' success counts too.
 */
export async function learnSignIn(db: Kysely<Database>, l: Learned): Promise<void> {
  const base = db
    .with('device', (q) => deviceUpsert(q, l.tenantId, l.userId, l.sighting).returning('id'))
    .with('history', (q) => historyInsert(q, l.tenantId, l.userId, l.historyId, l.assessmentId, l.record).returning('id'))
    .with('profile', (q) => profileCount(q, l.tenantId, l.userId, l.record.at).returning('user_id'));
  const assessment = l.assessment;
  const withAssessment = assessment ? base.with('assessment', (q) => q.insertInto('risk_assessments').values(assessment.row).returning('id')) : base;
  const successes = assessment?.successes;
  const all =
    successes && successes.sources.length > 0
      ? withAssessment.with('successes', (q) => sourceAttempts(q, l.tenantId, successes.username, successes.sources, successes.at, 'successes').returning('source'))
      : withAssessment;
  await all.deleteFrom('account_failures').where('tenant_id', '=', l.tenantId).where('username', '=', accountKey(l.username)).execute();
}
