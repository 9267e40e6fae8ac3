/**
 * The risk engine's round trips, each one SQL statement:
 *
 *   readSignals   everything precheck or assess reads (account run, source windows, known device, and for
 *                 assess the profile and the places of recent sign-ins), as scalar subqueries of one SELECT
 *   learnWrite    what complete() writes: device upsert, history row, profile count and the account's
 *                 failure reset, fixed statement texts run as data-modifying CTEs of one statement (all or
 *                 nothing, like one transaction): their own (learnSignIn) or the assessment's audit event's
 * (The assessment itself is its `risk.assessment` audit event: no table of its own.)
 */
import { CompiledQuery, sql, type Kysely, type RawBuilder } from 'kysely';
import { standalone, type CombinedWrite } from '../../db/combined-writes.ts';
import type { Database } from '../../db/schema.ts';
import type { StoredCredential } from '../../identity/password-authenticator.ts';
import type { DeviceRecord, DeviceSighting } from './device-repository.ts';
import { accountKey, type AccountFailures, type SourceStats, type SourceWindows } from './failure-counters.ts';
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
  /**
   * History read by username only: the user that username names, with what a password check needs, read in
   * the same statement (the sign-in's password check uses it instead of looking the user up again).
   */
  readonly user?: StoredCredential;
  readonly account: AccountFailures;
  readonly sources: SourceStats[];
  readonly knownDevice: DeviceRecord | undefined;
  readonly profile: RiskProfile;
  readonly recent: SignInRecord[];
}

/** json columns: pg parses them; timestamps arrive as ISO 8601 strings with an offset. */
interface SignalsRow {
  user_id: string | null;
  password_hash: string | null;
  active: boolean | null;
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

/**
 * The values a signals read binds, by name. The statement's text depends only on the read's shape (which
 * parts it has: sources, device, history, by id or by username), so each shape is compiled once, with
 * `Slot`s where the values go, and every later read of that shape binds its values in the slots' order: no
 * query building per sign-in, and the same string each time for the prepared-statement cache to look up.
 */
interface SignalsValues {
  readonly tenantId: string;
  readonly account: string;
  readonly resetBefore: string;
  readonly source0: string | null;
  readonly source1: string | null;
  readonly source2: string | null;
  readonly spraySince: string;
  readonly throttleSince: string;
  readonly windowSince: string;
  readonly deviceId: string | null;
  readonly deviceUserId: string | null;
  readonly deviceUsername: string | null;
  readonly historyUserId: string | null;
  readonly historyUsername: string | null;
  readonly historySince: string | null;
  readonly historyLimit: number | null;
}

/** Where a value of `SignalsValues` goes in a shape's statement. */
class Slot {
  readonly name: keyof SignalsValues;
  constructor(name: keyof SignalsValues) {
    this.name = name;
  }
}
const v = (name: keyof SignalsValues): Slot => new Slot(name);

/** Which parts a read has; one compiled statement per shape (a dozen at most). */
interface Shape {
  readonly sources: boolean;
  /** The device of a valid cookie: by the user's id, by the history's (joined) username, or by another username. */
  readonly device: 'none' | 'id' | 'joined' | 'username';
  readonly history: 'none' | 'id' | 'username';
}

function shapeOf(q: SignalsQuery): Shape {
  const history = !q.history ? 'none' : 'id' in q.history.user ? 'id' : 'username';
  let device: Shape['device'] = 'none';
  if (q.device) device = 'userId' in q.device ? 'id' : q.device.username.toLowerCase() === historyUsername(q) ? 'joined' : 'username';
  return { sources: q.sources.length > 0, device, history };
}

function valuesOf(q: SignalsQuery): SignalsValues {
  if (q.sources.length > SOURCE_SLOTS) throw new RangeError(`at most ${SOURCE_SLOTS} sources per read`);
  const { spraySince, throttleSince } = q.windows;
  const d = q.device;
  const h = q.history;
  return {
    tenantId: q.tenantId,
    account: accountKey(q.username),
    resetBefore: q.resetBefore.toISOString(),
    source0: q.sources[0] ?? null,
    source1: q.sources[1] ?? null,
    source2: q.sources[2] ?? null,
    spraySince: spraySince.toISOString(),
    throttleSince: throttleSince.toISOString(),
    windowSince: (spraySince < throttleSince ? spraySince : throttleSince).toISOString(),
    deviceId: d?.deviceId ?? null,
    deviceUserId: d && 'userId' in d ? d.userId : null,
    deviceUsername: d && 'username' in d ? d.username.toLowerCase() : null,
    historyUserId: h && 'id' in h.user ? h.user.id : null,
    historyUsername: historyUsername(q) ?? null,
    historySince: h ? h.since.toISOString() : null,
    historyLimit: h ? h.limit : null,
  };
}

interface CompiledShape {
  readonly text: string;
  readonly order: readonly (keyof SignalsValues)[];
}

const compiledShapes = new Map<string, CompiledShape>();

function compiledShape(db: Kysely<Database>, shape: Shape): CompiledShape {
  const key = `${shape.sources}/${shape.device}/${shape.history}`;
  let compiled = compiledShapes.get(key);
  if (!compiled) {
    const query = signalsStatement(shape).compile(db);
    const order = query.parameters.map((p) => {
      if (!(p instanceof Slot)) throw new TypeError('signals read: a value outside its slots');
      return p.name;
    });
    compiled = { text: query.sql, order };
    compiledShapes.set(key, compiled);
  }
  return compiled;
}

export async function readSignals(db: Kysely<Database>, q: SignalsQuery): Promise<Signals> {
  const shape = shapeOf(q);
  const { text, order } = compiledShape(db, shape);
  const values = valuesOf(q);
  const { rows } = await db.executeQuery<SignalsRow>(CompiledQuery.raw(text, order.map((name) => values[name])));
  const row = rows[0];
  if (!row) throw new Error('readSignals: no row');
  const byUsername = shape.history === 'username';
  return {
    ...(row.user_id === null ? {} : { userId: row.user_id }),
    ...(byUsername && row.user_id !== null ? { user: { id: row.user_id, password_hash: row.password_hash, active: row.active === true } } : {}),
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

/** One statement for a shape: scalar subqueries of one SELECT; by username, the user row is joined once. */
function signalsStatement(shape: Shape): RawBuilder<SignalsRow> {
  const byUsername = shape.history === 'username';
  // By username: every per-user read below refers to the joined row's id.
  return sql<SignalsRow>`
    select
      ${userIdOf(shape)} as user_id,
      ${byUsername ? sql`u.password_hash, u.active` : sql`null::text as password_hash, null::boolean as active`},
      (select case when last_failure_at >= ${v('resetBefore')}
                   then json_build_object('consecutive', consecutive, 'last_failure_at', last_failure_at) end
         from account_failures
        where tenant_id = ${v('tenantId')} and username = ${v('account')}) as account,
      ${sourcesJson(shape)} as sources,
      ${deviceJson(shape)} as device,
      ${profileJson(shape)} as profile,
      ${recentJson(shape)} as recent
    ${byUsername ? sql`from (values (1)) as one(x) left join users u on u.tenant_id = ${v('tenantId')} and lower(u.username) = ${v('historyUsername')}` : sql``}
  `;
}

/** A sign-in has at most three sources: its address, its network, its ASN (RiskEngine's place). */
const SOURCE_SLOTS = 3;

/**
 * Same windows as PostgresFailureCounters.sources. One aggregate per source, each an index range of its own
 * (tenant, source, window) on the primary key: no sort, and no rows of other sources read.
 * The sources travel in three fixed slots (unused ones null), not as an array: PostgreSQL estimates an array
 * parameter's unnest at ten rows, which made the prepared statement's generic plan look three times dearer
 * than the custom plans, so it planned the whole statement afresh on every sign-in (0.5 ms of its CPU, four
 * times the cost of running it).
 */
function sourcesJson(shape: Shape): RawBuilder<unknown> {
  if (!shape.sources) return NULL_JSON;
  const slots = [v('source0'), v('source1'), v('source2')].map((slot) => sql`(${slot}::text)`);
  return sql`(select json_agg(s) from (
      select wanted.source, a.failures, a.successes, a.distinct_failed, a.recent_failures
        from (values ${sql.join(slots)}) as wanted(source)
        cross join lateral (
          select coalesce(sum(failures) filter (where bucket_start >= ${v('spraySince')}), 0)::int as failures,
                 coalesce(sum(successes) filter (where bucket_start >= ${v('spraySince')}), 0)::int as successes,
                 count(distinct username) filter (where failures > 0 and bucket_start >= ${v('spraySince')})::int as distinct_failed,
                 coalesce(sum(failures) filter (where bucket_start >= ${v('throttleSince')}), 0)::int as recent_failures
            from source_attempts
           where tenant_id = ${v('tenantId')} and source = wanted.source and bucket_start >= ${v('windowSince')}) a
       where wanted.source is not null) s)`;
}

function deviceJson(shape: Shape): RawBuilder<unknown> {
  if (shape.device === 'none') return NULL_JSON;
  const owner =
    shape.device === 'id'
      ? sql`${v('deviceUserId')}::uuid`
      : shape.device === 'joined'
        ? sql`u.id`
        : sql`(select id from users where tenant_id = ${v('tenantId')} and lower(username) = ${v('deviceUsername')})`;
  return sql`(select row_to_json(d) from (
      select id, first_seen_at, last_seen_at, user_agent_family, last_ip, last_network, sign_ins, passkey_bound
        from devices
       where tenant_id = ${v('tenantId')} and user_id = ${owner} and id = ${v('deviceId')}) d)`;
}

/** The history's username, lower-cased (as UserRepository.findByUsername compares), when it is read by username. */
function historyUsername(q: SignalsQuery): string | undefined {
  return q.history && 'username' in q.history.user ? q.history.user.username.toLowerCase() : undefined;
}

/** The history's user id: the given one, or the id of the user row joined by username (`u`). */
function userIdOf(shape: Shape): RawBuilder<unknown> {
  if (shape.history === 'none') return sql`null::uuid`;
  return shape.history === 'id' ? sql`${v('historyUserId')}::uuid` : sql`u.id`;
}

function profileJson(shape: Shape): RawBuilder<unknown> {
  if (shape.history === 'none') return NULL_JSON;
  return sql`(select json_build_object('sign_ins', sign_ins, 'first_sign_in_at', first_sign_in_at,
                                       'compromised_at', compromised_at, 'compromised_reason', compromised_reason)
                from risk_profiles
               where tenant_id = ${v('tenantId')} and user_id = ${userIdOf(shape)})`;
}

/**
 * Where the user signed in lately: of the last `limit` sign-ins since `since`, the newest of each place
 * (network, ASN, country and coordinates), newest first. The rules ask only whether a network, ASN or country
 * was seen and where the newest located sign-in was, and these rows answer that exactly: the newest located
 * sign-in is the newest of its own place. A user who signs in from one place reads one row, not 50.
 */
function recentJson(shape: Shape): RawBuilder<unknown> {
  if (shape.history === 'none') return NULL_JSON;
  return sql`(select json_agg(r order by r.at desc) from (
      select distinct on (network, asn, country, latitude, longitude, accuracy_km)
             at, ip, network, asn, country, latitude, longitude, accuracy_km, device_id
        from (select at, ip, network, asn, country, latitude, longitude, accuracy_km, device_id
                from signin_history
               where tenant_id = ${v('tenantId')} and user_id = ${userIdOf(shape)} and at >= ${v('historySince')}
               order by at desc
               limit ${v('historyLimit')}) last
       order by network, asn, country, latitude, longitude, accuracy_km, at desc) r)`;
}

export interface Learned {
  readonly tenantId: string;
  readonly userId: string;
  readonly username: string;
  readonly historyId: string;
  readonly assessmentId: string | null;
  readonly record: SignInRecord;
  readonly sighting: DeviceSighting;
  /** Whether to reset the account's failure run (it had one when assessed, or may have since). */
  readonly resetFailures: boolean;
}

/**
 * complete()'s writes as fixed statement texts (prepared once per connection; nothing to build per sign-in),
 * run as one statement: the device upsert (sets the passkey binding, never clears it), the history row and the
 * profile count; the account's failure run reset when it had one (LEARN_AND_RESET_STATEMENTS). All or nothing,
 * like one transaction. (The sources' success counts go through SuccessTally.)
 * Every parameter is an array with one element per sign-in, so the writes of several sign-ins merge into one
 * write with the same text (`arrays` in combined-writes.ts).
 */
const LEARN_STATEMENTS = [
  `insert into devices (tenant_id, user_id, id, first_seen_at, last_seen_at, user_agent_family, last_ip, last_network, sign_ins, passkey_bound)
   select t, u, d, at, at, ua, ip, net, 1, pk
     from unnest($1::text[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::boolean[]) as x(t, u, d, at, ua, ip, net, pk)
   on conflict (tenant_id, user_id, id) do update set
     last_seen_at = greatest(devices.last_seen_at, excluded.last_seen_at),
     user_agent_family = excluded.user_agent_family,
     last_ip = excluded.last_ip,
     last_network = excluded.last_network,
     sign_ins = devices.sign_ins + 1,
     passkey_bound = devices.passkey_bound or excluded.passkey_bound`,
  `insert into signin_history (tenant_id, user_id, id, assessment_id, at, ip, network, asn, country, latitude, longitude, accuracy_km, device_id)
   select * from unnest($1::text[], $2::uuid[], $9::uuid[], $10::uuid[], $11::timestamptz[], $12::text[], $13::text[], $14::integer[], $15::text[],
                        $16::float8[], $17::float8[], $18::float8[], $19::uuid[])`,
  `insert into risk_profiles (tenant_id, user_id, sign_ins, first_sign_in_at, last_sign_in_at)
   select t, u, 1, at, at from unnest($1::text[], $2::uuid[], $11::timestamptz[]) as x(t, u, at)
   on conflict (tenant_id, user_id) do update set
     sign_ins = risk_profiles.sign_ins + 1,
     first_sign_in_at = coalesce(risk_profiles.first_sign_in_at, excluded.first_sign_in_at),
     last_sign_in_at = greatest(risk_profiles.last_sign_in_at, excluded.last_sign_in_at)`,
];

/**
 * With the account's failure run reset too: a scalar statement (by primary key, whatever the plan), so such
 * writes stay apart instead of merging. Only a sign-in whose account had a run needs it.
 */
const LEARN_AND_RESET_STATEMENTS = [...LEARN_STATEMENTS, `delete from account_failures where tenant_id = $20 and username = $21`];

/**
 * complete()'s writes (see LEARN_STATEMENTS): to run on their own (`learnSignIn`, after a step-up) or carried
 * by the statement of the assessment's audit event (AuditLog.record).
 */
export function learnWrite(l: Learned): CombinedWrite {
  const { sighting: d, record: r } = l;
  // Times as ISO strings: pg's own Date formatting costs several times more.
  const one = (value: unknown): unknown[] => [value];
  const parameters = [
    one(l.tenantId), one(l.userId),
    one(d.id), one(d.at.toISOString()), one(d.userAgentFamily), one(d.ip), one(d.network), one(d.passkeyBound),
    one(l.historyId), one(l.assessmentId), one(r.at.toISOString()), one(r.ip), one(r.network), one(r.asn ?? null), one(r.country ?? null),
    one(r.latitude ?? null), one(r.longitude ?? null), one(r.accuracyKm ?? null), one(r.deviceId ?? null),
  ];
  const keys = [`devices ${l.tenantId} ${l.userId} ${d.id}`, `risk_profiles ${l.tenantId} ${l.userId}`];
  if (!l.resetFailures) return { statements: LEARN_STATEMENTS, parameters, keys, arrays: true };
  const account = accountKey(l.username);
  return { statements: LEARN_AND_RESET_STATEMENTS, parameters: [...parameters, l.tenantId, account], keys: [...keys, `account_failures ${l.tenantId} ${account}`] };
}

/** complete()'s writes in a statement of their own. */
export async function learnSignIn(db: Kysely<Database>, l: Learned): Promise<void> {
  await db.executeQuery(standalone(learnWrite(l)));
}
