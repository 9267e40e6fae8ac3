/**
 * `node bench/signin-risk.ts`: complete password sign-ins per second (authorize → login form → code →
 * token) through a real Portcullis process with the risk engine on, and with it off (RISK_ENGINE=off, the
 * benchmark switch), and the engine's share of a sign-in. The target: under 5 %.
 *
 * It creates its own database (pc_bench_<random>, BENCH_PG_URL overrides the server), runs one process at
 * a time against it (so they never share the CPU), alternates off/on rounds to spread drift, prints one
 * table and drops the database.
 *
 * The share is computed from CPU per sign-in (the Portcullis process plus PostgreSQL, from /proc), which
 * other load on the machine disturbs far less than throughput does; the throughput share is printed too.
 * On a small machine where the load generator, the server and PostgreSQL share two cores, throughput moves
 * by ±20 % between identical rounds: read the CPU figure.
 *
 * Every sign-in is a fresh browser from 127.0.0.1: the engine does all its work (precheck, assess with its
 * reads and writes, complete with its learning and device cookie). The bench tenant's policy allows every
 * level, so that no sign-in stops at a step-up page whatever the history the rounds pile up.
 * Each round runs both modes back to back on the same database, off then on in odd rounds and on then off in
 * even ones, so that a drift which grows through the run falls on both modes alike. Each measured window
 * starts from a vacuumed and checkpointed database and includes the VACUUM and CHECKPOINT of what it left
 * (autovacuum's and the checkpointer's work in production; autovacuum is off on the machines we measure on,
 * and without it PostgreSQL's cost per sign-in doubled within a minute). The headline share is the median over rounds of each round's own share: pairing cancels the slow
 * drifts of a shared machine's speed, and the median one disturbed round. A round's share leaves the server's thread pool (the argon2id hash, the same in both
 * modes) out of the difference and in the total (see roundShare). The share with the thread pool's change
 * counted, and the share of all rounds pooled, are printed beside it.
 * Env: BENCH_SIGNIN_SECONDS (per round, default 8), BENCH_SIGNIN_WARMUP_SECONDS (before each, default 2),
 * BENCH_SIGNIN_CONCURRENCY (default 8), BENCH_SIGNIN_ROUNDS (default 9), BENCH_SIGNIN_BROWSERS (`fresh`, the
 * default, or `returning`: see RETURNING), BENCH_SIGNIN_USERS (default 4 × concurrency: see USERS), BENCH_CPU_PROF and BENCH_SERVER_ENV (as in bench/run.ts).
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { meterCpu, type CpuSplit } from './lib/cpu.ts';
import { createBenchDatabase, type BenchDatabase } from './lib/database.ts';
import { CookieJar, HttpClient } from './lib/http.ts';
import { runLoad, summarize, type LoadResult, type Summary } from './lib/load.ts';
import { Admin, signIn, type Credentials, type User, REDIRECT_URI } from './lib/portcullis.ts';
import { startPortcullis, stopAllChildren } from './lib/processes.ts';
import { latency, rate, renderTable, type Row } from './lib/report.ts';

const SECONDS = Number(process.env.BENCH_SIGNIN_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_SIGNIN_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_SIGNIN_ROUNDS ?? 9);
const WARMUP_SECONDS = Number(process.env.BENCH_SIGNIN_WARMUP_SECONDS ?? 2);
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

export interface SigninRiskResult {
  readonly on: Summary;
  readonly off: Summary;
  /** Server + PostgreSQL CPU milliseconds per sign-in. */
  readonly cpuMsOn: number;
  readonly cpuMsOff: number;
  /** (CPU on − CPU off) ÷ CPU on: the fraction of a sign-in's cost the engine is. */
  readonly share: number;
  /** 1 − (sign-ins/s on ÷ sign-ins/s off). */
  readonly throughputShare: number;
}

interface Round {
  readonly load: LoadResult;
  readonly cpu: CpuSplit;
}

/**
 * CPU milliseconds per successful sign-in over rounds: the Portcullis process alone, or with every
 * PostgreSQL process (which, on a shared database server, includes other users' queries).
 */
function cpuMsPerSignIn(rounds: readonly Round[], withPostgres = true, withThreadPool = true): number {
  const cores = (c: CpuSplit): number => c.server - (withThreadPool ? 0 : c.serverThreadPool) + (withPostgres ? c.postgres : 0);
  const ms = rounds.reduce((sum, r) => sum + cores(r.cpu) * r.cpu.seconds * 1000, 0);
  return ms / Math.max(1, rounds.reduce((n, r) => n + r.load.ok, 0));
}

/**
 * One round's share: the CPU the engine added (server and PostgreSQL) over the whole sign-in's CPU. The
 * thread pool is left out of the difference: it hashes the one password of each sign-in in both modes (the
 * engine runs nothing there), so its change between the two halves of a round is noise, the largest there is
 * (argon2id's cost moves with the memory bandwidth other machines leave us). It stays in the denominator.
 */
function roundShare(on: Round, off: Round): { share: number; withThreadPool: number } {
  const total = cpuMsPerSignIn([on]);
  const added = cpuMsPerSignIn([on], true, false) - cpuMsPerSignIn([off], true, false);
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

export async function runSigninRiskBench(): Promise<SigninRiskResult> {
  const database = await createBenchDatabase();
  const masterKey = randomBytes(32).toString('base64');
  const results: Record<Mode, Round[]> = { on: [], off: [] };
  try {
    let client: Credentials | undefined;
    const users: User[] = [];
    const jars = Array.from({ length: USERS }, () => new CookieJar());
    for (let round = 0; round < ROUNDS; round++) {
      // off, on, then on, off: a drift that grows through the run falls on both modes alike.
      for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const server = await startPortcullis({ databaseUrl: database.url, masterKey, adminToken: ADMIN_TOKEN, env: { ...SERVER_ENV, RISK_ENGINE: mode, DATABASE_POOL_SIZE: '20' },
          ...(CPU_PROFILE_DIR ? { cpuProfileDir: `${CPU_PROFILE_DIR}/${mode}` } : {}),
        });
        try {
          const http = new HttpClient(server.url, CONCURRENCY * 2);
          if (!client) ({ client } = await setUp(http, users));
          const c = client;
          let i = 0;
          const once = (): Promise<void> => {
            const n = i++ % users.length;
            const device = RETURNING ? { device: jars[n] as CookieJar } : {};
            return signIn(http, { tenant: TENANT, client: c, user: users[n] as User, scope: 'openid', ...device }).then(() => undefined);
          };
          // Warm-up, not measured: JIT, pool connections, geo data pages, and PostgreSQL's first plans of each
          // statement on each connection (a prepared statement is planned afresh for its first five runs).
          await runLoad({ concurrency: CONCURRENCY, durationMs: WARMUP_SECONDS * 1000 }, once);
          // Each measured window starts from a vacuumed and checkpointed database and ends by vacuuming and
          // checkpointing what it left, as autovacuum and the checkpointer would in production (autovacuum is
          // off on the machines we measure on): without it, dead rows pile up and PostgreSQL's cost per
          // sign-in doubles within a minute, whichever the mode; and a checkpoint falls on some window or other.
          await vacuum(database);
          console.log(`round ${round + 1}/${ROUNDS}: risk engine ${mode}, ${SECONDS} s at ${CONCURRENCY} concurrent sign-ins`);
          const meter = meterCpu([server.pid]);
          const load = await runLoad({ concurrency: CONCURRENCY, durationMs: SECONDS * 1000 }, once);
          await vacuum(database);
          const cpu = meter.stop();
          results[mode].push({ load, cpu });
          const perSignIn = (cores: number): string => ((cores * cpu.seconds * 1000) / Math.max(1, load.ok)).toFixed(2);
          console.log(
            `  ${load.ok} sign-ins; CPU ms per sign-in: server ${perSignIn(cpu.server - cpu.serverThreadPool)} + thread pool ${perSignIn(cpu.serverThreadPool)}, PostgreSQL ${perSignIn(cpu.postgres)}`,
          );
        } finally {
          await server.stop();
        }
      }
    }
    const on = summarize(merge(results.on.map((r) => r.load)));
    const off = summarize(merge(results.off.map((r) => r.load)));
    const cpuMsOn = cpuMsPerSignIn(results.on);
    const cpuMsOff = cpuMsPerSignIn(results.off);
    const pooledShare = (cpuMsOn - cpuMsOff) / cpuMsOn;
    const rounds = results.on.map((r, i) => roundShare(r, results.off[i] as Round));
    const roundShares = rounds.map((r) => r.share);
    const share = median(roundShares);
    const shareWithPool = median(rounds.map((r) => r.withThreadPool));
    const poolMs = (rs: readonly Round[]): number => cpuMsPerSignIn(rs) - cpuMsPerSignIn(rs, true, false);
    const throughputShare = 1 - on.perSecond / off.perSecond;
    const serverOn = cpuMsPerSignIn(results.on, false);
    const serverOff = cpuMsPerSignIn(results.off, false);
    const serverShare = (serverOn - serverOff) / serverOn;
    const other = (rounds: readonly Round[]): string => (rounds.reduce((s, r) => s + r.cpu.other, 0) / rounds.length).toFixed(2);
    const rows: Row[] = [
      {
        section: 'sign-in',
        name: 'complete sign-ins, risk engine off',
        value: rate(off),
        latency: latency(off),
        baseline: `${cpuMsOff.toFixed(1)} CPU ms/sign-in (srv + pg; thread pool ${poolMs(results.off).toFixed(1)}); other load ${other(results.off)} cores`,
      },
      {
        section: 'sign-in',
        name: 'complete sign-ins, risk engine on',
        value: rate(on),
        latency: latency(on),
        baseline: `${cpuMsOn.toFixed(1)} CPU ms/sign-in (srv + pg; thread pool ${poolMs(results.on).toFixed(1)}); other load ${other(results.on)} cores`,
      },
      {
        section: 'sign-in',
        name: 'risk engine share of a sign-in (CPU, median of rounds)',
        value: `${(share * 100).toFixed(1)} %`,
        baseline: `rounds: ${roundShares.map((x) => (x * 100).toFixed(1)).join(', ')} %; thread pool's change counted: median ${(shareWithPool * 100).toFixed(1)} %; pooled ${(pooledShare * 100).toFixed(1)} %; server process alone (pooled): ${(serverShare * 100).toFixed(1)} % (${serverOff.toFixed(1)} → ${serverOn.toFixed(1)} ms); throughput: ${(throughputShare * 100).toFixed(1)} %`,
        target: `< ${TARGET_SHARE * 100} %`,
        met: share < TARGET_SHARE,
      },
    ];
    console.log(
      `Sign-ins (authorize → login → code → token, argon2id password check) with and without the risk engine, ${RETURNING ? "each user's browser keeping its device cookie" : 'each from a new browser'}; redirect ${REDIRECT_URI}.`,
    );
    console.log(renderTable(rows));
    const firstError = [...results.on, ...results.off].find((r) => r.load.firstError)?.load.firstError;
    if (firstError) console.log(`first error: ${firstError}`);
    return { on, off, cpuMsOn, cpuMsOff, share, throughputShare };
  } finally {
    await stopAllChildren();
    await database.drop();
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
