/**
 * One audit writer, as one Portcullis node would be: its own process, its own pool, many concurrent
 * callers. BENCH_MODE=audit appends through AuditLog.record() (hash chain, group commit);
 * BENCH_MODE=plain is the baseline: one autocommitted single-row INSERT per event into bench_plain_events,
 * no hashing. Env: DATABASE_URL, BENCH_TENANT, BENCH_CONCURRENCY, BENCH_DURATION_MS, BENCH_POOL_SIZE.
 */
import { sql } from 'kysely';
import { AuditLog } from '../src/audit/audit-log.ts';
import type { AuditEventInput } from '../src/audit/events.ts';
import { openDatabase } from '../src/db/client.ts';
import { systemClock } from '../src/lib/clock.ts';
import { newId } from '../src/lib/ids.ts';
import { runLoad, summarize } from './lib/load.ts';
import { workerChannel } from './lib/processes.ts';

const channel = workerChannel();
try {
  const mode = process.env.BENCH_MODE === 'plain' ? 'plain' : 'audit';
  const tenant = process.env.BENCH_TENANT ?? 'bench-audit';
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
  const durationMs = Number(process.env.BENCH_DURATION_MS ?? 10_000);
  const database = await openDatabase({
    url: process.env.DATABASE_URL,
    dataDir: '/nonexistent',
    poolSize: Number(process.env.BENCH_POOL_SIZE ?? 10),
    connectTimeoutMs: 10_000,
  });
  const db = database.db;
  // What a token endpoint records per issued token (provider-factory.ts, grant.success).
  const event = (i: number): AuditEventInput => ({
    type: 'token.issued',
    actor: 'client:bench-m2m',
    subject: 'client:bench-m2m',
    ip: '127.0.0.1',
    details: { grantType: 'client_credentials', scope: 'read write', resource: 'https://api.bench.test', n: i },
  });
  let n = 0;
  let append: () => Promise<void>;
  let audit: AuditLog | undefined;
  if (mode === 'audit') {
    const log = new AuditLog(db, systemClock, { writer: `bench-${process.pid}` });
    audit = log;
    append = () => log.record(tenant, event(n++));
  } else {
    append = async () => {
      const e = event(n++);
      await sql`insert into bench_plain_events (tenant_id, id, type, at, actor, subject, ip, details)
        values (${tenant}, ${newId()}, ${e.type}, ${new Date()}, ${e.actor}, ${e.subject}, ${e.ip}, ${JSON.stringify(e.details)})`.execute(db);
    };
  }
  // Warm up: open pooled connections and (audit) create this writer's chain segment.
  await Promise.all(Array.from({ length: 10 }, () => append()));
  channel.ready();
  await channel.go;
  const r = summarize(await runLoad({ concurrency, durationMs }, () => append()));
  await audit?.close();
  // Report before closing the pool: the bench reads the CPU time of our PostgreSQL backends, which is
  // lost once they exit. The bench ends this process (SIGTERM) after reading it.
  channel.done(r);
  process.once('SIGTERM', () => {
    database.close().finally(() => process.exit(0));
  });
} catch (error) {
  channel.failed(error);
  process.disconnect?.();
}
