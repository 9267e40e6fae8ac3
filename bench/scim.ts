/**
 * `node bench/scim.ts`: SCIM 2.0 figures with baselines from the same run.
 *  1. users created per second over SCIM (POST /Users), against plain single-row INSERTs into `users`;
 *  2. `filter=userName eq "…"` latency (p50/p99) with 100,000 users in the tenant, against the plain
 *     indexed SELECT it compiles to;
 *  3. a full paged listing of those 100,000 users (count=1000): time and the server's peak memory, against
 *     a plain keyset-paged SELECT of the same rows.
 * Creates its own database (pc_bench_<random>), starts the server as production does (node src/main.ts),
 * loads 127.0.0.1 only, every loop is bounded, and it stops its child and drops the database at the end.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { v7 } from 'uuid';
import { createBenchDatabase } from './lib/database.ts';
import { HttpClient } from './lib/http.ts';
import { runLoad, summarize, type Summary } from './lib/load.ts';
import { memoryOf, startPortcullis, type PortcullisProcess } from './lib/processes.ts';
import { int, latency, ms, rate, renderTable, type Row } from './lib/report.ts';

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new TypeError(`${name} must be a positive number`);
  return n;
};
const CREATES = num('BENCH_SCIM_CREATES', 2_000);
const CONCURRENCY = num('BENCH_SCIM_CONCURRENCY', 16);
const USERS = num('BENCH_SCIM_USERS', 100_000);
const LOOKUPS = num('BENCH_SCIM_LOOKUPS', 2_000);
const PAGE = 1_000;
const TENANT = 'bench';
const ADMIN_TOKEN = `bench-admin-${randomBytes(16).toString('hex')}`;

const log = (message: string): void => {
  process.stderr.write(`[scim bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

function scimUser(userName: string): string {
  return JSON.stringify({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    userName,
    externalId: userName,
    name: { givenName: 'Bench', familyName: userName },
    emails: [{ value: `${userName}@bench.test`, type: 'work', primary: true }],
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Load', employeeNumber: userName },
  });
}

async function expectOk(res: { status: number; body: string }, status: number, what: string): Promise<void> {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${res.body.slice(0, 300)}`);
  await Promise.resolve();
}

/** Inserts users seed-0, seed-1, … straight into the table, 10,000 per statement, until the tenant holds `total`. */
async function seed(pool: pg.Pool, from: number, total: number): Promise<void> {
  for (let start = from; start < total; start += 10_000) {
    const n = Math.min(10_000, total - start);
    const ids = Array.from({ length: n }, () => v7());
    const names = Array.from({ length: n }, (_, i) => `seed-${start - from + i}`);
    await pool.query(
      `insert into users (tenant_id, id, username, email, given_name, family_name, source, external_id, scim)
       select $1, id, name, name || '@bench.test', 'Seed', name, 'scim', name,
              jsonb_build_object('emails', jsonb_build_array(jsonb_build_object('value', name || '@bench.test', 'type', 'work', 'primary', true)))
         from unnest($2::uuid[], $3::text[]) as t(id, name)`,
      [TENANT, ids, names],
    );
  }
}

export async function runScimBench(): Promise<void> {
  const database = await createBenchDatabase();
  let server: PortcullisProcess | undefined;
  const pool = new pg.Pool({ connectionString: database.url, max: CONCURRENCY });
  const rows: Row[] = [];
  try {
    server = await startPortcullis({ databaseUrl: database.url, masterKey: randomBytes(32).toString('base64'), adminToken: ADMIN_TOKEN, env: { DATABASE_POOL_SIZE: '20' } });
    const http = new HttpClient(server.url, CONCURRENCY);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    await expectOk(await http.request('POST', '/admin/api/tenants', { headers: admin, body: JSON.stringify({ id: TENANT, displayName: 'Bench' }) }), 201, 'tenant');
    const tokenRes = await http.request('POST', `/admin/api/tenants/${TENANT}/scim-tokens`, { headers: admin, body: JSON.stringify({ description: 'bench' }) });
    await expectOk(tokenRes, 201, 'scim token');
    const scim = { authorization: `Bearer ${(JSON.parse(tokenRes.body) as { token: string }).token}`, 'content-type': 'application/scim+json' };
    const base = `/t/${TENANT}/scim/v2`;

    // 1. Creation rate.
    log(`creating ${CREATES} users over SCIM, ${CONCURRENCY} at a time`);
    let made = 0;
    const created = summarize(
      await runLoad({ concurrency: CONCURRENCY, count: CREATES }, async () => {
        const res = await http.request('POST', `${base}/Users`, { headers: scim, body: scimUser(`scim-${made++}`) });
        await expectOk(res, 201, 'POST /Users');
      }),
    );
    let plain = 0;
    const inserts = summarize(
      await runLoad({ concurrency: CONCURRENCY, count: CREATES }, async () => {
        const name = `plain-${plain++}`;
        await pool.query('insert into users (tenant_id, id, username, email, given_name, family_name) values ($1, $2, $3, $4, $5, $6)', [TENANT, v7(), name, `${name}@bench.test`, 'Bench', name]);
      }),
    );
    rows.push(
      { section: 'SCIM writes', name: 'users created over SCIM (POST /Users)', value: rate(created), latency: latency(created), baseline: `plain INSERT: ${rate(inserts)}` },
    );

    // 2. Filter latency with USERS users in the tenant.
    const { rows: [have] } = await pool.query<{ n: string }>('select count(*)::text as n from users where tenant_id = $1', [TENANT]);
    log(`seeding to ${USERS} users`);
    await seed(pool, Number(have?.n ?? 0), USERS);
    await pool.query('analyze users');
    const lookup = (i: number): string => `seed-${(i * 7919) % (USERS - 2 * CREATES)}`;
    let q = 0;
    const filtered = summarize(
      await runLoad({ concurrency: 1, count: LOOKUPS }, async () => {
        const name = lookup(q++);
        const res = await http.get(`${base}/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`, scim);
        await expectOk(res, 200, 'filter');
        if (!res.body.includes(`"totalResults":1`)) throw new Error(`filter found no ${name}`);
      }),
    );
    let s = 0;
    const selects = summarize(
      await runLoad({ concurrency: 1, count: LOOKUPS }, async () => {
        await pool.query('select * from users where tenant_id = $1 and lower(username) = lower($2)', [TENANT, lookup(s++)]);
      }),
    );
    rows.push({ section: `SCIM reads (${int(USERS)} users)`, name: 'filter=userName eq "…" (one client)', value: rate(filtered), latency: latency(filtered), baseline: `plain SELECT: ${latency(selects)} ms` });

    // 3. Full paged listing.
    const before = memoryOf(server.pid);
    log(`listing all users in pages of ${PAGE}`);
    const t0 = performance.now();
    let listed = 0;
    let total = Infinity;
    for (let start = 1; start <= total && start <= USERS + PAGE; start += PAGE) {
      const res = await http.get(`${base}/Users?startIndex=${start}&count=${PAGE}`, scim);
      await expectOk(res, 200, 'page');
      const page = JSON.parse(res.body) as { totalResults: number; itemsPerPage: number };
      total = page.totalResults;
      listed += page.itemsPerPage;
    }
    const listMs = performance.now() - t0;
    const after = memoryOf(server.pid);
    const t1 = performance.now();
    let keyset = '00000000-0000-0000-0000-000000000000';
    let plainRows = 0;
    for (let i = 0; i <= USERS / PAGE + 1; i++) {
      const page = await pool.query<{ id: string }>('select * from users where tenant_id = $1 and id > $2 order by id limit $3', [TENANT, keyset, PAGE]);
      plainRows += page.rows.length;
      const last = page.rows.at(-1);
      if (!last) break;
      keyset = last.id;
    }
    const plainMs = performance.now() - t1;
    if (listed !== total) throw new Error(`listed ${listed} of ${total}`);
    rows.push({
      section: `SCIM reads (${int(USERS)} users)`,
      name: `full paged listing (count=${PAGE})`,
      value: `${int(listed)} users in ${ms(listMs / 1000)} s`,
      latency: `${ms(listMs / Math.ceil(listed / PAGE))} ms/page`,
      baseline: `plain keyset SELECT: ${int(plainRows)} rows in ${ms(plainMs / 1000)} s`,
    });
    rows.push({
      section: `SCIM reads (${int(USERS)} users)`,
      name: 'server memory during the listing',
      value: `RSS ${int(before.rssKb / 1024)} → ${int(after.rssKb / 1024)} MiB, peak ${int(after.peakKb / 1024)} MiB`,
      baseline: `peak before listing: ${int(before.peakKb / 1024)} MiB`,
    });
    process.stdout.write(`${renderTable(rows)}\n`);
    process.stdout.write(`creation: ${describe(created)}; filter: ${describe(filtered)}\n`);
  } finally {
    await pool.end();
    await server?.stop();
    await database.drop();
  }
}

function describe(s: Summary): string {
  return `${int(s.ok)} ok, ${s.errors} errors, p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms`;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  runScimBench().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
