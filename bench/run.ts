/**
 * `npm run bench`: Portcullis throughput, latency and memory against baselines measured in the same run.
 * See bench/README.md for what each figure means and the knobs (BENCH_* environment variables).
 *
 * It creates its own database (pc_bench_<random>), starts the server as a child process exactly as
 * production does (node src/main.ts), sets up a tenant through the admin API, drives closed-loop load
 * from this process to 127.0.0.1 only, prints one table, then stops its children and drops the database.
 */
import { generateKeyPair, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { AuditRepository } from '../src/audit/audit-repository.ts';
import { ARGON2_PARAMS } from '../src/identity/passwords.ts';
import { openDatabase } from '../src/db/client.ts';
import { meterCpu, type CpuSplit } from './lib/cpu.ts';
import { createBenchDatabase, type BenchDatabase } from './lib/database.ts';
import { basicAuth, CookieJar, HttpClient } from './lib/http.ts';
import { runLoad, summarize, type Summary } from './lib/load.ts';
import { Admin, API_IDENTIFIER, REDIRECT_URI, signIn, tokenRequest, type Credentials, type User } from './lib/portcullis.ts';
import { forkWorker, freePort, memoryOf, NODE_BIN, startPortcullis, stopAllChildren, type Memory, type PortcullisProcess, type WorkerResult } from './lib/processes.ts';
import { int, latency, ms, pct, rate, renderTable, type Row } from './lib/report.ts';

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new TypeError(`${name} must be a positive number`);
  return n;
};
const CONCURRENCY = num('BENCH_CONCURRENCY', 32);
/** Each measured run (≤ 15 s), after a WARMUP_MS warm-up at the same concurrency. */
const DURATION_MS = Math.min(15_000, num('BENCH_DURATION_MS', 10_000));
const SIGNIN_DURATION_MS = Math.min(15_000, num('BENCH_SIGNIN_DURATION_MS', 15_000));
const WARMUP_MS = num('BENCH_WARMUP_MS', 1_500);
/** Sign-in sessions to hold in the database for the memory figure, and the time allowed to make them. */
const SESSIONS = num('BENCH_SESSIONS', 5_000);
const SESSIONS_MAX_MS = num('BENCH_SESSIONS_MAX_MS', 90_000);
/** Concurrent record() calls per audit writer (two writers), and pool size of each writer. */
const AUDIT_CONCURRENCY = num('BENCH_AUDIT_CONCURRENCY', 256);
const AUDIT_POOL = num('BENCH_AUDIT_POOL_SIZE', 10);
/** libuv thread pool of the server AND of the argon2 baseline process, so the comparison is fair. */
const THREADPOOL = String(num('BENCH_UV_THREADPOOL_SIZE', 4));
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF;
/** Portcullis processes sharing the database and one PUBLIC_URL; virtual clients are spread over them. */
const SERVERS = num('BENCH_SERVERS', 1);
/** Extra server environment for experiments, as JSON, e.g. {"REDIS_URL":"redis://127.0.0.1:6379"}. */
const SERVER_ENV = JSON.parse(process.env.BENCH_SERVER_ENV ?? '{}') as Record<string, string>;
const ONLY = new Set((process.env.BENCH_ONLY ?? 'cc,refresh,signin,memory,audit').split(',').map((s) => s.trim()));

/** A measured run stops early after this many failed operations (they are reported). */
const MAX_ERRORS = 200;

const TENANT = 'bench';
const ADMIN_TOKEN = `bench-admin-${randomBytes(16).toString('hex')}`;
const MASTER_KEY = randomBytes(32).toString('base64');

/** Keycloak's published sizing, per vCPU of Keycloak alone (its database runs elsewhere). */
const KEYCLOAK_NOTE = {
  cc: "Keycloak's sizing guide: about 120 client-credential grants/s per vCPU (newer editions say 200; each request on a new TLS connection), ≈ 240/s for 2 cores.",
  refresh: "Keycloak's sizing guide: about 120 refresh-token grants/s per vCPU, ≈ 240/s for 2 cores.",
  signin: "Keycloak's sizing guide: about 15 password sign-ins/s per vCPU, ≈ 30/s for 2 cores.",
  memory: "Keycloak's sizing guide: about 1,250 MB of RAM per pod as a base (realm caches and 10,000 cached sessions).",
};

const rows: Row[] = [];
const notes: string[] = [];
const log = (message: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

interface Measured {
  readonly summary: Summary;
  readonly cpu: CpuSplit;
  /** PostgreSQL write transactions per successful operation. */
  readonly writesPerOp?: number;
}

/** The bench database, once created: measure() reads the server's transaction counter through it. */
let benchDb: BenchDatabase | undefined;

/** Warm-up (discarded), then one measured run with the CPU split of `pids`. */
async function measure(
  what: string,
  pids: readonly number[],
  options: { durationMs?: number; count?: number; concurrency?: number; warmupMs?: number },
  operation: (client: number) => Promise<void>,
): Promise<Measured> {
  const concurrency = options.concurrency ?? CONCURRENCY;
  const warmupMs = options.warmupMs ?? WARMUP_MS;
  if (warmupMs > 0) await runLoad({ concurrency, durationMs: warmupMs, maxErrors: MAX_ERRORS }, operation);
  log(`${what}: measuring (${options.count ? `${options.count} operations` : `${(options.durationMs ?? 0) / 1000} s`}, concurrency ${concurrency})`);
  const writes0 = pids.length > 0 ? await benchDb?.writeTransactions() : undefined;
  const meter = meterCpu(pids);
  const summary = summarize(
    await runLoad(
      {
        concurrency,
        maxErrors: MAX_ERRORS,
        ...(options.durationMs ? { durationMs: options.durationMs } : {}),
        ...(options.count ? { count: options.count } : {}),
      },
      operation,
    ),
  );
  const cpu = meter.stop();
  const writes1 = writes0 === undefined ? undefined : await benchDb?.writeTransactions();
  const writesPerOp = writes0 !== undefined && writes1 !== undefined && summary.ok > 0 ? (writes1 - writes0) / summary.ok : undefined;
  log(`${what}: ${rate(summary)}, p50/p95/p99 ${latency(summary)} ms${summary.firstError ? `; first error: ${summary.firstError}` : ''}`);
  if (summary.errors > 0) notes.push(`${what}: ${summary.errors} failed operations; the first: ${(summary.firstError ?? '').slice(0, 300)}`);
  return { summary, cpu, ...(writesPerOp === undefined ? {} : { writesPerOp }) };
}

function fromWorker(r: WorkerResult): Summary {
  return { ...r, perSecond: r.elapsedMs > 0 ? (r.ok * 1000) / r.elapsedMs : 0, firstError: r.firstError };
}

function rank(note: string): number {
  const n = /^(\d+)\./.exec(note)?.[1];
  return n === undefined ? 99 : Number(n);
}

function mb(kb: number): string {
  return `${(kb / 1024).toFixed(0)} MB`;
}

// ---------------------------------------------------------------------------------------------------
// 1. Client credentials, with the bare-express and jose baselines
// ---------------------------------------------------------------------------------------------------
async function clientCredentials(nodes: Nodes, m2m: Credentials): Promise<void> {
  const section = '1. Client-credentials grant (concurrency ' + String(CONCURRENCY) + ')';
  const hello = forkWorker('hello-server.ts', { UV_THREADPOOL_SIZE: THREADPOOL });
  let express: Measured;
  try {
    const { port } = await hello.ready;
    const helloHttp = new HttpClient(`http://127.0.0.1:${port ?? 0}`, CONCURRENCY);
    const auth = basicAuth(m2m.clientId, m2m.secret);
    express = await measure('bare express', [hello.pid], { durationMs: DURATION_MS }, async () => {
      const res = await helloHttp.postForm('/hello', { grant_type: 'client_credentials' }, { authorization: auth });
      if (res.status !== 200) throw new Error(`hello answered ${res.status}`);
    });
    helloHttp.close();
  } finally {
    await hello.stop();
  }
  rows.push({
    section,
    name: 'bare express POST /hello (baseline)',
    value: rate(express.summary),
    latency: latency(express.summary),
    cpu: express.cpu,
    perSecond: express.summary.perSecond,
  });

  const ccTarget = (s: Summary): { met: boolean; text: string } => {
    const share = (100 * s.perSecond) / express.summary.perSecond;
    return {
      met: s.perSecond >= 1500 && share >= 25 && s.p95 < 50 && s.errors === 0,
      text: `${pct(share)} of express`,
    };
  };

  const opaque = await measure('client credentials, opaque', nodes.pids, { durationMs: DURATION_MS }, async (i) => {
    await tokenRequest(nodes.http(i), TENANT, m2m, { grant_type: 'client_credentials' });
  });
  const o = ccTarget(opaque.summary);
  rows.push({
    section,
    name: 'client credentials, opaque token',
    value: rate(opaque.summary),
    latency: latency(opaque.summary),
    baseline: o.text,
    target: '≥ 1,500/s, ≥ 25 %, p95 < 50',
    met: o.met,
    cpu: opaque.cpu,
    perSecond: opaque.summary.perSecond,
    writes: opaque.writesPerOp,
  });

  const jwt = await measure('client credentials, JWT', nodes.pids, { durationMs: DURATION_MS }, async (i) => {
    const t = await tokenRequest(nodes.http(i), TENANT, m2m, { grant_type: 'client_credentials', resource: API_IDENTIFIER, scope: 'read write' });
    if (t.access_token.split('.').length !== 3) throw new Error('expected a JWT access token');
  });
  const j = ccTarget(jwt.summary);
  rows.push({
    section,
    name: 'client credentials, JWT (resource server)',
    value: rate(jwt.summary),
    latency: latency(jwt.summary),
    baseline: j.text,
    target: '≥ 1,500/s, ≥ 25 %, p95 < 50',
    met: j.met,
    cpu: jwt.cpu,
    perSecond: jwt.summary.perSecond,
    writes: jwt.writesPerOp,
  });

  // jose alone: as many ES256 signatures of an RFC 9068-shaped token as the JWT run issued.
  const { privateKey } = await generateKeyPair('ES256');
  const count = Math.max(jwt.summary.ok, 1000);
  const now = Math.floor(Date.now() / 1000);
  const sign = async (): Promise<void> => {
    await new SignJWT({ client_id: m2m.clientId, scope: 'read write', jti: randomBytes(16).toString('base64url') })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'bench' })
      .setIssuer(`${nodes.publicUrl}/t/${TENANT}`)
      .setSubject(m2m.clientId)
      .setAudience(API_IDENTIFIER)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey);
  };
  const jose = await measure('jose ES256 sign', [], { count, warmupMs: 300 }, sign);
  rows.push({
    section,
    name: `jose ES256 signatures alone (${int(count)}, baseline)`,
    value: rate(jose.summary),
    latency: latency(jose.summary),
    baseline: `JWT grants = ${pct((100 * jwt.summary.perSecond) / jose.summary.perSecond)} of it`,
    cpu: jose.cpu,
    perSecond: jose.summary.perSecond,
  });
  notes.push(`1. ${KEYCLOAK_NOTE.cc} Ours: opaque ${int(opaque.summary.perSecond)}/s, JWT ${int(jwt.summary.perSecond)}/s.`);
}

// ---------------------------------------------------------------------------------------------------
// 2. Refresh-token grants, each virtual client rotating its own chain
// ---------------------------------------------------------------------------------------------------
async function refreshTokens(nodes: Nodes, web: Credentials, users: readonly VirtualUser[]): Promise<void> {
  const section = '2. Refresh-token grant, rotating (concurrency ' + String(CONCURRENCY) + ')';
  log(`refresh: ${CONCURRENCY} sign-ins with offline_access + prompt=consent to seed the chains`);
  const chains = await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, i) => {
      const t = await signIn(nodes.http(i), {
        tenant: TENANT,
        client: web,
        ...who(users, i),
        scope: 'openid offline_access',
        prompt: 'consent',
      });
      if (!t?.refresh_token) throw new Error('no refresh token from the initial sign-in');
      return t.refresh_token;
    }),
  );
  const refresh = async (i: number): Promise<void> => {
    const t = await tokenRequest(nodes.http(i), TENANT, web, { grant_type: 'refresh_token', refresh_token: chains[i]! });
    if (!t.refresh_token || t.refresh_token === chains[i]) throw new Error('the refresh token was not rotated');
    chains[i] = t.refresh_token;
  };
  const r = await measure('refresh', nodes.pids, { durationMs: DURATION_MS }, refresh);
  rows.push({
    section,
    name: 'refresh_token grant (new RT + AT + ID token)',
    value: rate(r.summary),
    latency: latency(r.summary),
    target: '≥ 800/s',
    met: r.summary.perSecond >= 800 && r.summary.errors === 0,
    cpu: r.cpu,
    perSecond: r.summary.perSecond,
    writes: r.writesPerOp,
  });
  notes.push(`2. ${KEYCLOAK_NOTE.refresh} Ours: ${int(r.summary.perSecond)}/s.`);
}

// ---------------------------------------------------------------------------------------------------
// 3. Password sign-ins through the authorization-code flow, against the argon2id bound
// ---------------------------------------------------------------------------------------------------
async function signIns(nodes: Nodes, web: Credentials, users: readonly VirtualUser[]): Promise<void> {
  const section = '3. Password sign-in, authorization code + PKCE (concurrency ' + String(CONCURRENCY) + ')';
  const argonBound = async (): Promise<Measured> => {
    const argon = forkWorker('argon2-worker.ts', {
      UV_THREADPOOL_SIZE: THREADPOOL,
      BENCH_CONCURRENCY: String(CONCURRENCY),
      BENCH_DURATION_MS: String(Math.min(DURATION_MS, 6_000)),
    });
    try {
      await argon.ready;
      log(`argon2id bound: measuring in its own process (UV_THREADPOOL_SIZE=${THREADPOOL}, concurrency ${CONCURRENCY})`);
      const meter = meterCpu([argon.pid]);
      const summary = fromWorker(await argon.run());
      const cpu = meter.stop();
      log(`argon2id bound: ${rate(summary)}`);
      return { summary, cpu };
    } finally {
      await argon.stop();
    }
  };
  // The bound is measured before and after the sign-ins and the better run kept, so that a burst of
  // someone else's work on the machine during one of them does not flatter the sign-in ratio.
  const before = await argonBound();

  const s = await measure('sign-ins', nodes.pids, { durationMs: SIGNIN_DURATION_MS, warmupMs: 2_000 }, async (i) => {
    const t = await signIn(nodes.http(i), { tenant: TENANT, client: web, ...who(users, i), scope: 'openid profile email' });
    if (!t?.id_token) throw new Error('no ID token');
  });
  const after = await argonBound();
  const best = before.summary.perSecond >= after.summary.perSecond ? before : after;
  const bound = best.summary;
  rows.push({
    section,
    name: `argon2id hashes alone (m=${ARGON2_PARAMS.memoryCost} KiB, t=${ARGON2_PARAMS.timeCost}, p=${ARGON2_PARAMS.parallelism}; baseline)`,
    value: rate(bound),
    latency: latency(bound),
    baseline: `best of ${int(before.summary.perSecond)}/s, ${int(after.summary.perSecond)}/s; UV_THREADPOOL_SIZE=${THREADPOOL}`,
    cpu: best.cpu,
    perSecond: best.summary.perSecond,
  });
  const share = (100 * s.summary.perSecond) / bound.perSecond;
  rows.push({
    section,
    name: 'complete sign-in (authorize → login → code → token)',
    value: rate(s.summary),
    latency: latency(s.summary),
    baseline: `${pct(share)} of argon2id (server UV_THREADPOOL_SIZE=${THREADPOOL})`,
    target: '≥ 70 % of argon2id',
    met: share >= 70 && s.summary.errors === 0,
    cpu: s.cpu,
    perSecond: s.summary.perSecond,
    writes: s.writesPerOp,
  });
  notes.push(`3. ${KEYCLOAK_NOTE.signin} Ours: ${int(s.summary.perSecond)}/s.`);
}

// ---------------------------------------------------------------------------------------------------
// 5. Memory: RSS after the load, and after holding many sign-in sessions
// ---------------------------------------------------------------------------------------------------
async function sessionCount(db: BenchDatabase): Promise<number> {
  const [row] = await db.query<{ n: string }>(
    `select count(*) as n from oidc_payloads where tenant_id = $1 and model = 'Session' and (expires_at is null or expires_at > now())`,
    [TENANT],
  );
  return Number(row?.n ?? 0);
}

interface MemoryPoint {
  readonly label: string;
  readonly memory: Memory;
}

async function memory(nodes: Nodes, db: BenchDatabase, web: Credentials, users: readonly VirtualUser[], trail: readonly MemoryPoint[]): Promise<void> {
  const section = `5. Server memory (RSS of the Portcullis process${SERVERS > 1 ? ', largest node' : ''})`;
  const stored0 = await sessionCount(db);
  const start = performance.now();
  /** Signs in until `target` sessions are stored or `deadline` passes, lets the server settle, reads RSS. */
  const fillTo = async (target: number, deadline: number): Promise<{ sessions: number; memory: Memory }> => {
    const missing = Math.max(0, target - (await sessionCount(db)));
    const left = deadline - performance.now();
    if (missing > 0 && left > 0) {
      await measure(`sessions to ${int(target)}`, nodes.pids, { count: missing, durationMs: left, warmupMs: 0 }, async (i) => {
        await signIn(nodes.http(i), { tenant: TENANT, client: web, ...who(users, i), scope: 'openid', codeOnly: true });
      });
    }
    // Let in-flight work settle so RSS reflects what is held, not what is being processed.
    await new Promise((r) => setTimeout(r, 2_000));
    return { sessions: await sessionCount(db), memory: nodes.memory() };
  };
  log(`memory: ${int(stored0)} sessions stored; signing in up to ${int(SESSIONS)} (at most ${SESSIONS_MAX_MS / 1000} s)`);
  // RSS is read half-way (in sessions or in time, whichever comes first) and at the end: the slope
  // between the two is the cost per session, free of the heap's one-off growth under the first load.
  const half = await fillTo(Math.max(stored0, Math.floor(SESSIONS / 2)), start + SESSIONS_MAX_MS / 2);
  const full = await fillTo(SESSIONS, start + SESSIONS_MAX_MS);
  const perThousand = full.sessions > half.sessions ? (full.memory.rssKb - half.memory.rssKb) / ((full.sessions - half.sessions) / 1000) : NaN;
  for (const [i, point] of trail.entries()) {
    const last = i === trail.length - 1;
    rows.push({
      section,
      name: `RSS ${point.label}`,
      value: mb(point.memory.rssKb),
      baseline: `peak so far ${mb(point.memory.peakKb)}`,
      ...(last && i > 0 ? { target: '< 300 MB', met: point.memory.rssKb < 300 * 1024 } : {}),
    });
  }
  rows.push({ section, name: `RSS with ${int(half.sessions)} sign-in sessions stored`, value: mb(half.memory.rssKb), baseline: `peak so far ${mb(half.memory.peakKb)}` });
  rows.push({
    section,
    name: `RSS with ${int(full.sessions)} sign-in sessions stored${full.sessions < SESSIONS ? ` (${int(SESSIONS)} not reached in ${SESSIONS_MAX_MS / 1000} s)` : ''}`,
    value: mb(full.memory.rssKb),
    baseline: `peak so far ${mb(full.memory.peakKb)}`,
    target: '< 300 MB',
    met: full.memory.rssKb < 300 * 1024,
  });
  rows.push({
    section,
    name: `RSS growth per 1,000 sessions (from ${int(half.sessions)} to ${int(full.sessions)})`,
    value: Number.isFinite(perThousand) ? `${(perThousand / 1024).toFixed(1)} MB` : 'n/a',
    target: 'flat: < 4 MB',
    met: Number.isFinite(perThousand) && perThousand <= 4 * 1024,
  });
  notes.push(`5. ${KEYCLOAK_NOTE.memory} Ours: ${mb(full.memory.rssKb)} with ${int(full.sessions)} sessions stored.`);
}

// ---------------------------------------------------------------------------------------------------
// 4. Audit appends from two writers, chain verified, against plain INSERTs
// ---------------------------------------------------------------------------------------------------
async function runWriters(mode: 'audit' | 'plain', databaseUrl: string, tenant: string): Promise<Measured & { each: Summary[] }> {
  const writers = [0, 1].map(() =>
    forkWorker('audit-writer.ts', {
      BENCH_MODE: mode,
      DATABASE_URL: databaseUrl,
      BENCH_TENANT: tenant,
      BENCH_CONCURRENCY: String(AUDIT_CONCURRENCY),
      BENCH_DURATION_MS: String(DURATION_MS),
      BENCH_POOL_SIZE: String(AUDIT_POOL),
    }),
  );
  try {
    await Promise.all(writers.map((w) => w.ready));
    log(`audit (${mode}): 2 writer processes × ${AUDIT_CONCURRENCY} concurrent appends, ${DURATION_MS / 1000} s`);
    const writes0 = await benchDb?.writeTransactions();
    const meter = meterCpu(writers.map((w) => w.pid));
    const results = await Promise.all(writers.map((w) => w.run()));
    const cpu = meter.stop();
    const writes1 = await benchDb?.writeTransactions();
    const each = results.map(fromWorker);
    const ok = results.reduce((s, r) => s + r.ok, 0);
    const errors = results.reduce((s, r) => s + r.errors, 0);
    const elapsedMs = Math.max(...results.map((r) => r.elapsedMs));
    const summary: Summary = {
      perSecond: (ok * 1000) / elapsedMs,
      elapsedMs,
      ok,
      errors,
      // Per-writer percentiles cannot be merged exactly: report the worse writer's.
      p50: Math.max(...each.map((e) => e.p50)),
      p95: Math.max(...each.map((e) => e.p95)),
      p99: Math.max(...each.map((e) => e.p99)),
      firstError: each.find((e) => e.firstError)?.firstError,
    };
    log(`audit (${mode}): ${rate(summary)}${summary.firstError ? `; first error: ${summary.firstError}` : ''}`);
    const writesPerOp = writes0 !== undefined && writes1 !== undefined && ok > 0 ? (writes1 - writes0) / ok : undefined;
    return { summary, cpu, each, ...(writesPerOp === undefined ? {} : { writesPerOp }) };
  } finally {
    await Promise.all(writers.map((w) => w.stop()));
  }
}

async function auditAppends(db: BenchDatabase): Promise<void> {
  const section = `4. Audit appends, 2 writer processes × ${AUDIT_CONCURRENCY} concurrent calls, pool ${AUDIT_POOL} each`;
  await db.query(`create table bench_plain_events (
      tenant_id text not null, id uuid not null, type text not null, at timestamptz not null,
      actor text, subject text, ip text, details jsonb not null, primary key (tenant_id, id))`);
  await db.query(`create index bench_plain_events_type_ix on bench_plain_events (tenant_id, type, id desc)`);
  await db.query(`create index bench_plain_events_subject_ix on bench_plain_events (tenant_id, subject, id desc)`);

  const tenant = 'bench-audit';
  const audit = await runWriters('audit', db.url, tenant);
  log('audit: verifying the hash chains');
  const handle = await openDatabase({ url: db.url, dataDir: '/nonexistent', poolSize: 2, connectTimeoutMs: 10_000, statementTimeoutMs: 120_000 });
  const t0 = performance.now();
  const report = await new AuditRepository(handle.db).verify(tenant).finally(() => handle.close());
  const verifyMs = performance.now() - t0;
  log(`audit: verify ok=${String(report.ok)} segments=${report.segments} events=${report.events} in ${ms(verifyMs)} ms`);
  const plain = await runWriters('plain', db.url, tenant);
  const expected = audit.summary.ok + 20; // + the 10 warm-up events of each writer
  rows.push({
    section,
    name: 'plain single-row INSERTs, no hashing (baseline)',
    value: rate(plain.summary),
    latency: latency(plain.summary),
    cpu: plain.cpu,
    perSecond: plain.summary.perSecond,
    writes: plain.writesPerOp,
  });
  rows.push({
    section,
    name: 'AuditLog.record(), hash-chained, group commit',
    value: rate(audit.summary),
    latency: latency(audit.summary),
    baseline: `${(audit.summary.perSecond / plain.summary.perSecond).toFixed(1)}× plain INSERTs`,
    target: '≥ 12,000/s, chain ok',
    met: audit.summary.perSecond >= 12_000 && report.ok && audit.summary.errors === 0 && report.events === expected,
    cpu: audit.cpu,
    perSecond: audit.summary.perSecond,
    writes: audit.writesPerOp,
  });
  rows.push({
    section,
    name: 'AuditRepository.verify() afterwards',
    value: report.ok ? 'ok' : `FAILED: ${report.problems.length} problems`,
    baseline: `${int(report.events)} events (expected ${int(expected)}), ${report.segments} segments, ${ms(verifyMs / 1000)} s`,
    met: report.ok && report.events === expected,
  });
  notes.push(`4. Writers: ${audit.each.map((e) => `${int(e.perSecond)}/s`).join(' + ')} (audit); ${plain.each.map((e) => `${int(e.perSecond)}/s`).join(' + ')} (plain).`);
}

// ---------------------------------------------------------------------------------------------------
/**
 * One per virtual client: a user and the long-lived cookies of their browser (the device cookie), so
 * that repeated sign-ins look like a returning user on a known device rather than a new one each time.
 */
interface VirtualUser {
  readonly user: User;
  readonly device: CookieJar;
}

function who(users: readonly VirtualUser[], i: number): VirtualUser {
  return users[i % users.length]!;
}

/** The Portcullis nodes under test: one by default, BENCH_SERVERS behind one PUBLIC_URL (as behind a load balancer). */
interface Nodes {
  readonly publicUrl: string;
  readonly pids: readonly number[];
  /** The connection pool of virtual client `i` (clients are spread round-robin over the nodes). */
  http(i: number): HttpClient;
  /** RSS of the largest node. */
  memory(): Memory;
  closeClients(): void;
  stop(): Promise<void>;
}

async function startNodes(databaseUrl: string): Promise<Nodes> {
  const ports = await Promise.all(Array.from({ length: SERVERS }, () => freePort()));
  const publicUrl = `http://127.0.0.1:${ports[0] ?? 0}`;
  const started: PortcullisProcess[] = [];
  try {
    // One after the other: the first runs the migrations.
    for (const port of ports) {
      const node = await startPortcullis(
        {
          databaseUrl,
          publicUrl,
          masterKey: MASTER_KEY,
          adminToken: ADMIN_TOKEN,
          env: { UV_THREADPOOL_SIZE: THREADPOOL, ...SERVER_ENV },
          ...(CPU_PROFILE_DIR ? { cpuProfileDir: CPU_PROFILE_DIR } : {}),
        },
        port,
      );
      started.push(node);
      log(`Portcullis pid ${node.pid} at ${node.url}${Object.keys(SERVER_ENV).length > 0 ? ` with ${JSON.stringify(SERVER_ENV)}` : ''}`);
    }
  } catch (error) {
    await Promise.all(started.map((n) => n.stop()));
    throw error;
  }
  const perNode = Math.ceil(CONCURRENCY / SERVERS);
  const clients = started.map((n) => new HttpClient(n.url, perNode, publicUrl));
  return {
    publicUrl,
    pids: started.map((n) => n.pid),
    http: (i) => clients[i % clients.length]!,
    memory: () =>
      started
        .map((n) => memoryOf(n.pid))
        .reduce((a, b) => (b.rssKb > a.rssKb ? b : a)),
    closeClients: () => clients.forEach((c) => c.close()),
    stop: async () => {
      clients.forEach((c) => c.close());
      await Promise.all(started.map((n) => n.stop()));
    },
  };
}

async function setUp(http: HttpClient): Promise<{ m2m: Credentials; web: Credentials; users: VirtualUser[] }> {
  const admin = new Admin(http, ADMIN_TOKEN);
  await admin.post('/tenants', { id: TENANT, displayName: 'Bench' });
  await admin.post(`/tenants/${TENANT}/resource-servers`, { identifier: API_IDENTIFIER, name: 'Bench API', scopes: ['read', 'write'] });
  const m2m = await admin.createClient(TENANT, {
    client_id: 'bench-m2m',
    client_name: 'Bench M2M',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const web = await admin.createClient(TENANT, {
    client_id: 'bench-web',
    client_name: 'Bench Web',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const users: VirtualUser[] = [];
  for (let i = 0; i < CONCURRENCY; i += 4) {
    const batch = await Promise.all([0, 1, 2, 3].filter((k) => i + k < CONCURRENCY).map((k) => admin.createUser(TENANT, `bench-user-${i + k}`)));
    users.push(...batch.map((user) => ({ user, device: new CookieJar() })));
  }
  return { m2m, web, users };
}

async function main(): Promise<void> {
  const started = performance.now();
  log(`node ${process.version} (children: ${NODE_BIN}), ${cpus().length} cores, concurrency ${CONCURRENCY}`);
  const db = await createBenchDatabase();
  benchDb = db;
  log(`database ${db.name}`);
  // Interrupted (Ctrl-C, SIGTERM): stop the children and drop the database before leaving.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping children and dropping ${db.name}`);
      void stopAllChildren()
        .then(() => db.drop())
        .finally(() => process.exit(130));
    });
  }
  let nodes: Nodes | undefined;
  try {
    if (CPU_PROFILE_DIR) mkdirSync(CPU_PROFILE_DIR, { recursive: true });
    nodes = await startNodes(db.url);
    const { m2m, web, users } = await setUp(nodes.http(0));
    const trail: MemoryPoint[] = [{ label: 'idle, after setup', memory: nodes.memory() }];
    if (ONLY.has('cc')) {
      await clientCredentials(nodes, m2m);
      trail.push({ label: 'after section 1 (client credentials)', memory: nodes.memory() });
    }
    if (ONLY.has('refresh')) {
      await refreshTokens(nodes, web, users);
      trail.push({ label: 'after section 2 (refresh)', memory: nodes.memory() });
    }
    if (ONLY.has('signin')) {
      await signIns(nodes, web, users);
      trail.push({ label: 'after section 3 (sign-ins)', memory: nodes.memory() });
    }
    if (ONLY.has('memory')) await memory(nodes, db, web, users, trail);
    nodes.closeClients();
    if (ONLY.has('audit')) await auditAppends(db);

    const order = ['1.', '2.', '3.', '4.', '5.'];
    rows.sort((a, b) => order.findIndex((p) => a.section.startsWith(p)) - order.findIndex((p) => b.section.startsWith(p)));
    const out = [
      '',
      `Portcullis benchmark — node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load generator concurrency ${CONCURRENCY}, ` +
        `${SERVERS} server process(es), UV_THREADPOOL_SIZE=${THREADPOOL}${Object.keys(SERVER_ENV).length > 0 ? ` + ${JSON.stringify(SERVER_ENV)}` : ''}, ` +
        `${ms((performance.now() - started) / 1000)} s in all`,
      renderTable(rows),
      '',
      'cores srv / pg / bench / other: average cores busy during the measured run in the measured process (Portcullis, express,',
      'the argon2 or audit workers; none for jose), in all PostgreSQL processes, in this load generator, and in everything else',
      `on the machine (${cpus().length} cores in all, shared: "other" above ~0.1 means someone else's work disturbed that figure).`,
      'srv CPU ms/op: CPU time of the measured process (all its threads) per operation; far less disturbed by other load than the rate.',
      'pg writes/op: PostgreSQL transactions that wrote (each waits for a WAL flush at commit) per operation, from the xid counter.',
      "Keycloak's figures count Keycloak's CPUs only; here the server, PostgreSQL and the load generator share the machine.",
      // Numbered notes in section order (memory runs before audit); unnumbered ones (failures) after them.
      ...notes.map((n, i) => ({ n, i })).sort((a, b) => rank(a.n) - rank(b.n) || a.i - b.i).map((x) => x.n),
      '',
    ];
    process.stdout.write(out.join('\n') + '\n');
    const missed = rows.filter((r) => r.met === false).length;
    if (missed > 0) process.stdout.write(`${missed} figure(s) missed their target.\n`);
  } finally {
    await nodes?.stop();
    await db.drop();
    log('stopped the server and dropped the database');
  }
}

await main();
