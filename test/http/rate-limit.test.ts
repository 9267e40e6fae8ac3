/**
 * Rate-limit counters are shared by every node: two limiters (as two processes would have) over the same
 * PostgreSQL table or the same Redis count together, and the limit answers TooManyRequests with the seconds
 * left in the window.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresCounterStore, RateLimiter, RedisCounterStore, purgeCounters, type CounterStore } from '../../src/http/rate-limit.ts';
import { TooManyRequests } from '../../src/lib/errors.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';

let database: MigratedDatabase;
let redisA: Redis;
let redisB: Redis;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

beforeAll(async () => {
  database = await createMigratedDatabase();
  await insertTenant(database.db, 'acme');
  redisA = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redisB = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redisA?.disconnect();
  redisB?.disconnect();
  await database?.close();
});

/** A clock fixed 20 s into one one-minute window for the whole file (no window ends mid-test). */
const NOW = Math.floor(Date.now() / 60_000) * 60_000 + 20_000;
const fixedNow = (): number => NOW;

async function stores(kind: 'postgres' | 'redis'): Promise<[CounterStore, CounterStore]> {
  if (kind === 'redis') return [new RedisCounterStore(redisA), new RedisCounterStore(redisB)];
  const other = await database.open(2);
  return [new PostgresCounterStore(database.db), new PostgresCounterStore(other.db)];
}

describe.each(['postgres', 'redis'] as const)('rate limits on %s', (kind) => {
  it('count hits from two nodes together and refuse past the limit with Retry-After', async () => {
    const [a, b] = await stores(kind);
    const nodeA = new RateLimiter(a, fixedNow);
    const nodeB = new RateLimiter(b, fixedNow);
    const bucket = `client:${randomBytes(4).toString('hex')}`;
    const limit = { limit: 5, windowSeconds: 60 };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? nodeA : nodeB).hit('acme', bucket, limit)),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      const reason = (r).reason as unknown;
      expect(reason).toBeInstanceOf(TooManyRequests);
      expect((reason as TooManyRequests).retryAfterSeconds).toBe(40);
    }
  });

  it('keeps buckets and tenants apart', async () => {
    const [a] = await stores(kind);
    const limiter = new RateLimiter(a, fixedNow);
    const bucket = `login-ip:${randomBytes(4).toString('hex')}`;
    await limiter.hit('acme', bucket, { limit: 1, windowSeconds: 60 });
    await expect(limiter.hit('acme', bucket, { limit: 1, windowSeconds: 60 })).rejects.toBeInstanceOf(TooManyRequests);
    await expect(limiter.hit('acme', `${bucket}-other`, { limit: 1, windowSeconds: 60 })).resolves.toBeUndefined();
    await expect(limiter.hit('globex', bucket, { limit: 1, windowSeconds: 60 })).resolves.toBeUndefined();
  });

  it('starts a new window when the old one ends', async () => {
    const [a] = await stores(kind);
    let now = fixedNow();
    const limiter = new RateLimiter(a, () => now);
    const bucket = `client:${randomBytes(4).toString('hex')}`;
    await limiter.hit('acme', bucket, { limit: 1, windowSeconds: 60 });
    await expect(limiter.hit('acme', bucket, { limit: 1, windowSeconds: 60 })).rejects.toBeInstanceOf(TooManyRequests);
    now += 60_000;
    await expect(limiter.hit('acme', bucket, { limit: 1, windowSeconds: 60 })).resolves.toBeUndefined();
  });
});

describe.each(['postgres', 'redis'] as const)('large limits on %s, counted per node and flushed', (kind) => {
  it('accept exactly the limit on one node and add every accepted hit to the shared counter', async () => {
    const [a] = await stores(kind);
    const limiter = new RateLimiter(a, fixedNow);
    const bucket = `client:${randomBytes(4).toString('hex')}`;
    const limit = { limit: 1000, windowSeconds: 60 };
    let accepted = 0;
    for (let i = 0; i < 1200; i++) {
      try {
        await limiter.hit('acme', bucket, limit);
        accepted += 1;
      } catch (error) {
        expect(error).toBeInstanceOf(TooManyRequests);
      }
    }
    expect(accepted).toBe(1000);
    await limiter.flushAll();
    const windowStart = new Date(Math.floor(fixedNow() / 60_000) * 60_000);
    expect(await a.increment('acme', bucket, windowStart, 60, 0)).toBe(1000);
  });

  it('let a node learn what the others counted at its first hit of a window', async () => {
    const [a, b] = await stores(kind);
    const nodeA = new RateLimiter(a, fixedNow);
    const nodeB = new RateLimiter(b, fixedNow);
    const bucket = `client:${randomBytes(4).toString('hex')}`;
    const limit = { limit: 1000, windowSeconds: 60 };
    for (let i = 0; i < 600; i++) await nodeA.hit('acme', bucket, limit);
    await nodeA.flushAll();
    let acceptedByB = 0;
    for (let i = 0; i < 600; i++) {
      try {
        await nodeB.hit('acme', bucket, limit);
        acceptedByB += 1;
      } catch {
        break;
      }
    }
    expect(acceptedByB).toBe(400);
  });
});

describe('postgres counter clean-up', () => {
  it('removes old windows only', async () => {
    const store = new PostgresCounterStore(database.db);
    await store.increment('acme', 'old', new Date(Date.now() - 3_600_000));
    await store.increment('acme', 'new', new Date());
    await purgeCounters(database.db, new Date(Date.now() - 600_000));
    const rows = await database.db.selectFrom('rate_limit_counters').select('bucket').where('bucket', 'in', ['old', 'new']).execute();
    expect(rows.map((r) => r.bucket)).toEqual(['new']);
  });
});

describe('a window sends one statement at a time', () => {
  it('accepts exactly the limit when a flush is still under way as the hits near the limit', async () => {
    // Hits 2 to 900 are counted locally at once; from there on each goes to the store, and the 100 ms flush
    // timer of the local ones fires among them. The PostgreSQL store, each statement held back a few
    // milliseconds more (as on a busy database), with the overlap of the window's statements recorded:
    // a total that came back while a flush's hits were still counted as in flight used to count them twice
    // and refuse hits below the limit.
    const postgres = new PostgresCounterStore(database.db);
    const bucket = `client:slow-store-${randomBytes(4).toString('hex')}`;
    let running = 0;
    let maxRunning = 0;
    const store: CounterStore = {
      async increment(tenant, counted, start, seconds, by) {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        try {
          await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 4));
          return await postgres.increment(tenant, counted, start, seconds, by);
        } finally {
          running -= 1;
        }
      },
    };
    const limiter = new RateLimiter(store, fixedNow);
    const limit = { limit: 1000, windowSeconds: 60 };
    let accepted = 0;
    for (let i = 0; i < 1200; i++) {
      try {
        await limiter.hit('acme', bucket, limit);
        accepted += 1;
      } catch (error) {
        expect(error).toBeInstanceOf(TooManyRequests);
      }
    }
    await limiter.flushAll();
    expect(accepted).toBe(1000);
    const [row] = await database.db.selectFrom('rate_limit_counters').select('hits').where('tenant_id', '=', 'acme').where('bucket', '=', bucket).execute();
    expect(Number(row?.hits)).toBe(1000);
    expect(maxRunning).toBe(1);
  });
});

