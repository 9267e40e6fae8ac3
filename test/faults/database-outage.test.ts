/**
 * A running server whose database goes away: through a TCP proxy that the test cuts and restores (a network
 * partition or a stopped database), through pg_terminate_backend (a PostgreSQL restart as the app sees it),
 * and through pool exhaustion. The server must answer 503 at once instead of hanging, keep /healthz alive,
 * and serve again when the database is back, without a restart. Acknowledged writes stay written.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_URL, createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, createUser, type CreatedClient } from '../helpers/fixtures.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../helpers/server.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const TENANT = 'acme';
/** No request may take longer than this; a request that does is hanging, and the test fails. */
const GUARD_MS = 15_000;

let db: TestDatabase;
let proxy: TcpProxy;
let server: TestServer;
let client: CreatedClient;

beforeAll(async () => {
  db = await createTestDatabase();
  const target = new URL(ADMIN_URL);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  server = await startTestServer({ databaseUrl: proxy.via(db.url) });
  await createTenant(server, TENANT);
  client = await createClient(server, TENANT, { client_name: 'Batch job', grant_types: ['client_credentials'] });
});

afterAll(async () => {
  await server?.stop();
  await proxy?.close();
  await db?.drop();
});

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly retryAfter: string | null;
}

async function answer(response: Promise<Response>): Promise<Answer> {
  const res = await response;
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
}

function get(target: TestServer, path: string): Promise<Answer> {
  return answer(fetch(`${target.url}${path}`, { signal: AbortSignal.timeout(GUARD_MS) }));
}

function adminGet(target: TestServer, path: string): Promise<Answer> {
  return answer(
    fetch(`${target.url}/admin/api${path}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: AbortSignal.timeout(GUARD_MS),
    }),
  );
}

function discovery(target: TestServer): Promise<Answer> {
  return get(target, `/t/${TENANT}/.well-known/openid-configuration`);
}

function clientCredentials(target: TestServer): Promise<Answer> {
  const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret ?? '')}`).toString('base64');
  return answer(
    fetch(`${target.url}/t/${TENANT}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
      signal: AbortSignal.timeout(GUARD_MS),
    }),
  );
}

/** Polls /readyz until it answers 200; fails after a bounded number of attempts. */
async function untilReady(target: TestServer): Promise<void> {
  let last: Answer | undefined;
  for (let attempt = 0; attempt < 100; attempt++) {
    last = await get(target, '/readyz');
    if (last.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server never became ready again: ${JSON.stringify(last)}`);
}

/** The three surfaces that need the database: admin API, oidc-provider discovery, token endpoint. */
async function expectServing(target: TestServer): Promise<void> {
  expect((await adminGet(target, `/tenants/${TENANT}`)).status).toBe(200);
  const meta = await discovery(target);
  expect(meta.status).toBe(200);
  expect(meta.body).toMatchObject({ issuer: target.issuer(TENANT) });
  const token = await clientCredentials(target);
  expect(token.status).toBe(200);
  expect(token.body).toMatchObject({ token_type: 'Bearer' });
}

async function withDirectConnection<T>(url: string, use: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await use(c);
  } finally {
    await c.end();
  }
}

const unavailable = { status: 503, retryAfter: '5', body: { error: 'temporarily_unavailable' } };

describe('database outage', () => {
  it('answers 503 at once while the database is unreachable and recovers without a restart', async () => {
    await expectServing(server);

    proxy.cut();
    try {
      // The admin API meets the outage first (its query fails), which marks the database down for the rest.
      expect(await adminGet(server, `/tenants/${TENANT}`)).toMatchObject(unavailable);
      expect(await adminGet(server, `/tenants/${TENANT}/users`)).toMatchObject(unavailable);
      expect(await clientCredentials(server)).toMatchObject(unavailable);
      expect(await discovery(server)).toMatchObject(unavailable);
      expect(await get(server, '/readyz')).toMatchObject({ status: 503, body: { ready: false, database: false } });
      expect(await get(server, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    } finally {
      proxy.restore();
    }

    await untilReady(server);
    expect(await get(server, '/readyz')).toMatchObject({ status: 200, body: { ready: true, database: true, migrations: true } });
    await expectServing(server);
  });

  it('answers 503 on the token endpoint when it is the first to meet the outage', async () => {
    await expectServing(server);
    proxy.cut();
    try {
      expect(await clientCredentials(server)).toMatchObject(unavailable);
      expect(await get(server, '/healthz')).toMatchObject({ status: 200 });
    } finally {
      proxy.restore();
    }
    await untilReady(server);
    await expectServing(server);
  });

  it('answers 503 from an oidc-provider route that meets the outage in its storage adapter', async () => {
    const userinfo = (): Promise<Answer> =>
      answer(fetch(`${server.url}/t/${TENANT}/me`, { headers: { authorization: 'Bearer not-a-real-token' }, signal: AbortSignal.timeout(GUARD_MS) }));
    expect(await userinfo()).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    proxy.cut();
    try {
      // The access-token lookup fails inside oidc-provider: its 500 is turned into a 503.
      expect(await userinfo()).toMatchObject(unavailable);
    } finally {
      proxy.restore();
    }
    await untilReady(server);
    expect(await userinfo()).toMatchObject({ status: 401 });
  });

  it('recovers when PostgreSQL terminates every backend of the server (a restart as the app sees it)', async () => {
    // Several pooled connections, all of which PostgreSQL is about to end.
    await Promise.all(Array.from({ length: 6 }, () => adminGet(server, `/tenants/${TENANT}/users`)));
    await expectServing(server);
    const killed = await withDirectConnection(ADMIN_URL, async (admin) => {
      const r = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [db.name]);
      const pids = r.rows.map((row) => row.pid);
      await admin.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids]);
      // Wait (bounded) until those backends are gone, as after a restart.
      for (let attempt = 0; attempt < 100; attempt++) {
        const left = await admin.query('select 1 from pg_stat_activity where pid = any($1::int[])', [pids]);
        if (left.rowCount === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return pids;
    });
    expect(killed.length).toBeGreaterThan(0);

    // The pool drops the dead connections and opens new ones. (A health probe that happened to run at the
    // moment of the kill may have marked the database down; /readyz probes again, so wait for it first.)
    await untilReady(server);
    await expectServing(server);
    expect(await adminGet(server, `/tenants/${TENANT}/users`)).toMatchObject({ status: 200 });
  });

  it('keeps an acknowledged write across the outage, with its audit event', async () => {
    const user = await createUser(server, TENANT, 'grace');

    proxy.cut();
    try {
      expect(await adminGet(server, `/tenants/${TENANT}/users/${user.id}`)).toMatchObject(unavailable);
      // Committed before the 201 went out: PostgreSQL has both the row and its event right now.
      await withDirectConnection(db.url, async (direct) => {
        const users = await direct.query('select username from users where tenant_id = $1 and id = $2', [TENANT, user.id]);
        expect(users.rows).toEqual([{ username: 'grace' }]);
        const events = await direct.query('select type from audit_events where tenant_id = $1 and subject = $2', [TENANT, `user:${user.id}`]);
        expect(events.rows).toEqual([{ type: 'user.created' }]);
      });
    } finally {
      proxy.restore();
    }

    await untilReady(server);
    expect(await adminGet(server, `/tenants/${TENANT}/users/${user.id}`)).toMatchObject({ status: 200, body: { id: user.id, username: 'grace' } });
    const audit = await adminGet(server, `/tenants/${TENANT}/audit-events?type=user.created&subject=user:${user.id}`);
    expect(audit.status).toBe(200);
    expect(audit.body).toMatchObject({ items: [{ type: 'user.created', subject: `user:${user.id}` }] });
    expect(await server.container.auditEvents.verify(TENANT)).toMatchObject({ ok: true, problems: [] });
  });
});

describe('a backend terminated in the middle of a request', () => {
  /**
   * Holds an exclusive lock on `table`, starts `request`, waits (bounded) until one of the server's backends
   * waits for that lock, terminates that backend, then releases the lock and returns the answer.
   */
  async function terminateWhileBlocked(table: string, request: () => Promise<Answer>): Promise<Answer> {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query(`lock table ${table} in access exclusive mode`);
      const pending = request();
      let settled: Answer | undefined;
      void pending.then((a) => (settled = a));
      // Up to the request guard: on a machine busy with the rest of the suite the request may take seconds to
      // reach the lock. A request that answers without ever waiting on it fails the test with its answer.
      let pid: number | undefined;
      const until = Date.now() + GUARD_MS;
      while (pid === undefined && settled === undefined && Date.now() < until) {
        const waiting = await holder.query<{ pid: number }>(
          "select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()",
        );
        pid = waiting.rows[0]?.pid;
        if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(settled, 'the request answered before it waited on the lock').toBeUndefined();
      expect(pid).toBeDefined();
      await holder.query('select pg_terminate_backend($1)', [pid]);
      return await pending;
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
  }

  it('answers 503 for an admin change whose transaction lost its backend, and nothing of it is stored', async () => {
    const username = 'hopper';
    const created = await terminateWhileBlocked('users', () =>
      answer(
        fetch(`${server.url}/admin/api/tenants/${TENANT}/users`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ username, password: 'pw-hopper-Secret!42', email: 'hopper@example.com' }),
          signal: AbortSignal.timeout(GUARD_MS),
        }),
      ),
    );
    expect(created).toMatchObject(unavailable);

    await untilReady(server);
    await expectServing(server);
    expect(await adminGet(server, `/tenants/${TENANT}/users?q=${username}`)).toMatchObject({ status: 200, body: { items: [] } });
    const events = await withDirectConnection(db.url, (direct) =>
      direct.query("select 1 from audit_events where tenant_id = $1 and type = 'user.created' and details->>'username' = $2", [TENANT, username]),
    );
    expect(events.rowCount).toBe(0);
  });

  it('answers 503, not 500, for a token whose audit event could not be written', async () => {
    const issued = await terminateWhileBlocked('audit_events', () => clientCredentials(server));
    // The token must not leave without its committed event, and the outage is temporary (RFC 6749 §5.2).
    expect(issued).toMatchObject(unavailable);

    await untilReady(server);
    await expectServing(server);
    expect(await server.container.auditEvents.verify(TENANT)).toMatchObject({ ok: true, problems: [] });
  });
});

describe('connection exhaustion', () => {
  it('answers every request of a burst with 200 or 503 when the pool is exhausted, then serves normally', async () => {
    // A second node on the same database, with two connections and a short wait for one.
    const small = await startTestServer({
      databaseUrl: db.url,
      // A per-client limit small enough to be counted exactly: every token request then writes the shared
      // counter row (larger limits are counted per node and flushed, src/http/rate-limit.ts).
      env: { DATABASE_POOL_SIZE: '2', DATABASE_CONNECT_TIMEOUT_MS: '300', RATE_LIMIT_CLIENT_PER_MINUTE: '100' },
    });
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await expectServing(small);
      // Hold the tables the admin API and the token endpoint need: the first two requests to get a connection
      // keep it (blocked on the lock), so every other request finds the pool exhausted.
      await blocker.query('begin');
      await blocker.query('lock table tenants, rate_limit_counters in access exclusive mode');

      const done: Answer[] = [];
      const burst = Array.from({ length: 60 }, (_, i) =>
        (i % 2 === 0 ? clientCredentials(small) : adminGet(small, `/tenants/${TENANT}/users?limit=5`)).then((a) => {
          done.push(a);
          return a;
        }),
      );
      for (let attempt = 0; attempt < 200 && done.length < 58; attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(done).toHaveLength(58);
      for (const a of done) expect(a).toMatchObject(unavailable);

      await blocker.query('commit');
      // The two requests that held a connection finish normally once the lock is gone.
      const all = await Promise.all(burst);
      expect(all.filter((a) => a.status === 200)).toHaveLength(2);
      expect(all.filter((a) => a.status === 503)).toHaveLength(58);

      await untilReady(small);
      await expectServing(small);
    } finally {
      await blocker.end();
      await small.stop();
    }
  });
});
