/**
 * `node bench/signin-risk.ts`: complete password sign-ins per second (authorize → login form → code →
 * token) through real Portcullis processes with the risk engine on, and with it off (RISK_ENGINE=off, the
 * benchmark switch), and the engine's share of a sign-in. The target: under 5 %.
 *
 * The two modes run side by side: each has its own database (pc_bench_<random>, BENCH_PG_URL overrides the
 * server) and its own server process, both set up alike, and each round loads both at once for the same
 * window. On a shared machine whose speed drifts by ±15 % from one ten-second window to the next (the
 * thread pool's argon2id, the same work in both modes, showed it), running the modes one after the other
 * charged that drift to whichever mode had the slower window; side by side, both meet the same machine at
 * the same moment, and a round's two halves differ by what the engine does. A round's PostgreSQL CPU is
 * split by database (each backend's process title names its database: bench/lib/cpu.ts); the processes
 * that serve both (WAL writer, checkpointer, background writer) are split in proportion to the two sides'
 * own backends.
 *
 * The share is computed from CPU per sign-in (the Portcullis process plus PostgreSQL, from /proc), which
 * other load on the machine disturbs far less than throughput does; the throughput share is printed too.
 *
 * Every sign-in is a fresh browser from 127.0.0.1: the engine does all its work (precheck, assess with its
 * reads and writes, complete with its learning and device cookie). The bench tenant's policy allows every
 * level, so that no sign-in stops at a step-up page whatever the history the rounds pile up.
 * Each measured window ends with the VACUUM and CHECKPOINT of what it left, counted (autovacuum's and the
 * checkpointer's work in production; autovacuum is off on the machines we measure on, and without it
 * PostgreSQL's cost per sign-in doubled within a minute), so the next window starts from a clean database.
 * The headline share is the median over rounds of each round's own share; the pooled share (every sign-in
 * of every round weighing the same: the ratio of the totals) is printed beside it, and the target counts as
 * met only when both are under it. Both leave the server's thread pool (the argon2id hash, the same in both
 * modes) out of the difference and in the total (see roundShare); the shares with the thread pool's change
 * counted are printed too.
 * Env: BENCH_SIGNIN_SECONDS (per round, default 10), BENCH_SIGNIN_WARMUP_SECONDS (once, before the first
 * round, default 10), BENCH_SIGNIN_CONCURRENCY (per mode, default 8), BENCH_SIGNIN_ROUNDS (default 20),
 * BENCH_SIGNIN_BROWSERS (`fresh`, the default, or `returning`: see RETURNING), BENCH_SIGNIN_USERS (default
 * 4 × concurrency: see USERS), BENCH_CPU_PROF and BENCH_SERVER_ENV (as in bench/run.ts).
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { meterCpu, meterPostgresByDatabase, type CpuSplit, type PostgresByDatabase } from './lib/cpu.ts';
import { createBenchDatabase, type BenchDatabase } from './lib/database.ts';
import { CookieJar, HttpClient } from './lib/http.ts';
import { runLoad, summarize, type LoadResult, type Summary } from './lib/load.ts';
import { Admin, signIn, type Credentials, type User, REDIRECT_URI } from './lib/portcullis.ts';
import { startPortcullis, stopAllChildren, type PortcullisProcess } from './lib/processes.ts';
import { latency, rate, renderTable, type Row } from './lib/report.ts';

const SECONDS = Number(process.env.BENCH_SIGNIN_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_SIGNIN_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_SIGNIN_ROUNDS ?? 20);
const WARMUP_SECONDS = Number(process.env.BENCH_SIGNIN_WARMUP_SECONDS ?? 10);
/**
 * `fresh` (default): every sign-in is a new browser, the engine's dearest case (a device to create, a cookie
 * to issue). `returning`: each user's browser keeps its device cookie, as most sign-ins do.
 */
const RETURNING = (process.env.BENCH_SIGNIN_BROWSERS ?? 'fresh') === 'returning';
/**
 * The users signing in, in turn. 32 by default: each signs in several times a second, so the engine reads and
 * writes the same few users' rows all the time (its hardest case); a larger population spreads them.
 */
const USERS = Number(process.env.BENCH_SIGNIN_USERS ?? CONCURRENCY * 4);
const TENANT = 'bench-signin';
const ADMIN_TOKEN = `bench-admin-${randomBytes(16).toString('hex')}`;
/** The engine's share of a sign-in must stay below this. */
const TARGET_SHARE = 0.05;
/** A directory: each server runs with `--cpu-prof` and writes its profile under `<dir>/<mode>/` on exit. */
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF;
/** Extra server environment as JSON, for experiments (as in bench/run.ts). */
const SERVER_ENV = JSON.parse(process.env.BENCH_SERVER_ENV ?? '{}') as Record<string, string>;

type Mode = 'on' | 'off';
const MODES: readonly Mode[] = ['off', 'on'];

export interface SigninRiskResult {
  readonly on: Summary;
  readonly off: Summary;
  /** Server + PostgreSQL CPU milliseconds per sign-in. */
  readonly cpuMsOn: number;
  readonly cpuMsOff: number;
  /** Median over rounds of (CPU on − CPU off, thread pool left out) ÷ CPU on: the fraction of a sign-in's cost the engine is. */
  readonly share: number;
  /** 1 − (sign-ins/s on ÷ sign-ins/s off). */
  readonly throughputShare: number;
}

/** One mode's half of a round: its sign-ins and the CPU seconds they took. */
interface Half {
  readonly load: LoadResult;
  /** The Portcullis process, thread pool included. */
  readonly server: number;
  readonly threadPool: number;
  /** Its database's backends, plus its share of PostgreSQL's background processes (see `split`). */
  readonly postgres: number;
}

type Round = Record<Mode, Half>;

/** One mode's side: its own database and server, set up alike. */
interface Side {
  readonly mode: Mode;
  readonly database: BenchDatabase;
  readonly server: PortcullisProcess;
  readonly once: () => Promise<void>;
}

/** CPU milliseconds per successful sign-in over halves (with or without the thread pool). */
function cpuMsPerSignIn(halves: readonly Half[], { withPostgres = true, withThreadPool = true } = {}): number {
  const seconds = halves.reduce((sum, h) => sum + h.server - (withThreadPool ? 0 : h.threadPool) + (withPostgres ? h.postgres : 0), 0);
  return (seconds * 1000) / Math.max(1, halves.reduce((n, h) => n + h.load.ok, 0));
}

/**
 * One round's share: the CPU the engine added (server and PostgreSQL) over the whole sign-in's CPU. The
 * thread pool is left out of the difference: it hashes the one password of each sign-in in both modes (the
 * engine runs nothing there), so its change between the two halves of a round is noise, the largest there is
 * (argon2id's cost moves with the memory bandwidth other machines leave us). It stays in the denominator.
 */
function roundShare({ on, off }: Round): { share: number; withThreadPool: number } {
  const total = cpuMsPerSignIn([on]);
  const added = cpuMsPerSignIn([on], { withThreadPool: false }) - cpuMsPerSignIn([off], { withThreadPool: false });
  return { share: added / total, withThreadPool: (total - cpuMsPerSignIn([off])) / total };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function merge(results: readonly LoadResult[]): LoadResult {
  const latencies = Float64Array.from(results.flatMap((r) => [...r.latencies])).sort();
  return {
    ok: results.reduce((n, r) => n + r.ok, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    elapsedMs: results.reduce((n, r) => n + r.elapsedMs, 0),
    latencies,
    firstError: results.find((r) => r.firstError)?.firstError,
  };
}

/**
 * PostgreSQL's background processes (WAL writer, checkpointer, background writer) serve both databases:
 * each mode is charged a part in proportion to its own backends' CPU, a stand-in for the WAL and dirty
 * pages it made (the engine-on side, which writes more, takes the larger part).
 */
function split(pg: PostgresByDatabase, sides: readonly Side[]): Record<Mode, number> {
  const own = (side: Side): number => pg.databases.get(side.database.name) ?? 0;
  const total = sides.reduce((sum, side) => sum + own(side), 0);
  const result = { on: 0, off: 0 };
  for (const side of sides) result[side.mode] = own(side) + (total > 0 ? (pg.background * own(side)) / total : pg.background / sides.length);
  return result;
}

/** `databases` collects the side's database as soon as it exists, so that a failed start still drops it. */
async function startSide(mode: Mode, masterKey: string, databases: BenchDatabase[]): Promise<Side> {
  const database = await createBenchDatabase();
  databases.push(database);
  const server = await startPortcullis({
    databaseUrl: database.url,
    masterKey,
    adminToken: ADMIN_TOKEN,
    env: { ...SERVER_ENV, RISK_ENGINE: mode, DATABASE_POOL_SIZE: '20' },
    ...(CPU_PROFILE_DIR ? { cpuProfileDir: `${CPU_PROFILE_DIR}/${mode}` } : {}),
  });
  const http = new HttpClient(server.url, CONCURRENCY * 2);
  const users: User[] = [];
  const { client } = await setUp(http, users);
  const jars = Array.from({ length: USERS }, () => new CookieJar());
  let i = 0;
  const once = (): Promise<void> => {
    const n = i++ % users.length;
    const device = RETURNING ? { device: jars[n] as CookieJar } : {};
    return signIn(http, { tenant: TENANT, client, user: users[n] as User, scope: 'openid', ...device }).then(() => undefined);
  };
  return { mode, database, server, once };
}

export async function runSigninRiskBench(): Promise<SigninRiskResult> {
  const masterKey = randomBytes(32).toString('base64');
  const sides: Side[] = [];
  const databases: BenchDatabase[] = [];
  const rounds: Round[] = [];
  try {
    for (const mode of MODES) sides.push(await startSide(mode, masterKey, databases));
    const both = (durationMs: number): Promise<LoadResult[]> => Promise.all(sides.map((side) => runLoad({ concurrency: CONCURRENCY, durationMs }, side.once)));
    // Warm-up, not measured: JIT, pool connections, geo data pages, and PostgreSQL's first plans of each
    // statement on each connection (a prepared statement is planned afresh for its first five runs).
    await both(WARMUP_SECONDS * 1000);
    for (const side of sides) await vacuum(side.database);
    for (let round = 0; round < ROUNDS; round++) {
      console.log(`round ${round + 1}/${ROUNDS}: risk engine off and on side by side, ${SECONDS} s at ${CONCURRENCY} concurrent sign-ins each`);
      const servers = sides.map((side) => meterCpu([side.server.pid]));
      const postgres = meterPostgresByDatabase();
      const loads = await both(SECONDS * 1000);
      // Each window ends by vacuuming and checkpointing what it left (and so the next starts from a clean
      // database), as autovacuum and the checkpointer would in production (autovacuum is off on the
      // machines we measure on): without it, dead rows pile up and PostgreSQL's cost per sign-in doubles
      // within a minute, whichever the mode. Each side's VACUUM runs in its own database, so it is its own.
      for (const side of sides) await vacuum(side.database);
      const cpu = servers.map((m) => m.stop());
      const pg = split(postgres.stop(), sides);
      const half = (i: number): Half => {
        const side = sides[i] as Side;
        const c = cpu[i] as CpuSplit;
        return { load: loads[i] as LoadResult, server: c.server * c.seconds, threadPool: c.serverThreadPool * c.seconds, postgres: pg[side.mode] };
      };
      const r = { [sides[0]?.mode as Mode]: half(0), [sides[1]?.mode as Mode]: half(1) } as Round;
      rounds.push(r);
      for (const mode of MODES) {
        const h = r[mode];
        const perSignIn = (seconds: number): string => ((seconds * 1000) / Math.max(1, h.load.ok)).toFixed(2);
        console.log(`  ${mode.padEnd(3)}: ${h.load.ok} sign-ins; CPU ms per sign-in: server ${perSignIn(h.server - h.threadPool)} + thread pool ${perSignIn(h.threadPool)}, PostgreSQL ${perSignIn(h.postgres)}`);
      }
      console.log(`  share ${(roundShare(r).share * 100).toFixed(1)} %`);
    }
    const halves = (mode: Mode): Half[] => rounds.map((r) => r[mode]);
    const on = summarize(merge(halves('on').map((h) => h.load)));
    const off = summarize(merge(halves('off').map((h) => h.load)));
    const cpuMsOn = cpuMsPerSignIn(halves('on'));
    const cpuMsOff = cpuMsPerSignIn(halves('off'));
    // Pooled: every sign-in of every round weighs the same (the ratio of the totals), the thread pool out of
    // the difference as in a round's share; with its change counted too, beside it.
    const pooledShare = (cpuMsPerSignIn(halves('on'), { withThreadPool: false }) - cpuMsPerSignIn(halves('off'), { withThreadPool: false })) / cpuMsOn;
    const pooledWithPool = (cpuMsOn - cpuMsOff) / cpuMsOn;
    const shares = rounds.map(roundShare);
    const roundShares = shares.map((r) => r.share);
    const share = median(roundShares);
    const shareWithPool = median(shares.map((r) => r.withThreadPool));
    const poolMs = (mode: Mode): number => cpuMsPerSignIn(halves(mode)) - cpuMsPerSignIn(halves(mode), { withThreadPool: false });
    const throughputShare = 1 - on.perSecond / off.perSecond;
    const serverOn = cpuMsPerSignIn(halves('on'), { withPostgres: false });
    const serverOff = cpuMsPerSignIn(halves('off'), { withPostgres: false });
    const serverShare = (serverOn - serverOff) / serverOn;
    const rows: Row[] = [
      {
        section: 'sign-in',
        name: 'complete sign-ins, risk engine off',
        value: rate(off),
        latency: latency(off),
        baseline: `${cpuMsOff.toFixed(1)} CPU ms/sign-in (srv + pg; thread pool ${poolMs('off').toFixed(1)})`,
      },
      {
        section: 'sign-in',
        name: 'complete sign-ins, risk engine on',
        value: rate(on),
        latency: latency(on),
        baseline: `${cpuMsOn.toFixed(1)} CPU ms/sign-in (srv + pg; thread pool ${poolMs('on').toFixed(1)})`,
      },
      {
        section: 'sign-in',
        name: 'risk engine share of a sign-in (CPU, median of rounds)',
        value: `${(share * 100).toFixed(1)} %`,
        baseline: `pooled ${(pooledShare * 100).toFixed(1)} %; rounds: ${roundShares.map((x) => (x * 100).toFixed(1)).join(', ')} %; thread pool's change counted: median ${(shareWithPool * 100).toFixed(1)} %, pooled ${(pooledWithPool * 100).toFixed(1)} %; server process alone (pooled): ${(serverShare * 100).toFixed(1)} % (${serverOff.toFixed(1)} → ${serverOn.toFixed(1)} ms); throughput: ${(throughputShare * 100).toFixed(1)} %`,
        target: `< ${TARGET_SHARE * 100} % (median and pooled)`,
        met: share < TARGET_SHARE && pooledShare < TARGET_SHARE,
      },
    ];
    console.log(
      `Sign-ins (authorize → login → code → token, argon2id password check) with and without the risk engine, side by side, ${RETURNING ? "each user's browser keeping its device cookie" : 'each from a new browser'}; redirect ${REDIRECT_URI}.`,
    );
    console.log(renderTable(rows));
    const firstError = rounds.flatMap((r) => MODES.map((m) => r[m].load.firstError)).find((e) => e);
    if (firstError) console.log(`first error: ${firstError}`);
    return { on, off, cpuMsOn, cpuMsOff, share, throughputShare };
  } finally {
    await stopAllChildren();
    for (const database of databases) await database.drop();
  }
}

/**
 * VACUUM (ANALYZE) of the bench database (dead rows removed, statistics current), then a CHECKPOINT (every
 * page the window dirtied written out). Inside a window it charges the window with the cleaning and the
 * writing its own sign-ins caused, which PostgreSQL would otherwise do at a time of its own choosing, in
 * whichever round came next.
 */
async function vacuum(database: BenchDatabase): Promise<void> {
  await database.query('vacuum (analyze)');
  await database.query('checkpoint');
}

async function setUp(http: HttpClient, users: User[]): Promise<{ client: Credentials }> {
  const admin = new Admin(http, ADMIN_TOKEN);
  await admin.post('/tenants', { id: TENANT, displayName: 'Bench sign-in' });
  const res = await http.request('PUT', `/admin/api/tenants/${TENANT}/policy`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ actions: { low: 'allow', medium: 'allow', high: 'allow' } }),
  });
  if (res.status !== 200) throw new Error(`policy: ${res.status} ${res.body}`);
  const client = await admin.createClient(TENANT, { client_id: 'web', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'] });
  for (let i = 0; i < USERS; i++) users.push(await admin.createUser(TENANT, `signin-user-${i}`));
  return { client };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runSigninRiskBench();
